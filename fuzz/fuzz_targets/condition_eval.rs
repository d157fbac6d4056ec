//! cargo-fuzz target; the body is in fuzz/bodies/condition_eval.rs (also run by the smoke test).
#![no_main]
#[path = "../bodies/condition_eval.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
