//! Runs the fuzz target's entry point on the committed corpus, so CI exercises it without
//! nightly or libFuzzer.
#![cfg(not(loom))]

use std::path::Path;

#[test]
fn fuzz_corpus_finds_no_unexpected_violation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scenario");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} inputs", files.len());
    let mut decoded = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if arbitrary::Arbitrary::arbitrary(&mut arbitrary::Unstructured::new(&data))
            .map(|c: sessions_scenarios::Case| c.scenario.validate().is_ok())
            .unwrap_or(false)
        {
            decoded += 1;
        }
        if let Err(report) = sessions_scenarios::fuzz::run(&data) {
            panic!("{}: {report}", f.display());
        }
    }
    // Most inputs must decode into a real scenario, or the corpus exercises nothing.
    assert!(
        decoded * 2 > files.len(),
        "only {decoded} of {} inputs decoded into a scenario",
        files.len()
    );
}

#[test]
fn json_corpus_decodes_or_is_refused_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/json");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut seen = sessions_scenarios::fuzz::Decoded::default();
    for f in &files {
        let d = sessions_scenarios::fuzz::json(&std::fs::read(f).unwrap());
        seen.scenario |= d.scenario;
        seen.failure |= d.failure;
        seen.runnable_failure |= d.runnable_failure;
        seen.builtin |= d.builtin;
    }
    // The corpus reaches every decoder's accepting path, not only its refusals.
    assert_eq!(
        seen,
        sessions_scenarios::fuzz::Decoded {
            scenario: true,
            failure: true,
            runnable_failure: true,
            builtin: true,
        },
        "{} inputs",
        files.len()
    );
}
