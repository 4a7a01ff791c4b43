//! `sessions`: check session/exchange models, replay failures, draw traces.
//!
//! Exit status: 0 when everything is as expected, 1 when a run found an unexpected violation
//! (or missed a finding it should reproduce, or a replay did not reproduce), 2 on bad usage or
//! bad input.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sessions_core::{Bug, Style, TraceLevel, TraceLog};
use sessions_models::driver::{self, run_shuttle, run_std, Backend, Outcome, Scheduler};
use sessions_models::failure::{self, FailureFile};
use sessions_models::{BuiltinModel, Model, Verdict, Violation};
use sessions_scenarios::render::{self, Format};
use sessions_scenarios::{gen, AnyModel, Scenario};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sessions",
    version,
    about = "Check HelenOS-style session/exchange models, replay failures, draw traces"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in models and a generated-scenario sweep; print a summary table.
    Check(CheckArgs),
    /// Re-run a failure file and print its violations and trace.
    Replay(ReplayArgs),
    /// Draw the trace of a failure file or a scenario file as a sequence diagram.
    Trace(TraceArgs),
    /// List the built-in models and what each is expected to show.
    List,
    /// Compare the multiplexed style with PARALLEL on the seed workload.
    Bench(sessions_scenarios::bench::BenchArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    /// Probabilistic concurrency testing (shuttle).
    Pct,
    /// Uniformly random schedules (shuttle).
    Random,
    /// Depth-first enumeration of schedules, at most --iterations of them (shuttle).
    Dfs,
    /// Real threads, --iterations runs (no control over the schedule).
    Std,
}

#[derive(Args)]
struct CheckArgs {
    /// Run only the built-in model with this name (repeatable; see `sessions list`).
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Run only models and generated scenarios of this exchange style.
    #[arg(long, value_parser = parse_style)]
    style: Option<Style>,
    /// The scheduler that explores each model.
    #[arg(long, value_enum, default_value_t = SchedulerArg::Pct)]
    scheduler: SchedulerArg,
    /// Executions per model (a bound for dfs).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    iterations: u64,
    /// Seed of the random and PCT schedulers and of the scenario sweep.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// PCT bug depth.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    depth: u64,
    /// Run this scenario file (repeatable) instead of the built-in models.
    #[arg(long = "scenario", value_name = "FILE")]
    scenarios: Vec<PathBuf>,
    /// Generated scenarios to sweep (0: none).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    sweep: u64,
    /// PCT executions per generated scenario.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    sweep_iterations: u64,
    /// Inject this bug into the model that exposes it, and expect its checker to report it
    /// (needs a build with `--features bugs`).
    #[arg(long, value_parser = parse_bug)]
    bug: Option<Bug>,
    /// Where failure files of unexpected violations go.
    #[arg(long, default_value = "failures")]
    failures: PathBuf,
    /// Also print, per model, how many executions took each framework path (clone, reclaim,
    /// wait for a phone, busy hangup...).
    #[arg(long)]
    coverage: bool,
}

#[derive(Args)]
struct ReplayArgs {
    /// The failure file.
    file: PathBuf,
    /// Print every event as it happens (never changes the schedule).
    #[arg(long)]
    log: bool,
    /// How to print the trace.
    #[arg(long, default_value = "text", value_parser = parse_format)]
    format: Format,
}

#[derive(Args)]
struct TraceArgs {
    /// A failure file, or a scenario file (run once under shuttle PCT to get a trace).
    file: PathBuf,
    /// text, mermaid, svg or html.
    #[arg(long, default_value = "text", value_parser = parse_format)]
    format: Format,
    /// Write the diagram here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// For a scenario: the PCT seed of the execution to draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn parse_style(s: &str) -> Result<Style, String> {
    s.parse()
}

fn parse_bug(s: &str) -> Result<Bug, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// How a command that ran ended: `failed` gives exit status 1. Errors that are the user's to
/// fix come back as `Err` instead, and give status 2.
struct Finish {
    failed: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Replay(args) => replay(args),
        Command::Trace(args) => trace(args),
        Command::List => list(),
        Command::Bench(args) => {
            sessions_scenarios::bench::run(&args).map(|_| Finish { failed: false })
        }
    };
    match result {
        Ok(Finish { failed: false }) => ExitCode::SUCCESS,
        Ok(Finish { failed: true }) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Row {
    model: String,
    style: String,
    backend: String,
    outcome: Outcome,
    verdict: Verdict,
    saved: Option<PathBuf>,
}

fn style_name(m: &AnyModel) -> String {
    match m {
        AnyModel::Builtin(b) => match b.styles().as_slice() {
            [] => "none".into(),
            styles => styles
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join("+"),
        },
        AnyModel::Scenario(s) => {
            let mut styles: Vec<String> = (0..s.sessions.len())
                .map(|i| s.session_style(i).to_string())
                .collect();
            styles.dedup();
            styles.join("+")
        }
    }
}

fn backend_of(args: &CheckArgs) -> Backend {
    let iterations = args.iterations as usize;
    match args.scheduler {
        SchedulerArg::Pct => Backend::Shuttle(Scheduler::Pct {
            seed: args.seed,
            depth: args.depth as usize,
            iterations,
        }),
        SchedulerArg::Random => Backend::Shuttle(Scheduler::Random {
            seed: args.seed,
            iterations,
        }),
        SchedulerArg::Dfs => Backend::Shuttle(Scheduler::Dfs {
            max_iterations: Some(iterations),
        }),
        SchedulerArg::Std => Backend::Std { iterations },
    }
}

/// Runs `f` with standard error silenced: shuttle prints a line for every failing execution,
/// and failing executions are how expected findings are reproduced. Everything worth saying is
/// in the finding. `SESSIONS_SHOW_PANICS` keeps standard error open.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let gag = if std::env::var_os("SESSIONS_SHOW_PANICS").is_some() {
        None
    } else {
        gag::Gag::stderr().ok()
    };
    let r = f();
    drop(gag);
    r
}

fn run_model(m: &AnyModel, backend: &Backend) -> Outcome {
    quietly(|| run_model_loud(m, backend))
}

fn run_model_loud(m: &AnyModel, backend: &Backend) -> Outcome {
    match backend {
        Backend::Shuttle(s) => run_shuttle(m, s, TraceLevel::Full),
        Backend::Std { iterations } => run_std(m, *iterations, TraceLevel::Full),
        Backend::Loom { .. } => unreachable!("the command line has no loom backend"),
    }
}

fn save_failure(m: &AnyModel, backend: &Backend, out: &Outcome, dir: &Path) -> Option<PathBuf> {
    let (Backend::Shuttle(s), Some(f)) = (backend, &out.finding) else {
        return None;
    };
    let file = FailureFile::new(m, s, f)?;
    match file.save(dir) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("warning: could not save the failure file: {e}");
            None
        }
    }
}

fn progress(len: u64, what: &str) -> ProgressBar {
    // Standard error is silenced while models run; the bar goes to standard output (and is
    // hidden when that is not a terminal).
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stdout());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

fn check(args: CheckArgs) -> Result<Finish> {
    let backend = backend_of(&args);
    let mut models: Vec<AnyModel> = Vec::new();
    if let Some(bug) = args.bug {
        if !Bug::COMPILED {
            bail!("--bug needs a build with the bugs feature: cargo run --features bugs --bin sessions -- check --bug {bug}");
        }
        models.push(AnyModel::Builtin(sessions_models::builtin::bug_model(bug)));
    }
    for path in &args.scenarios {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading scenario {}", path.display()))?;
        let scenario = Scenario::from_json(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("scenario {}", path.display()))?;
        scenario
            .config()
            .validate()
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("scenario {}", path.display()))?;
        models.push(AnyModel::Scenario(Box::new(scenario)));
    }
    let all = BuiltinModel::all();
    for name in &args.models {
        match all.iter().find(|m| m.name() == *name) {
            Some(m) => models.push(AnyModel::Builtin(*m)),
            None => {
                let names: Vec<String> = all.iter().map(|m| m.name()).collect();
                bail!(
                    "unknown model `{name}`; the built-in models are: {}",
                    names.join(", ")
                );
            }
        }
    }
    let explicit = !models.is_empty();
    if !explicit {
        models.extend(all.into_iter().map(AnyModel::Builtin));
    }
    if let Some(style) = args.style {
        models.retain(|m| match m {
            AnyModel::Builtin(b) => b.styles().contains(&style),
            AnyModel::Scenario(s) => (0..s.sessions.len()).any(|i| s.session_style(i) == style),
        });
    }

    let mut rows = Vec::new();
    let pb = progress(models.len() as u64, "models");
    for m in &models {
        pb.set_message(m.name());
        let outcome = run_model(m, &backend);
        let verdict = outcome.verdict(m.expect());
        let saved = if verdict.ok() {
            None
        } else {
            save_failure(m, &backend, &outcome, &args.failures)
        };
        rows.push(Row {
            model: m.name(),
            style: style_name(m),
            backend: backend.name(),
            outcome,
            verdict,
            saved,
        });
        pb.inc(1);
    }
    pb.finish_and_clear();

    if !explicit && args.sweep > 0 {
        if let Some(cases) = gen::sweep(args.seed, args.sweep as usize, args.style) {
            rows.push(sweep(
                &cases,
                args.sweep_iterations as usize,
                &args.failures,
            ));
        }
    }

    print_table(&rows);
    if args.coverage {
        println!("\ncoverage (executions that took each path):");
        for r in &rows {
            println!("  {:40} {}", r.model, r.outcome.coverage);
        }
    }
    let bad: Vec<&Row> = rows.iter().filter(|r| !r.verdict.ok()).collect();
    for r in &bad {
        println!("\n{}: {}", r.model, r.verdict);
        if let Some(f) = &r.outcome.finding {
            for v in &f.violations {
                println!("  - {v}");
            }
        }
        if let Some(p) = &r.saved {
            println!(
                "  failure file: {}\n  replay it with: sessions replay {}",
                p.display(),
                p.display()
            );
        }
    }
    let runs = rows.len();
    if bad.is_empty() {
        println!("\nall {runs} runs as expected");
    } else {
        println!("\n{} of {runs} runs not as expected", bad.len());
    }
    Ok(Finish {
        failed: !bad.is_empty(),
    })
}

/// Runs every generated case under PCT with its own seed; one summary row.
fn sweep(cases: &[gen::Case], iterations: usize, dir: &Path) -> Row {
    let pb = progress(cases.len() as u64, "sweep");
    let start = std::time::Instant::now();
    let mut executions = 0;
    let mut coverage = sessions_models::trace_stats::Coverage::default();
    let mut failed: Option<(AnyModel, Scheduler, Outcome)> = None;
    for case in cases {
        let scheduler = Scheduler::Pct {
            seed: case.seed,
            depth: 3,
            iterations,
        };
        let out = run_shuttle(&case.scenario, &scheduler, TraceLevel::Full);
        executions += out.executions;
        coverage.merge(&out.coverage);
        pb.inc(1);
        if !out.verdict(case.scenario.expect()).ok() {
            failed = Some((
                AnyModel::Scenario(Box::new(case.scenario.clone())),
                scheduler,
                out,
            ));
            break;
        }
    }
    pb.finish_and_clear();
    let elapsed = start.elapsed();
    let model = format!("sweep: {} generated scenarios", cases.len());
    match failed {
        None => Row {
            model,
            style: "mixed".into(),
            backend: "shuttle-pct".into(),
            outcome: Outcome {
                executions,
                elapsed,
                finding: None,
                last_trace: None,
                divergence: None,
                coverage,
                controlled: true,
                complete: None,
                interrupted: false,
            },
            verdict: Verdict::Passed,
            saved: None,
        },
        Some((m, scheduler, out)) => {
            let saved = save_failure(&m, &Backend::Shuttle(scheduler), &out, dir);
            let outcome = Outcome {
                executions,
                elapsed,
                ..out
            };
            Row {
                model: format!("{model} ({})", m.name()),
                style: style_name(&m),
                backend: "shuttle-pct".into(),
                verdict: Verdict::Unexpected,
                outcome,
                saved,
            }
        }
    }
}

fn print_table(rows: &[Row]) {
    let header = [
        "model",
        "style",
        "backend",
        "executions",
        "exec/s",
        "result",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.model.clone(),
                r.style.clone(),
                r.backend.clone(),
                r.outcome.executions.to_string(),
                format!("{:.0}", r.outcome.rate()),
                r.verdict.to_string(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(width).enumerate() {
            if i == 3 || i == 4 {
                s.push_str(&format!("{c:>w$}  "));
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line(&header.map(String::from)));
    let _ = writeln!(
        out,
        "{}",
        width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for row in &cells {
        let _ = writeln!(out, "{}", line(row));
    }
}

fn replay(args: ReplayArgs) -> Result<Finish> {
    let file: FailureFile<AnyModel> = failure::load(&args.file)?;
    file.model
        .config()
        .validate()
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{} cannot run here", args.file.display()))?;
    let level = if args.log {
        TraceLevel::Log
    } else {
        driver::default_level()
    };
    let replayed = if args.log {
        failure::replay(&file, level)?
    } else {
        quietly(|| failure::replay(&file, level))?
    };
    println!("model:     {}", file.model_name);
    println!(
        "found by:  {} at execution {}",
        file.found_by, file.execution
    );
    println!(
        "schedule:  {} steps, {} context switches",
        file.schedule.steps.len(),
        file.schedule.switches()
    );
    println!("written by {}", file.harness);
    println!("\nviolations:");
    for v in replayed.violations() {
        println!("  - {v}");
    }
    println!("\ntrace:");
    print!(
        "{}",
        render::render(
            &replayed.trace(),
            replayed.violations(),
            args.format,
            &file.model_name
        )
    );
    let ok = replayed.same_violations && replayed.same_trace;
    if ok {
        println!("\nreproduced: the same violations and the same trace as the file");
    } else {
        println!(
            "\nNOT reproduced: {}{}",
            if replayed.same_violations {
                ""
            } else {
                "the violations differ from the file's; "
            },
            if replayed.same_trace {
                ""
            } else {
                "the trace differs from the file's"
            }
        );
    }
    Ok(Finish { failed: !ok })
}

fn trace(args: TraceArgs) -> Result<Finish> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{}:{}:{}: {}", args.file.display(), e.line(), e.column(), e)
    })?;
    let (log, violations, title): (TraceLog, Vec<Violation>, String) =
        if value.get("format").is_some() {
            let file: FailureFile<AnyModel> = failure::parse(&args.file, &text)?;
            (file.trace, file.violations, file.model_name)
        } else {
            let scenario = Scenario::from_json(&text)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("scenario {}", args.file.display()))?;
            scenario.config().validate().map_err(anyhow::Error::msg)?;
            let out = run_shuttle(
                &scenario,
                &Scheduler::Pct {
                    seed: args.seed,
                    depth: 3,
                    iterations: 1,
                },
                TraceLevel::Full,
            );
            match out.finding {
                Some(f) => (f.trace, f.violations, scenario.name()),
                None => (
                    out.last_trace.unwrap_or_default(),
                    Vec::new(),
                    scenario.name(),
                ),
            }
        };
    let drawn = render::render(&log, &violations, args.format, &title);
    match &args.output {
        Some(path) => {
            std::fs::write(path, drawn).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{drawn}"),
    }
    Ok(Finish { failed: false })
}

fn list() -> Result<Finish> {
    for m in BuiltinModel::all() {
        println!("{:40} expects: {}", m.name(), m.expect());
    }
    Ok(Finish { failed: false })
}
