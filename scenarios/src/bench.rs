//! `sessions bench`: the multiplexed style against PARALLEL on the seed workload (concurrent
//! chardev reads on one session), on std threads.
//!
//! For each number of concurrent fibrils, both styles run side by side, alternating, several
//! rounds; the report gives phones used (peak open phones of the client task), connect round
//! trips (`CONNECT_ME_TO` calls) and operations per second (median of the rounds), and the
//! ratios multiplexed/PARALLEL measured in the same run. Counts come from a traced run; speed
//! from untraced runs.

use anyhow::{bail, Context, Result};
use clap::Args;
use sessions_core::proto::chardev;
use sessions_core::sync::StdPlatform;
use sessions_core::{Event, Kernel, KernelConfig, Method, Session, Style, TraceLevel, TraceLog};
use std::io::Write;
use std::time::Instant;

/// Options of `sessions bench`.
#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Concurrent fibrils, comma-separated.
    #[arg(long, default_value = "1,2,4,8", value_delimiter = ',')]
    pub fibrils: Vec<usize>,
    /// Reads per fibril in one run.
    #[arg(long, default_value_t = 2000)]
    pub ops: usize,
    /// Timed runs per style and fibril count (the median is reported). Threads on a shared
    /// machine are noisy: fewer than about 15 rounds give unstable ratios.
    #[arg(long, default_value_t = 15)]
    pub rounds: usize,
}

/// One style's numbers at one fibril count.
#[derive(Clone, Copy, Debug)]
pub struct Measure {
    /// Peak phones open in the client task.
    pub phones: u32,
    /// `CONNECT_ME_TO` calls (the session's own connect included).
    pub connects: u32,
    /// Median operations per second over the rounds.
    pub ops_per_sec: f64,
}

/// Runs the seed workload once: `fibrils` fibrils doing `ops` chardev reads each on one
/// session of `style`. Returns the trace and the wall-clock seconds.
pub fn workload(style: Style, fibrils: usize, ops: usize, trace: TraceLevel) -> (TraceLog, f64) {
    let config = KernelConfig {
        phone_limit: 64,
        path_limit: 64,
        trace,
        ..KernelConfig::default()
    };
    let k = Kernel::<StdPlatform>::new(config);
    let data = vec![b'x'; fibrils * ops * 4];
    let dev = k.server("chardev", chardev::server(&data));
    let client = k.task("client");
    let sess = Session::connect(&client, &dev, chardev::iface(style), 0, 0).expect("connect");
    let start = Instant::now();
    let handles: Vec<_> = (0..fibrils)
        .map(|i| {
            let s = sess.clone();
            client.spawn(&format!("F{i}"), move || {
                for _ in 0..ops {
                    let exch = s.begin().expect("begin");
                    chardev::blocking::read(&exch, 4).expect("read");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a bench fibril");
    }
    let secs = start.elapsed().as_secs_f64();
    sess.hangup().expect("hangup");
    (k.finish(), secs)
}

fn counts(log: &TraceLog) -> (u32, u32) {
    let mut phones = 0;
    let mut connects = 0;
    for e in &log.events {
        match e {
            Event::PhoneOpen { open, task, .. } if task.0 != 0 => phones = phones.max(*open),
            Event::Send {
                method: Method::CONNECT_ME_TO,
                ..
            } => connects += 1,
            _ => {}
        }
    }
    (phones, connects)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures both styles at `fibrils` concurrent fibrils.
pub fn measure(fibrils: usize, ops: usize, rounds: usize) -> [Measure; 2] {
    let styles = [Style::Parallel, Style::Multiplexed];
    let mut rates = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, style) in styles.iter().enumerate() {
            let (_, secs) = workload(*style, fibrils, ops, TraceLevel::Off);
            rates[i].push((fibrils * ops) as f64 / secs.max(1e-9));
        }
    }
    let mut out = [Measure {
        phones: 0,
        connects: 0,
        ops_per_sec: 0.0,
    }; 2];
    for (i, style) in styles.iter().enumerate() {
        let (log, _) = workload(*style, fibrils, ops, TraceLevel::Full);
        let (phones, connects) = counts(&log);
        out[i] = Measure {
            phones,
            connects,
            ops_per_sec: median(std::mem::take(&mut rates[i])),
        };
    }
    out
}

/// Runs the benchmark and prints its table to `out`, a row as soon as it is measured.
pub fn run(args: &BenchArgs, out: &mut dyn Write) -> Result<()> {
    const OUT: &str = "cannot write to standard output";
    if args.fibrils.is_empty() || args.fibrils.iter().any(|n| !(1..=32).contains(n)) {
        bail!("--fibrils takes numbers from 1 to 32");
    }
    if !(1..=100_000).contains(&args.ops) || !(1..=100).contains(&args.rounds) {
        bail!("--ops takes 1 to 100000 and --rounds 1 to 100");
    }
    writeln!(
        out,
        "seed workload: N fibrils x {} chardev reads on one session, std threads, median of {} rounds",
        args.ops, args.rounds
    )
    .context(OUT)?;
    writeln!(
        out,
        "{:>7}  {:>15}  {:>15}  {:>9}  {:>17}  {:>17}  {:>9}  {:>13}  {:>13}  {:>9}",
        "fibrils",
        "phones PARALLEL",
        "phones MULTIPLX",
        "ratio",
        "connects PARALLEL",
        "connects MULTIPLX",
        "ratio",
        "ops/s PARALLEL",
        "ops/s MULTIPLX",
        "ratio"
    )
    .context(OUT)?;
    for &n in &args.fibrils {
        let [p, m] = measure(n, args.ops, args.rounds);
        writeln!(
            out,
            "{:>7}  {:>15}  {:>15}  {:>9.2}  {:>17}  {:>17}  {:>9.2}  {:>13.0}  {:>13.0}  {:>9.2}",
            n,
            p.phones,
            m.phones,
            m.phones as f64 / p.phones as f64,
            p.connects,
            m.connects,
            m.connects as f64 / p.connects as f64,
            p.ops_per_sec,
            m.ops_per_sec,
            m.ops_per_sec / p.ops_per_sec
        )
        .context(OUT)?;
        out.flush().context(OUT)?;
    }
    Ok(())
}
