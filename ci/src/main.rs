//! `cargo run -p sessions-ci -- <step>...`: the checks CI performs, each timed.
//!
//! Steps, in the order `all` runs them:
//! - `fmt`: `cargo fmt --all -- --check`.
//! - `clippy`: `cargo clippy --workspace --all-targets -- -D warnings` (core's `clippy.toml`
//!   forbids synchronisation that bypasses the sync facade).
//! - `test`: `cargo test --workspace`, the README's test command, with `CI=true` so insta
//!   fails on any snapshot change instead of writing `.snap.new` files.
//! - `loom`: `RUSTFLAGS="--cfg loom" cargo test -p sessions-models -p sessions-scenarios
//!   --release --test loom` in its own target directory (the cfg changes every crate's build).
//!   The preemption bound is `LOOM_MAX_PREEMPTIONS` if set, else the suite's default of 3 (2 for
//!   models with a server dispatcher thread): every built-in model, injected bug and swept
//!   scenario is decided within it, while unbounded exploration of the seed example alone takes
//!   millions of executions.
//! - `snapshots`: `cargo insta test -p sessions-snapshots --check --unreferenced=reject`: a
//!   changed, stale or unreferenced snapshot in `snapshots/` fails. Installs cargo-insta
//!   (about a minute on 2 cores) when `cargo insta` is missing.
//! - `check`: `cargo run --release --bin sessions -- check`, the README's main command.

use std::process::{Command, ExitCode};
use std::time::Instant;

const STEPS: [&str; 6] = ["fmt", "clippy", "test", "snapshots", "loom", "check"];

/// The cargo-insta CI installs when it has none: the version of the insta crate in use.
const CARGO_INSTA: &str = "1.49.0";

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The commands of `step`, in order.
fn commands(step: &str) -> Vec<Command> {
    if step == "snapshots" {
        let mut run = cargo();
        run.args([
            "insta",
            "test",
            "-p",
            "sessions-snapshots",
            "--check",
            "--unreferenced=reject",
        ]);
        let has_insta = cargo()
            .args(["insta", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has_insta {
            return vec![run];
        }
        let mut install = cargo();
        install.args([
            "install",
            "cargo-insta",
            "--locked",
            "--version",
            CARGO_INSTA,
        ]);
        return vec![install, run];
    }
    vec![command(step)]
}

fn command(step: &str) -> Command {
    let mut c = cargo();
    match step {
        "fmt" => c.args(["fmt", "--all", "--", "--check"]),
        "clippy" => c.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "test" => c.args(["test", "--workspace"]).env("CI", "true"),
        "loom" => c
            .args([
                "test",
                "-p",
                "sessions-models",
                "-p",
                "sessions-scenarios",
                "--release",
                "--test",
                "loom",
                "--",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", "target/loom"),
        "check" => c.args(["run", "--release", "--bin", "sessions", "--", "check"]),
        _ => unreachable!("steps are checked before running"),
    };
    c
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps: Vec<&str> = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["all"] => STEPS.to_vec(),
        named => {
            if let Some(bad) = named.iter().find(|s| !STEPS.contains(s)) {
                eprintln!("unknown step `{bad}`; steps: all, {}", STEPS.join(", "));
                return ExitCode::from(2);
            }
            named.to_vec()
        }
    };
    let mut timings = Vec::new();
    for step in steps {
        eprintln!("==> {step}");
        let start = Instant::now();
        for mut c in commands(step) {
            match c.status() {
                Ok(s) if s.success() => {}
                Ok(s) => {
                    let secs = start.elapsed().as_secs_f64();
                    eprintln!("==> {step} FAILED ({s}) after {secs:.0} s");
                    return ExitCode::from(1);
                }
                Err(e) => {
                    eprintln!("==> {step} could not start cargo: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        timings.push((step, secs));
        eprintln!("==> {step} passed in {secs:.0} s");
    }
    eprintln!("==> all passed:");
    for (step, secs) in timings {
        eprintln!("    {step:8} {secs:6.0} s");
    }
    ExitCode::SUCCESS
}
