//! cargo-fuzz target; the body is in fuzz/bodies/policy_load.rs (also run by the smoke test).
#![no_main]
#[path = "../bodies/policy_load.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
