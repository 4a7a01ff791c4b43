//! `sessions`: check session/exchange models, replay failures, draw traces.
//!
//! Exit status: 0 when everything is as expected, 1 when a run found an unexpected violation
//! (or missed a finding it should reproduce, or a replay did not reproduce), 2 on bad usage,
//! bad input or output that cannot be written, 130 when interrupted (Ctrl-C) with the partial
//! table printed.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sessions_core::{Bug, Style, TraceLevel, TraceLog};
use sessions_models::driver::{self, run_shuttle_with, run_std_with, Backend, Outcome, Scheduler};
use sessions_models::failure::{self, FailureFile};
use sessions_models::{BuiltinModel, Hooks, Model, Verdict, Violation};
use sessions_scenarios::render::{self, Format};
use sessions_scenarios::{gen, AnyModel, Scenario};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

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
    /// Draw the recorded trace of a failure file, or a scenario file's failing execution, as
    /// a sequence diagram.
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
    /// Seed of the pct and random schedulers, and of the generated scenarios [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// PCT bug depth (pct only) [default: 3].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=20))]
    depth: Option<u64>,
    /// Run this scenario file (repeatable) instead of the built-in models.
    #[arg(long = "scenario", value_name = "FILE")]
    scenarios: Vec<PathBuf>,
    /// Generated scenarios to sweep after the built-in models (0: none) [default: 64].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    sweep: Option<u64>,
    /// PCT executions per generated scenario [default: 50].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    sweep_iterations: Option<u64>,
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
    /// Print every event as it happens (never changes the schedule); `SESSIONS_LOG=1` does
    /// the same.
    #[arg(long)]
    log: bool,
    /// How to print the trace.
    #[arg(long, default_value = "text", value_parser = parse_format)]
    format: Format,
}

#[derive(Args)]
struct TraceArgs {
    /// A failure file (its recorded trace is drawn, whatever model wrote it), or a scenario
    /// file (run under shuttle PCT: its first failing execution is drawn, or its last one).
    file: PathBuf,
    /// text, mermaid, svg or html.
    #[arg(long, default_value = "text", value_parser = parse_format)]
    format: Format,
    /// Write the diagram here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// For a scenario: the PCT seed [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// For a scenario: PCT executions to search for a failing one [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    iterations: Option<u64>,
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

/// How a command that ran ended. Errors that are the user's to fix come back as `Err`
/// instead, and give status 2.
enum Finish {
    Ok,
    Failed,
    Interrupted,
}

/// An error writing standard output (closed or full), kept apart so that it is reported as
/// such.
#[derive(Debug)]
struct OutputError(std::io::Error);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for OutputError {}

/// Standard output, whose write errors become [`OutputError`].
struct Out(std::io::StdoutLock<'static>);

impl Out {
    fn new() -> Self {
        Out(std::io::stdout().lock())
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `writeln!` into an [`Out`], turning a failed write into an [`OutputError`].
macro_rules! say {
    ($out:expr) => {
        writeln!($out).map_err(OutputError)?
    };
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(OutputError)?
    };
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut out = Out::new();
    let result = match cli.command {
        Command::Check(args) => check(args, &mut out),
        Command::Replay(args) => replay(args, &mut out),
        Command::Trace(args) => trace(args, &mut out),
        Command::List => list(&mut out),
        Command::Bench(args) => sessions_scenarios::bench::run(&args, &mut out).map(|_| Finish::Ok),
    };
    let result = result.and_then(|f| {
        out.flush().map_err(OutputError)?;
        Ok(f)
    });
    match result {
        Ok(Finish::Ok) => ExitCode::SUCCESS,
        Ok(Finish::Failed) => ExitCode::from(1),
        Ok(Finish::Interrupted) => ExitCode::from(130),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
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
    /// The expected checker, for the one-line summary of an expected finding.
    expect: sessions_models::Expect,
}

impl Row {
    /// The result column: the verdict, and for a bounded DFS whether it searched everything.
    fn result(&self) -> String {
        let v = self.verdict.to_string();
        match self.outcome.complete {
            Some(true) => format!("{v} (search complete)"),
            Some(false) => format!("{v} (bound reached, search incomplete)"),
            None if self.outcome.interrupted => format!("{v} (interrupted)"),
            None => v,
        }
    }

    /// The violation an expected finding was reproduced with.
    fn finding(&self) -> Option<&Violation> {
        let sessions_models::Expect::Finding(checker) = self.expect else {
            return None;
        };
        let f = self.outcome.finding.as_ref()?;
        f.violations.iter().find(|v| v.checker() == checker)
    }
}

fn style_name(m: &AnyModel) -> String {
    let styles = match m {
        AnyModel::Builtin(b) => b.styles(),
        AnyModel::Scenario(s) => {
            let mut styles: Vec<Style> =
                (0..s.sessions.len()).map(|i| s.session_style(i)).collect();
            styles.sort();
            styles.dedup();
            styles
        }
    };
    match styles.as_slice() {
        [] => "none".into(),
        styles => styles
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join("+"),
    }
}

fn has_style(m: &AnyModel, style: Style) -> bool {
    match m {
        AnyModel::Builtin(b) => b.styles().contains(&style),
        AnyModel::Scenario(s) => (0..s.sessions.len()).any(|i| s.session_style(i) == style),
    }
}

/// The seed of `sessions check` and `sessions trace` when none is given.
const DEFAULT_SEED: u64 = 0;
/// The PCT depth when none is given.
const DEFAULT_DEPTH: u64 = 3;
/// Generated scenarios swept when `--sweep` is not given.
const DEFAULT_SWEEP: u64 = 64;
/// PCT executions per generated scenario when `--sweep-iterations` is not given.
const DEFAULT_SWEEP_ITERATIONS: u64 = 50;

fn backend_of(args: &CheckArgs) -> Backend {
    let iterations = args.iterations as usize;
    let seed = args.seed.unwrap_or(DEFAULT_SEED);
    match args.scheduler {
        SchedulerArg::Pct => Backend::Shuttle(Scheduler::Pct {
            seed,
            depth: args.depth.unwrap_or(DEFAULT_DEPTH) as usize,
            iterations,
        }),
        SchedulerArg::Random => Backend::Shuttle(Scheduler::Random { seed, iterations }),
        SchedulerArg::Dfs => Backend::Shuttle(Scheduler::Dfs {
            max_iterations: Some(iterations),
        }),
        SchedulerArg::Std => Backend::Std { iterations },
    }
}

/// Runs `f` with standard error silenced, for std threads: their panics (how an expected
/// finding shows) are not the harness's to silence one by one, and everything worth saying is
/// in the finding. Under shuttle the driver keeps expected panics quiet itself.
/// `SESSIONS_SHOW_PANICS` keeps standard error open.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let gag = if std::env::var_os(sessions_models::quiet::SHOW_PANICS_ENV).is_some() {
        None
    } else {
        gag::Gag::stderr().ok()
    };
    let r = f();
    drop(gag);
    r
}

fn run_model(m: &AnyModel, backend: &Backend, hooks: &Hooks) -> Outcome {
    match backend {
        Backend::Shuttle(s) => run_shuttle_with(m, s, TraceLevel::Full, hooks),
        Backend::Std { iterations } => {
            quietly(|| run_std_with(m, *iterations, TraceLevel::Full, hooks))
        }
        Backend::Loom { .. } => unreachable!("the command line has no loom backend"),
    }
}

fn save_failure(m: &AnyModel, backend: &Backend, out: &Outcome, dir: &Path) -> Option<PathBuf> {
    let (Backend::Shuttle(s), Some(f)) = (backend, &out.finding) else {
        return None;
    };
    let file = FailureFile::new(m, s, f)?;
    match file.save(dir) {
        Ok(p) => Some(std::fs::canonicalize(&p).unwrap_or(p)),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not save the failure file: {e}"
            );
            None
        }
    }
}

/// Ctrl-C: the first one stops the run at the next execution and the partial table is
/// printed; a second one ends the process at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let sig = signal_hook::consts::SIGINT;
    let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone());
    let _ = signal_hook::flag::register(sig, flag.clone());
    flag
}

/// The progress bar of a run of `total` executions at most, on standard error (drawn only
/// when that is a terminal).
fn progress(total: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:30}] {human_pos}/{human_len} executions, about {eta} left  {wide_msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    pb
}

/// Hooks that move `pb` from `base` as executions start, and stop on `stop`.
fn hooks(pb: &ProgressBar, base: u64, stop: &Arc<AtomicBool>) -> Hooks {
    let bar = pb.clone();
    Hooks {
        on_execution: Some(Arc::new(move |n| bar.set_position(base + n))),
        stop: Some(stop.clone()),
        stall: None,
    }
}

/// The options of `check` that do nothing with the others given are usage errors.
fn check_usage(args: &CheckArgs, explicit: bool) -> Result<()> {
    let pct_or_random = matches!(args.scheduler, SchedulerArg::Pct | SchedulerArg::Random);
    if args.depth.is_some() && args.scheduler != SchedulerArg::Pct {
        bail!("--depth is the PCT bug depth: it needs --scheduler pct");
    }
    let sweeps = !explicit && args.sweep.unwrap_or(DEFAULT_SWEEP) > 0;
    if args.seed.is_some() && !pct_or_random && !sweeps {
        bail!(
            "--seed seeds the pct and random schedulers and the generated scenarios: with --scheduler {} and no sweep it does nothing",
            match args.scheduler {
                SchedulerArg::Dfs => "dfs",
                _ => "std",
            }
        );
    }
    if explicit && (args.sweep.is_some() || args.sweep_iterations.is_some()) {
        bail!("--sweep and --sweep-iterations apply to the built-in list only, not with --model, --scenario or --bug");
    }
    if args.sweep == Some(0) && args.sweep_iterations.is_some() {
        bail!("--sweep-iterations with --sweep 0: there is no sweep to run");
    }
    if args.style == Some(Style::Atomic) && args.sweep.is_some_and(|n| n > 0) {
        bail!(
            "--sweep generates serialize, parallel and multiplexed scenarios, none of style atomic"
        );
    }
    Ok(())
}

fn load_scenario(path: &Path) -> Result<Scenario> {
    let text = failure::read_text(path).context("reading scenario")?;
    let scenario = Scenario::from_json(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("scenario {}", path.display()))?;
    scenario
        .config()
        .validate()
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("scenario {}", path.display()))?;
    Ok(scenario)
}

fn check(args: CheckArgs, out: &mut Out) -> Result<Finish> {
    let stop = interrupt_flag();
    let backend = backend_of(&args);
    let mut models: Vec<AnyModel> = Vec::new();
    if let Some(bug) = args.bug {
        if !Bug::COMPILED {
            bail!("--bug needs a build with the bugs feature: cargo run --features bugs --bin sessions -- check --bug {bug}");
        }
        models.push(AnyModel::Builtin(sessions_models::builtin::bug_model(bug)));
    }
    for path in &args.scenarios {
        models.push(AnyModel::Scenario(Box::new(load_scenario(path)?)));
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
    check_usage(&args, explicit)?;
    if !explicit {
        models.extend(all.into_iter().map(AnyModel::Builtin));
    }
    if let Some(style) = args.style {
        let before: Vec<String> = models.iter().map(|m| m.name()).collect();
        models.retain(|m| has_style(m, style));
        if models.is_empty() {
            bail!(
                "no model to run: none of {} has a session of style {style}",
                before.join(", ")
            );
        }
    }
    let sweep_count = if explicit || args.style == Some(Style::Atomic) {
        0
    } else {
        args.sweep.unwrap_or(DEFAULT_SWEEP)
    };
    let sweep_iterations = args.sweep_iterations.unwrap_or(DEFAULT_SWEEP_ITERATIONS);
    let cases = match sweep_count {
        0 => Vec::new(),
        n => gen::sweep(args.seed.unwrap_or(DEFAULT_SEED), n as usize, args.style)
            .unwrap_or_default(),
    };

    let budget = models.len() as u64 * args.iterations + cases.len() as u64 * sweep_iterations;
    let pb = progress(budget);
    let mut rows = Vec::new();
    let mut base = 0;
    for m in &models {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        pb.set_message(m.name());
        let outcome = run_model(m, &backend, &hooks(&pb, base, &stop));
        base += args.iterations;
        pb.set_position(base);
        let verdict = outcome.verdict(m.expect());
        let saved = if verdict.ok() || outcome.interrupted {
            None
        } else {
            save_failure(m, &backend, &outcome, &args.failures)
        };
        rows.push(Row {
            model: m.name(),
            style: style_name(m),
            backend: backend.name(),
            expect: m.expect(),
            outcome,
            verdict,
            saved,
        });
    }
    if !cases.is_empty() && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        pb.set_message("generated scenarios");
        rows.push(sweep(
            &cases,
            sweep_iterations,
            &args.failures,
            &pb,
            base,
            &stop,
        ));
    }
    pb.finish_and_clear();
    let interrupted = stop.load(std::sync::atomic::Ordering::Relaxed);

    print_table(out, &rows)?;
    let findings: Vec<&Row> = rows.iter().filter(|r| r.finding().is_some()).collect();
    if !findings.is_empty() {
        say!(out, "\nexpected findings:");
        for r in findings {
            say!(
                out,
                "  {}: {}",
                r.model,
                r.finding().expect("filtered above")
            );
        }
    }
    if args.coverage {
        say!(out, "\ncoverage (executions that took each path):");
        for r in &rows {
            say!(out, "  {:40} {}", r.model, r.outcome.coverage);
        }
    }
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.verdict.ok() && !r.outcome.interrupted)
        .collect();
    for r in &bad {
        say!(out, "\n{}: {}", r.model, r.verdict);
        if let Some(f) = &r.outcome.finding {
            for v in &f.violations {
                say!(out, "  - {v}");
                for c in v.because() {
                    say!(out, "    {c}");
                }
            }
        }
        if let Some(p) = &r.saved {
            say!(
                out,
                "  failure file: {}\n  replay it with: sessions replay {}",
                p.display(),
                p.display()
            );
        }
    }
    let runs = rows.len();
    if interrupted {
        say!(
            out,
            "\ninterrupted: {runs} of {} runs done",
            models.len() + usize::from(!cases.is_empty())
        );
        return Ok(Finish::Interrupted);
    }
    if bad.is_empty() {
        say!(out, "\nall {runs} runs as expected");
        Ok(Finish::Ok)
    } else {
        say!(out, "\n{} of {runs} runs not as expected", bad.len());
        Ok(Finish::Failed)
    }
}

/// Runs every generated case under PCT with its own seed; one summary row.
fn sweep(
    cases: &[gen::Case],
    iterations: u64,
    dir: &Path,
    pb: &ProgressBar,
    base: u64,
    stop: &Arc<AtomicBool>,
) -> Row {
    let start = std::time::Instant::now();
    let mut executions = 0;
    let mut coverage = sessions_models::trace_stats::Coverage::default();
    let mut failed: Option<(AnyModel, Scheduler, Outcome)> = None;
    let mut interrupted = false;
    for (i, case) in cases.iter().enumerate() {
        let scheduler = Scheduler::Pct {
            seed: case.seed,
            depth: DEFAULT_DEPTH as usize,
            iterations: iterations as usize,
        };
        let at = base + i as u64 * iterations;
        let out = run_shuttle_with(
            &case.scenario,
            &scheduler,
            TraceLevel::Full,
            &hooks(pb, at, stop),
        );
        executions += out.executions;
        coverage.merge(&out.coverage);
        if out.interrupted {
            interrupted = true;
            break;
        }
        if !out.verdict(case.scenario.expect()).ok() {
            failed = Some((
                AnyModel::Scenario(Box::new(case.scenario.clone())),
                scheduler,
                out,
            ));
            break;
        }
    }
    let elapsed = start.elapsed();
    let model = format!("sweep: {} generated scenarios", cases.len());
    let expect = sessions_models::Expect::Pass;
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
                interrupted,
            },
            verdict: Verdict::Passed,
            saved: None,
            expect,
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
                expect,
            }
        }
    }
}

fn print_table(out: &mut Out, rows: &[Row]) -> Result<()> {
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
                r.result(),
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
    say!(out, "{}", line(&header.map(String::from)));
    say!(
        out,
        "{}",
        width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for row in &cells {
        say!(out, "{}", line(row));
    }
    Ok(())
}

fn replay(args: ReplayArgs, out: &mut Out) -> Result<Finish> {
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
    let replayed = failure::replay(&file, level)?;
    say!(out, "model:     {}", file.model_name);
    say!(
        out,
        "found by:  {} at execution {}",
        file.found_by,
        file.execution
    );
    say!(
        out,
        "schedule:  {} steps, {} context switches",
        file.schedule.steps.len(),
        file.schedule.switches()
    );
    say!(out, "written by {}", file.harness);
    say!(out, "\nviolations:");
    for v in replayed.violations() {
        say!(out, "  - {v}");
        for c in v.because() {
            say!(out, "    {c}");
        }
    }
    say!(out, "\ntrace:");
    write!(
        out,
        "{}",
        render::render(
            &replayed.trace(),
            replayed.violations(),
            args.format,
            &file.model_name
        )
    )
    .map_err(OutputError)?;
    let ok = replayed.same_violations && replayed.same_trace;
    if ok {
        say!(
            out,
            "\nreproduced: the same violations and the same trace as the file"
        );
    } else {
        say!(
            out,
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
    Ok(if ok { Finish::Ok } else { Finish::Failed })
}

fn trace(args: TraceArgs, out: &mut Out) -> Result<Finish> {
    let text = failure::read_text(&args.file)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{}:{}:{}: {}", args.file.display(), e.line(), e.column(), e)
    })?;
    let (log, violations, title): (TraceLog, Vec<Violation>, String) = if value
        .get("format")
        .is_some()
    {
        if args.seed.is_some() || args.iterations.is_some() {
            bail!("--seed and --iterations search a scenario's executions; a failure file's trace is drawn as recorded");
        }
        let file = failure::parse_recorded(&args.file, &text)?;
        (file.trace, file.violations, file.model_name)
    } else {
        let scenario = load_scenario(&args.file)?;
        let iterations = args.iterations.unwrap_or(1000) as usize;
        let scheduler = Scheduler::Pct {
            seed: args.seed.unwrap_or(DEFAULT_SEED),
            depth: DEFAULT_DEPTH as usize,
            iterations,
        };
        let run = run_shuttle_with(&scenario, &scheduler, TraceLevel::Full, &Hooks::default());
        match run.finding {
            Some(f) => {
                let title = format!(
                    "{}, execution {} of {scheduler}",
                    scenario.name(),
                    f.execution
                );
                (f.trace, f.violations, title)
            }
            None => {
                let title = format!(
                    "{}, execution {} of {scheduler} (none failed)",
                    scenario.name(),
                    run.executions
                );
                (run.last_trace.unwrap_or_default(), Vec::new(), title)
            }
        }
    };
    let drawn = render::render(&log, &violations, args.format, &title);
    match &args.output {
        Some(path) => {
            std::fs::write(path, drawn).with_context(|| format!("writing {}", path.display()))?
        }
        None => write!(out, "{drawn}").map_err(OutputError)?,
    }
    Ok(Finish::Ok)
}

fn list(out: &mut Out) -> Result<Finish> {
    for m in BuiltinModel::all() {
        say!(out, "{:40} expects: {}", m.name(), m.expect());
    }
    Ok(Finish::Ok)
}
