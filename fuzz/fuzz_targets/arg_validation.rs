//! cargo-fuzz target; the body is in fuzz/bodies/arg_validation.rs (also run by the smoke test).
#![no_main]
#[path = "../bodies/arg_validation.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
