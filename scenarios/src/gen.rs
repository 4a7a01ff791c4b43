//! Generating scenarios: a proptest strategy and an `arbitrary::Arbitrary` implementation
//! that produce valid scenarios within stated bounds, each paired with the PCT seed it runs
//! under.
//!
//! Both go through one raw form, [`RawCase`], which any bytes or any proptest value can be;
//! [`RawCase::normalize`] turns it into a [`Case`] whose scenario always passes
//! [`Scenario::validate`]. Shrinking works on the raw form, so a shrunk case is still valid
//! and still carries its own seed: shrinking compares like with like.
//!
//! Bounds of generated scenarios: 1 to [`GEN_FIBRILS`] fibrils, 1 to [`GEN_OPS`] operations
//! each, 1 to [`GEN_SESSIONS`] sessions to one server, reads and writes of 1 to 8 bytes, styles
//! SERIALIZE, PARALLEL and MULTIPLEXED (ATOMIC is for single-call operations only, and every
//! chardev operation has two calls), phone tables from the least that cannot deadlock to two
//! phones more, inline or threaded dispatch.

use crate::scenario::{FibrilSpec, Op, Scenario, ServerSpec, SessionSpec, Step};
use arbitrary::Arbitrary;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sessions_core::{Bug, Dispatch, Style};
use sessions_models::Expect;
use std::fmt;

/// Most fibrils in a generated scenario.
pub const GEN_FIBRILS: usize = 3;
/// Most operations per fibril in a generated scenario.
pub const GEN_OPS: usize = 3;
/// Most sessions in a generated scenario.
pub const GEN_SESSIONS: usize = 2;

/// A scenario and the seed of the PCT run that checks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The scenario.
    pub scenario: Scenario,
    /// The PCT seed.
    pub seed: u64,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (PCT seed {})", self.scenario, self.seed)
    }
}

/// One raw operation: any values at all.
#[derive(Clone, Debug, Arbitrary)]
pub struct RawOp {
    kind: u8,
    session: u8,
    other: u8,
    size: u8,
    steps: Vec<(bool, u8)>,
}

/// A raw case: any values at all; [`RawCase::normalize`] makes it valid.
#[derive(Clone, Debug, Arbitrary)]
pub struct RawCase {
    style: u8,
    sessions: u8,
    extra_phones: u8,
    threaded: bool,
    fibrils: Vec<Vec<RawOp>>,
    extra_data: u8,
    seed: u64,
}

const STYLES: [Style; 3] = [Style::Serialize, Style::Parallel, Style::Multiplexed];

fn text(n: usize, offset: usize) -> String {
    (0..n)
        .map(|i| (b'a' + ((i + offset) % 26) as u8) as char)
        .collect()
}

impl RawOp {
    fn normalize(&self, sessions: usize, index: usize) -> Op {
        let session = self.session as usize % sessions;
        let size = 1 + self.size as usize % 8;
        let step = |(write, n): (bool, u8)| {
            let n = 1 + n as usize % 8;
            if write {
                Step::Write {
                    data: text(n, index),
                }
            } else {
                Step::Read { size: n }
            }
        };
        match self.kind % 10 {
            0 | 1 => Op::Read { session, size },
            2 => Op::Write {
                session,
                data: text(size, index),
            },
            3 => Op::ReadShort { session, size },
            4 => {
                let mut steps: Vec<Step> = self.steps.iter().take(3).map(|s| step(*s)).collect();
                if steps.is_empty() {
                    steps.push(Step::Read { size });
                }
                Op::Exchange { session, steps }
            }
            5 if sessions > 1 => {
                let other = (session + 1 + self.other as usize % (sessions - 1)) % sessions;
                let (outer, inner) = (session.min(other), session.max(other));
                Op::Nested {
                    outer,
                    inner,
                    step: step((self.other % 2 == 1, self.size)),
                }
            }
            5 | 6 => Op::EarlyEnd { session, size },
            7 => Op::Forget { session, size },
            8 => Op::Hangup { session },
            _ => Op::ServerHangup { session },
        }
    }
}

impl RawCase {
    /// The valid case this raw value stands for.
    pub fn normalize(&self) -> Case {
        let style = STYLES[self.style as usize % STYLES.len()];
        let sessions = 1 + self.sessions as usize % GEN_SESSIONS;
        let mut fibrils: Vec<FibrilSpec> = self
            .fibrils
            .iter()
            .take(GEN_FIBRILS)
            .enumerate()
            .map(|(i, ops)| FibrilSpec {
                name: ((b'A' + i as u8) as char).to_string(),
                ops: ops
                    .iter()
                    .take(GEN_OPS)
                    .enumerate()
                    .map(|(j, op)| op.normalize(sessions, 3 * i + j))
                    .collect(),
            })
            .collect();
        fibrils.retain(|f| !f.ops.is_empty());
        if fibrils.is_empty() {
            fibrils.push(FibrilSpec {
                name: "A".into(),
                ops: vec![Op::Read {
                    session: 0,
                    size: 1,
                }],
            });
        }
        let wanted: usize = fibrils
            .iter()
            .flat_map(|f| &f.ops)
            .map(Op::bytes_read)
            .sum();
        let nested = fibrils
            .iter()
            .any(|f| f.ops.iter().any(|o| matches!(o, Op::Nested { .. })));
        let held = if nested { 2 * fibrils.len() } else { 1 };
        let phone_limit = (sessions + held) as u32 + self.extra_phones as u32 % 3;
        let dispatch = if self.threaded {
            Dispatch::Threaded
        } else {
            Dispatch::Inline
        };
        let scenario = Scenario {
            name: None,
            style,
            phone_limit,
            call_limit: 64,
            path_limit: 16,
            dispatch,
            servers: vec![ServerSpec {
                name: "dev".into(),
                data: text(wanted + self.extra_data as usize % 8, 0),
                close_mid_read: false,
            }],
            sessions: (0..sessions)
                .map(|_| SessionSpec {
                    server: 0,
                    style: None,
                })
                .collect(),
            fibrils,
            expect: Expect::Pass,
            bug: None,
        };
        debug_assert_eq!(
            scenario.validate(),
            Ok(()),
            "normalize produced an invalid scenario: {scenario}"
        );
        Case {
            scenario,
            seed: self.seed,
        }
    }
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(RawCase::arbitrary(u)?.normalize())
    }
}

fn raw_op() -> impl Strategy<Value = RawOp> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec((any::<bool>(), any::<u8>()), 0..3),
    )
        .prop_map(|(kind, session, other, size, steps)| RawOp {
            kind,
            session,
            other,
            size,
            steps,
        })
}

/// Raw cases: 1 to [`GEN_FIBRILS`] fibrils of 1 to [`GEN_OPS`] operations.
pub fn raw_cases() -> impl Strategy<Value = RawCase> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(
            prop::collection::vec(raw_op(), 1..=GEN_OPS),
            1..=GEN_FIBRILS,
        ),
        any::<u8>(),
        any::<u64>(),
    )
        .prop_map(
            |(style, sessions, extra_phones, threaded, fibrils, extra_data, seed)| RawCase {
                style,
                sessions,
                extra_phones,
                threaded,
                fibrils,
                extra_data,
                seed,
            },
        )
}

/// Valid cases.
pub fn cases() -> impl Strategy<Value = Case> {
    raw_cases().prop_map(|r| r.normalize())
}

/// Valid cases restricted to `style`, with bug `bug` injected (for showing that generation
/// finds a planted bug).
pub fn cases_with_bug(style: Style, bug: Bug) -> impl Strategy<Value = Case> {
    raw_cases().prop_map(move |mut r| {
        r.style = STYLES.iter().position(|s| *s == style).unwrap_or(0) as u8;
        let mut case = r.normalize();
        case.scenario.bug = Some(bug);
        case
    })
}

/// `n` cases drawn deterministically from `seed` (the same seed gives the same cases), all of
/// style `style` when given (ATOMIC is never generated: `None` is returned for it).
pub fn sweep(seed: u64, n: usize, style: Option<Style>) -> Option<Vec<Case>> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let style_index = match style {
        None => None,
        Some(s) => Some(STYLES.iter().position(|x| *x == s)? as u8),
    };
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = raw_cases();
    Some(
        (0..n)
            .map(|_| {
                let mut raw = strategy
                    .new_tree(&mut runner)
                    .expect("raw cases never reject")
                    .current();
                if let Some(i) = style_index {
                    raw.style = i;
                }
                raw.normalize()
            })
            .collect(),
    )
}
