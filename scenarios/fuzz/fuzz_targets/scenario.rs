#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = sessions_scenarios::fuzz::run(data) {
        panic!("unexpected violation:\n{report}");
    }
});
