//! Drivers: one API that runs a [`Model`] on std threads, under shuttle (random, PCT, DFS,
//! replay) or under loom, checks every execution, and returns a [`Finding`] for the first
//! execution that fails.
//!
//! Each execution builds a fresh kernel, runs the model, lets the kernel [`finish`], and runs
//! every checker on the trace; a non-empty list of violations becomes the panic that the
//! backend catches, reports and stops on. A deadlock (found by the kernel itself, or by loom or
//! shuttle) becomes a [`Violation::Deadlock`] naming who was blocked where.
//!
//! [`finish`]: sessions_core::Kernel::finish

use crate::check;
use crate::model::{Expect, Model, Verdict};
use crate::quiet;
use crate::trace_stats::Coverage;
use crate::violation::Violation;
use serde::{Deserialize, Serialize};
use sessions_core::sync::{Arc, Ghost, Platform, ShuttlePlatform, StdPlatform};
use sessions_core::trace::Trace;
use sessions_core::{panic_message, Aborted, Kernel, TraceLevel, TraceLog, DEADLOCK_PANIC};
use shuttle::scheduler::{
    DataSource, DfsScheduler, PctScheduler, RandomDataSource, RandomScheduler,
    Schedule as ShuttleSchedule, Scheduler as ShuttleSchedulerTrait, Task, TaskId,
};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Environment variable that raises the trace level of replays and runs to `log`
/// (every event printed to standard error as it happens). Logging never changes a schedule.
pub const LOG_ENV: &str = "SESSIONS_LOG";

/// The trace level a driver runs with: `full`, or `log` when [`LOG_ENV`] is set.
pub fn default_level() -> TraceLevel {
    match std::env::var_os(LOG_ENV) {
        Some(v) if !v.is_empty() && v != "0" => TraceLevel::Log,
        _ => TraceLevel::Full,
    }
}

/// One scheduling decision of a shuttle execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run this shuttle task.
    Task(u32),
    /// Draw a random value.
    Random,
}

/// A shuttle schedule: the random seed and every decision, in order. Serialized as
/// `{"seed": 7, "steps": "0 0 1 2 1 r 0"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The random data seed.
    pub seed: u64,
    /// The decisions.
    #[serde(with = "steps_text")]
    pub steps: Vec<Step>,
}

mod steps_text {
    use super::Step;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(steps: &[Step], s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<String> = steps
            .iter()
            .map(|st| match st {
                Step::Task(t) => t.to_string(),
                Step::Random => "r".to_string(),
            })
            .collect();
        s.serialize_str(&text.join(" "))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Step>, D::Error> {
        let text = String::deserialize(d)?;
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| match w {
                "r" => Ok(Step::Random),
                n => n.parse().map(Step::Task).map_err(|_| {
                    D::Error::custom(format!(
                        "step {i} of the schedule is `{w}`: expected a task number or `r`"
                    ))
                }),
            })
            .collect()
    }
}

impl Schedule {
    /// Number of context switches (decisions that ran another task than the previous one).
    pub fn switches(&self) -> usize {
        let tasks: Vec<u32> = self
            .steps
            .iter()
            .filter_map(|s| {
                if let Step::Task(t) = s {
                    Some(*t)
                } else {
                    None
                }
            })
            .collect();
        tasks.windows(2).filter(|w| w[0] != w[1]).count()
    }
}

/// A shuttle scheduler and its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheduler", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scheduler {
    /// Uniformly random choices.
    Random {
        /// The seed.
        seed: u64,
        /// Executions to run.
        iterations: usize,
    },
    /// Probabilistic concurrency testing: finds a bug of depth `depth` with a guaranteed
    /// probability per execution.
    Pct {
        /// The seed.
        seed: u64,
        /// The bug depth (priority change points + 1).
        depth: usize,
        /// Executions to run.
        iterations: usize,
    },
    /// Depth-first enumeration of every schedule (no partial-order reduction), optionally
    /// bounded.
    Dfs {
        /// At most this many executions.
        max_iterations: Option<usize>,
    },
    /// Re-executes one recorded schedule.
    Replay {
        /// The schedule.
        schedule: Schedule,
    },
}

impl Scheduler {
    /// Short name (`random`, `pct`, `dfs`, `replay`).
    pub fn name(&self) -> &'static str {
        match self {
            Scheduler::Random { .. } => "random",
            Scheduler::Pct { .. } => "pct",
            Scheduler::Dfs { .. } => "dfs",
            Scheduler::Replay { .. } => "replay",
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheduler::Random { seed, iterations } => {
                write!(f, "random(seed {seed}, {iterations} iterations)")
            }
            Scheduler::Pct {
                seed,
                depth,
                iterations,
            } => {
                write!(
                    f,
                    "pct(seed {seed}, depth {depth}, {iterations} iterations)"
                )
            }
            Scheduler::Dfs {
                max_iterations: Some(n),
            } => write!(f, "dfs(at most {n} executions)"),
            Scheduler::Dfs {
                max_iterations: None,
            } => write!(f, "dfs(exhaustive)"),
            Scheduler::Replay { schedule } => write!(f, "replay({} steps)", schedule.steps.len()),
        }
    }
}

/// Where a model runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case", deny_unknown_fields)]
pub enum Backend {
    /// Real OS threads, `iterations` times: a smoke test, with no control of the schedule.
    Std {
        /// Executions to run.
        iterations: usize,
    },
    /// Shuttle with a scheduler.
    Shuttle(Scheduler),
    /// Loom's exhaustive exploration (only with `--cfg loom`).
    Loom {
        /// Preemption bound; `None` explores every interleaving.
        preemption_bound: Option<usize>,
    },
}

impl Backend {
    /// Short name (`std`, `shuttle-pct`, `loom`).
    pub fn name(&self) -> String {
        match self {
            Backend::Std { .. } => "std".into(),
            Backend::Shuttle(s) => format!("shuttle-{}", s.name()),
            Backend::Loom { .. } => "loom".into(),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Std { iterations } => write!(f, "std threads ({iterations} runs)"),
            Backend::Shuttle(s) => write!(f, "shuttle {s}"),
            Backend::Loom {
                preemption_bound: Some(b),
            } => write!(f, "loom (preemption bound {b})"),
            Backend::Loom {
                preemption_bound: None,
            } => write!(f, "loom (unbounded)"),
        }
    }
}

/// The first failing execution of a run.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Everything the checkers (or the deadlock detector) reported.
    pub violations: Vec<Violation>,
    /// The trace of the failing execution (up to the deadlock, if it deadlocked).
    pub trace: TraceLog,
    /// The shuttle schedule that reproduces it.
    pub schedule: Option<Schedule>,
    /// The execution it happened in, from 1.
    pub execution: u64,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Executions explored.
    pub executions: u64,
    /// Wall-clock time of the run (reported, never asserted on).
    pub elapsed: Duration,
    /// The first failing execution.
    pub finding: Option<Finding>,
    /// The trace of the last execution (the failing one, if any).
    pub last_trace: Option<TraceLog>,
    /// Set when a replayed schedule did not fit the model.
    pub divergence: Option<String>,
    /// Which framework paths the completed executions took.
    pub coverage: Coverage,
    /// Whether the scheduler controlled the interleaving (false on std threads, which can
    /// neither force nor repeat one).
    pub controlled: bool,
    /// For a bounded exhaustive search (DFS): whether it explored every schedule.
    pub complete: Option<bool>,
    /// Whether the run was stopped early through [`Hooks::stop`].
    pub interrupted: bool,
}

impl Outcome {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// How the run compares with `expect`. On std threads an expected finding that did not
    /// show is [`Verdict::Uncontrolled`]: they cannot force the interleaving that shows it.
    pub fn verdict(&self, expect: Expect) -> Verdict {
        match Verdict::of(
            expect,
            self.finding.as_ref().map(|f| f.violations.as_slice()),
        ) {
            Verdict::Missed if !self.controlled => Verdict::Uncontrolled,
            v => v,
        }
    }
}

/// What a caller can do to a run while it goes on: watch it, and stop it.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Called before each execution starts, outside it (never inside a model checker's
    /// execution), with the number of executions started so far.
    pub on_execution: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    /// Once set, no further execution starts and the run returns what it has, marked
    /// [`Outcome::interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
    /// On std threads: how long an execution may record no event before it is reported as
    /// stalled (default [`STD_STALL`], or [`STD_STALL_ENV`]).
    pub stall: Option<Duration>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_execution", &self.on_execution.is_some())
            .field("stop", &self.stop)
            .field("stall", &self.stall)
            .finish()
    }
}

impl Hooks {
    /// Whether the run is to stop; otherwise announces execution `n`.
    fn next(&self, n: u64) -> bool {
        if self
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
        {
            return false;
        }
        if let Some(f) = &self.on_execution {
            f(n);
        }
        true
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

/// Ghost state a driver shares with its executions: it outlives each execution, so the
/// driver can explain the one that failed.
#[derive(Default)]
struct ProbeState {
    executions: u64,
    coverage: Coverage,
    trace: Option<Trace>,
    /// What the failed execution showed; set once, and the run stops.
    violations: Option<Vec<Violation>>,
}

#[derive(Clone, Default)]
struct Probe(Arc<Ghost<ProbeState>>);

impl Probe {
    fn state<R>(&self, f: impl FnOnce(&mut ProbeState) -> R) -> R {
        self.0.with(f)
    }

    fn failed(&self) -> bool {
        self.state(|s| s.violations.is_some())
    }
}

/// Runs one execution of `model` on backend `P` and checks it. Returns whether it failed;
/// what it showed is then in the probe.
///
/// A failing execution does not unwind out of here: a panic of the model (the kernel's
/// deadlock report, a model's assertion, a fibril's panic) is caught, the kernel is aborted so
/// that every other fibril's thread ends too, and the backend sees the execution end normally.
/// The driver then stops the run. So shuttle and loom have nothing of their own to report.
fn execute<P: Platform, M: Model>(model: &M, level: TraceLevel, probe: &Probe) -> bool {
    let mut config = model.config();
    config.trace = level;
    let k = Kernel::<P>::new(config);
    probe.state(|s| {
        s.executions += 1;
        s.trace = Some(k.trace().clone());
        s.violations = None;
    });
    let run = catch_unwind(AssertUnwindSafe(|| {
        model.run(&k);
        k.finish()
    }));
    let violations = match run {
        Ok(log) => {
            probe.state(|s| s.coverage.record(&log));
            check::check(&log)
        }
        Err(payload) => {
            k.abort();
            let message = match (payload.is::<Aborted>(), k.failure()) {
                (true, Some(first)) => first,
                _ => panic_message(payload.as_ref()),
            };
            failed(k.trace(), &message)
        }
    };
    if violations.is_empty() {
        return false;
    }
    probe.state(|s| s.violations = Some(violations));
    true
}

/// What the checkers see in the trace of an execution that ended with a panic saying
/// `message`.
fn failed(trace: &Trace, message: &str) -> Vec<Violation> {
    // The kernel's own report, or loom's ("deadlock; threads = ...") or shuttle's
    // ("deadlock! blocked tasks: ...") should the kernel not have seen it first.
    let deadlocked = message.starts_with(DEADLOCK_PANIC)
        || message.starts_with("deadlock;")
        || message.starts_with("deadlock!")
        || trace.snapshot().deadlock.is_some();
    // Every checker runs on the trace so far; the end-state checks stay silent on a trace
    // that did not complete. What they find comes first: it is usually why the model
    // panicked (a stub got an error because the calls were mixed, say).
    let mut log = trace.snapshot();
    if deadlocked {
        log.deadlock = Some(trace.note_deadlock());
        return check::check(&log);
    }
    check::check_panicked(
        &log,
        message.lines().next().unwrap_or_default().to_string(),
        quiet::first().and_then(|(_, at)| at),
    )
}

/// The finding of a run whose execution failed, from the probe; or, when the backend itself
/// failed the execution (its own deadlock detection, say) with `payload`, from that.
fn finding(
    probe: &Probe,
    payload: Option<&(dyn std::any::Any + Send)>,
    schedule: Option<Schedule>,
) -> Option<Finding> {
    let (execution, trace, violations) =
        probe.state(|s| (s.executions, s.trace.clone(), s.violations.take()));
    let violations = match (violations, payload) {
        (Some(v), _) => v,
        (None, Some(payload)) => {
            // The first panic is the root: loom, say, unwinds out of its own deadlock report
            // with another panic of its teardown.
            let message = quiet::first()
                .map(|(m, _)| m)
                .unwrap_or_else(|| panic_message(payload));
            failed(&trace.clone().unwrap_or_default(), &message)
        }
        (None, None) => return None,
    };
    Some(Finding {
        violations,
        trace: trace.map(|t| t.snapshot()).unwrap_or_default(),
        schedule,
        execution,
    })
}

fn outcome(probe: &Probe, elapsed: Duration, finding: Option<Finding>) -> Outcome {
    let (executions, coverage, last_trace) = probe.state(|s| {
        (
            s.executions,
            std::mem::take(&mut s.coverage),
            s.trace.as_ref().map(Trace::snapshot),
        )
    });
    Outcome {
        executions,
        elapsed,
        finding,
        last_trace,
        divergence: None,
        coverage,
        controlled: true,
        complete: None,
        interrupted: false,
    }
}

/// How long an execution on std threads may go without recording an event before it is
/// reported as stalled ([`STD_STALL_ENV`] changes it). On std threads a lost notification, or a
/// spin outside the kernel, shows as a thread that never runs again: no deadlock the kernel can
/// see, since it counts that thread as running. Std threads are not a model checker: this is a
/// watchdog on wall-clock time, for reports instead of hangs.
pub const STD_STALL: Duration = Duration::from_secs(10);

/// Environment variable overriding [`STD_STALL`], in seconds.
pub const STD_STALL_ENV: &str = "SESSIONS_STD_STALL_SECS";

fn std_stall() -> Duration {
    std::env::var(STD_STALL_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(STD_STALL)
}

/// Runs `model` on std threads `iterations` times, stopping at the first failure. An
/// execution that records no event for [`STD_STALL`] is reported as a stall (its threads are
/// left where they hang).
pub fn run_std<M: Model + Clone>(model: &M, iterations: usize, level: TraceLevel) -> Outcome {
    run_std_with(model, iterations, level, &Hooks::default())
}

/// [`run_std`] with hooks.
pub fn run_std_with<M: Model + Clone>(
    model: &M,
    iterations: usize,
    level: TraceLevel,
    hooks: &Hooks,
) -> Outcome {
    let probe = Probe::default();
    let start = Instant::now();
    let stall = hooks.stall.unwrap_or_else(std_stall);
    let mut found = None;
    let mut interrupted = false;
    for n in 0..iterations as u64 {
        if !hooks.next(n) {
            interrupted = true;
            break;
        }
        let (m, p) = (model.clone(), probe.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        // The execution runs on a thread of its own, watched from here.
        std::thread::Builder::new()
            .name("main".into())
            .spawn(move || {
                let run = quiet::run(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        execute::<StdPlatform, M>(&m, level, &p)
                    }))
                });
                let _ = tx.send(run);
            })
            .expect("the operating system gives a thread");
        let mut seen = (0, Instant::now());
        let run = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(run) => break Some(run),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break None,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            let trace = probe.state(|s| s.trace.clone()).unwrap_or_default();
            let len = trace.len();
            if len != seen.0 {
                seen = (len, Instant::now());
            } else if seen.1.elapsed() >= stall {
                let mut log = trace.snapshot();
                log.deadlock = Some(trace.note_stall(stall.as_secs()));
                probe.state(|s| s.violations = Some(check::check(&log)));
                break Some(Ok(true));
            }
        };
        match run {
            Some(Ok(false)) => {}
            Some(Ok(true)) | None => {
                found = finding(&probe, None, None);
                break;
            }
            Some(Err(payload)) => {
                found = finding(&probe, Some(payload.as_ref()), None);
                break;
            }
        }
    }
    Outcome {
        controlled: false,
        interrupted,
        ..outcome(&probe, start.elapsed(), found)
    }
}

/// Records the decisions of the scheduler it wraps, announces each execution to the hooks,
/// and stops after `limit` executions (saying whether the inner scheduler had more).
struct Recorder<S> {
    inner: S,
    current: Rc<RefCell<Schedule>>,
    /// The run stops once an execution failed.
    probe: Probe,
    hooks: Hooks,
    started: u64,
    limit: Option<u64>,
    /// Set once the run ends: whether the inner scheduler had nothing more to explore.
    exhausted: Rc<Cell<Option<bool>>>,
}

impl<S: ShuttleSchedulerTrait> ShuttleSchedulerTrait for Recorder<S> {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        if self.probe.failed() {
            return None;
        }
        if self.limit == Some(self.started) {
            // Ask the inner scheduler for one more only to learn whether there is one.
            self.exhausted
                .set(Some(self.inner.new_execution().is_none()));
            return None;
        }
        if !self.hooks.next(self.started) {
            return None;
        }
        let Some(s) = self.inner.new_execution() else {
            self.exhausted.set(Some(true));
            return None;
        };
        self.started += 1;
        *self.current.borrow_mut() = Schedule {
            seed: s.seed,
            steps: Vec::new(),
        };
        Some(s)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        self.current
            .borrow_mut()
            .steps
            .push(Step::Task(usize::from(t) as u32));
        Some(t)
    }

    fn next_u64(&mut self) -> u64 {
        self.current.borrow_mut().steps.push(Step::Random);
        self.inner.next_u64()
    }
}

/// Replays one schedule and says where it stops fitting the model, instead of panicking.
struct Replayer {
    schedule: Schedule,
    /// Once the execution failed, what is left of it (fibrils unwinding) needs no schedule:
    /// a file recorded where the execution stopped at the failure still replays.
    probe: Probe,
    pos: Rc<Cell<usize>>,
    started: bool,
    data: RandomDataSource,
    divergence: Rc<RefCell<Option<String>>>,
}

impl Replayer {
    fn diverge(&mut self, why: String) -> Option<TaskId> {
        self.divergence.borrow_mut().get_or_insert(why);
        None
    }
}

impl ShuttleSchedulerTrait for Replayer {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        if std::mem::replace(&mut self.started, true) {
            return None;
        }
        Some(ShuttleSchedule::new(self.data.reinitialize()))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        _current: Option<TaskId>,
        _is_yielding: bool,
    ) -> Option<TaskId> {
        let ids: Vec<usize> = runnable.iter().map(|t| usize::from(t.id())).collect();
        let pos = self.pos.get();
        match self.schedule.steps.get(pos).copied() {
            None if self.probe.failed() => ids.first().map(|t| TaskId::from(*t)),
            None => {
                let n = self.schedule.steps.len();
                self.diverge(format!("the schedule ends after {n} steps but the execution goes on (tasks {ids:?} can run)"))
            }
            Some(Step::Random) => self.diverge(format!(
                "step {pos} of the schedule draws a random value but the execution switches tasks"
            )),
            Some(Step::Task(t)) if ids.contains(&(t as usize)) => {
                self.pos.set(pos + 1);
                Some(TaskId::from(t as usize))
            }
            Some(Step::Task(t)) => self.diverge(format!(
                "step {pos} of the schedule runs task {t} but only tasks {ids:?} can run"
            )),
        }
    }

    fn next_u64(&mut self) -> u64 {
        let pos = self.pos.get();
        if self.schedule.steps.get(pos) == Some(&Step::Random) {
            self.pos.set(pos + 1);
        } else {
            self.divergence.borrow_mut().get_or_insert(format!(
                "step {pos} of the schedule is no random draw but the execution draws one"
            ));
        }
        self.data.next_u64()
    }
}

fn shuttle_config() -> shuttle::Config {
    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    config.silence_warnings = true;
    config
}

/// Runs `model` under shuttle with `scheduler`.
pub fn run_shuttle<M: Model + Clone>(
    model: &M,
    scheduler: &Scheduler,
    level: TraceLevel,
) -> Outcome {
    run_shuttle_with(model, scheduler, level, &Hooks::default())
}

/// [`run_shuttle`] with hooks.
pub fn run_shuttle_with<M: Model + Clone>(
    model: &M,
    scheduler_spec: &Scheduler,
    level: TraceLevel,
    hooks: &Hooks,
) -> Outcome {
    let probe = Probe::default();
    let current = Rc::new(RefCell::new(Schedule::default()));
    let divergence = Rc::new(RefCell::new(None));
    let exhausted = Rc::new(Cell::new(None));
    let replayed = Rc::new(Cell::new(0));
    let record = |inner: Box<dyn ShuttleSchedulerTrait>,
                  limit: Option<usize>|
     -> Box<dyn ShuttleSchedulerTrait> {
        Box::new(Recorder {
            inner: BoxedScheduler(inner),
            current: current.clone(),
            probe: probe.clone(),
            hooks: hooks.clone(),
            started: 0,
            limit: limit.map(|n| n as u64),
            exhausted: exhausted.clone(),
        })
    };
    let scheduler: Box<dyn ShuttleSchedulerTrait> = match scheduler_spec.clone() {
        Scheduler::Random { seed, iterations } => record(
            Box::new(RandomScheduler::new_from_seed(seed, iterations)),
            None,
        ),
        Scheduler::Pct {
            seed,
            depth,
            iterations,
        } => record(
            Box::new(PctScheduler::new_from_seed(seed, depth, iterations)),
            None,
        ),
        // The bound is the recorder's, so that it can tell whether the search completed.
        Scheduler::Dfs { max_iterations } => {
            record(Box::new(DfsScheduler::new(None, false)), max_iterations)
        }
        Scheduler::Replay { schedule } => {
            *current.borrow_mut() = schedule.clone();
            Box::new(Replayer {
                probe: probe.clone(),
                data: RandomDataSource::initialize(schedule.seed),
                schedule,
                pos: replayed.clone(),
                started: false,
                divergence: divergence.clone(),
            })
        }
    };
    let runner = shuttle::Runner::new(BoxedScheduler(scheduler), shuttle_config());
    let shared = Arc::new(model.clone());
    let p = probe.clone();
    let start = Instant::now();
    let result = quiet::run(|| {
        catch_unwind(AssertUnwindSafe(move || {
            runner.run(move || {
                execute::<ShuttlePlatform, M>(&shared, level, &p);
            });
        }))
    });
    let elapsed = start.elapsed();
    let schedule = Some(current.borrow().clone());
    let found = match &result {
        Ok(()) => finding(&probe, None, schedule),
        Err(payload) => finding(&probe, Some(payload.as_ref()), schedule),
    };
    let mut divergence = divergence.borrow().clone();
    let (is_dfs, replay_steps) = match scheduler_spec {
        Scheduler::Dfs { .. } => (true, None),
        Scheduler::Replay { schedule } => (false, Some(schedule.steps.len())),
        _ => (false, None),
    };
    if let Some(len) = replay_steps.filter(|len| divergence.is_none() && replayed.get() < *len) {
        // A schedule longer than the execution did not reproduce it.
        divergence = Some(format!(
            "the execution ended after {} of the schedule's {len} steps",
            replayed.get()
        ));
    }
    let complete = if is_dfs && found.is_none() {
        exhausted.get()
    } else {
        None
    };
    Outcome {
        divergence,
        complete,
        interrupted: hooks.stopped(),
        ..outcome(&probe, elapsed, found)
    }
}

/// `Box<dyn Scheduler>` without `Send`, which shuttle's own impl requires.
struct BoxedScheduler(Box<dyn ShuttleSchedulerTrait>);

impl ShuttleSchedulerTrait for BoxedScheduler {
    fn new_execution(&mut self) -> Option<ShuttleSchedule> {
        self.0.new_execution()
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.0.next_task(runnable, current, is_yielding)
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// Default preemption bound of the loom suite: every bug the harness's injected-bug tests plant
/// is found within it, and every built-in model finishes in seconds (see the README).
pub const LOOM_DEFAULT_PREEMPTIONS: usize = 3;

/// Loom's branch bound when `LOOM_MAX_BRANCHES` is not set: the kernel's world lock is
/// taken more often per execution than loom's own default of 1,000 branches allows.
pub const LOOM_DEFAULT_BRANCHES: usize = 10_000;

/// Options of a loom run beyond loom's own environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoomOptions {
    /// Preemption bound; `None` takes `LOOM_MAX_PREEMPTIONS`, else
    /// [`LOOM_DEFAULT_PREEMPTIONS`].
    pub preemption_bound: Option<usize>,
    /// Where loom saves its exploration cursor (its checkpoint); `None` takes
    /// `LOOM_CHECKPOINT_FILE`. A run that finds the file starts from the saved cursor.
    pub checkpoint_file: Option<std::path::PathBuf>,
    /// Executions between checkpoints; `None` takes `LOOM_CHECKPOINT_INTERVAL` (loom's default
    /// is 20,000). With 1, the file always holds the cursor of the execution running, so after
    /// a failure it holds the failing one: rerunning with the same file starts with it.
    pub checkpoint_interval: Option<usize>,
}

/// Runs `model` under loom with the preemption bound `preemption_bound` (else
/// `LOOM_MAX_PREEMPTIONS`, else [`LOOM_DEFAULT_PREEMPTIONS`]). `LOOM_CHECKPOINT_FILE` and
/// `LOOM_CHECKPOINT_INTERVAL` work as loom documents them.
#[cfg(loom)]
pub fn run_loom<M: Model + Clone>(
    model: &M,
    preemption_bound: Option<usize>,
    level: TraceLevel,
) -> Outcome {
    run_loom_with(
        model,
        &LoomOptions {
            preemption_bound,
            ..LoomOptions::default()
        },
        level,
    )
}

/// The loom builder of a run with `options`: the preemption bound from the options, else
/// `LOOM_MAX_PREEMPTIONS`, else [`LOOM_DEFAULT_PREEMPTIONS`]; `LOOM_MAX_BRANCHES` as given,
/// else [`LOOM_DEFAULT_BRANCHES`]; the checkpoint settings from the options over loom's
/// environment variables.
#[cfg(loom)]
pub fn loom_builder(options: &LoomOptions) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = options
        .preemption_bound
        .or(builder.preemption_bound)
        .or(Some(LOOM_DEFAULT_PREEMPTIONS));
    // A model's kernel takes more branches than loom's default of 1,000 allows; a bound the
    // user set is theirs to keep.
    if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
        builder.max_branches = LOOM_DEFAULT_BRANCHES;
    }
    if let Some(file) = &options.checkpoint_file {
        builder.checkpoint_file = Some(file.clone());
    }
    if let Some(n) = options.checkpoint_interval {
        builder.checkpoint_interval = n.max(1);
    }
    builder
}

/// Runs `model` under loom with `options`.
#[cfg(loom)]
pub fn run_loom_with<M: Model + Clone>(
    model: &M,
    options: &LoomOptions,
    level: TraceLevel,
) -> Outcome {
    let builder = loom_builder(options);
    let probe = Probe::default();
    let shared = Arc::new(model.clone());
    let p = probe.clone();
    let start = Instant::now();
    let result = quiet::run(|| {
        catch_unwind(AssertUnwindSafe(move || {
            builder.check(move || {
                // Loom explores until an execution panics: stop it at the first failure.
                if execute::<sessions_core::sync::LoomPlatform, M>(&shared, level, &p) {
                    panic!("sessions: the execution failed");
                }
            });
        }))
    });
    let elapsed = start.elapsed();
    let found = match &result {
        Ok(()) => None,
        Err(payload) => finding(&probe, Some(payload.as_ref()), None),
    };
    outcome(&probe, elapsed, found)
}

/// Runs `model` on `backend`.
///
/// # Panics
/// For [`Backend::Loom`] in a build without `--cfg loom`.
pub fn run<M: Model + Clone>(model: &M, backend: &Backend, level: TraceLevel) -> Outcome {
    match backend {
        Backend::Std { iterations } => run_std(model, *iterations, level),
        Backend::Shuttle(s) => run_shuttle(model, s, level),
        #[cfg(loom)]
        Backend::Loom { preemption_bound } => run_loom(model, *preemption_bound, level),
        #[cfg(not(loom))]
        Backend::Loom { .. } => panic!("loom runs need a build with RUSTFLAGS=\"--cfg loom\""),
    }
}

impl FromStr for Backend {
    type Err = String;
    /// Parses `std`, `random`, `pct`, `dfs` or `loom` with default budgets.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "std" => Backend::Std { iterations: 100 },
            "random" => Backend::Shuttle(Scheduler::Random {
                seed: 0,
                iterations: 1000,
            }),
            "pct" => Backend::Shuttle(Scheduler::Pct {
                seed: 0,
                depth: 3,
                iterations: 1000,
            }),
            "dfs" => Backend::Shuttle(Scheduler::Dfs {
                max_iterations: Some(10_000),
            }),
            "loom" => Backend::Loom {
                preemption_bound: None,
            },
            other => {
                return Err(format!(
                    "unknown backend `{other}` (expected std, random, pct, dfs or loom)"
                ))
            }
        })
    }
}
