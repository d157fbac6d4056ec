//! cargo-fuzz target; the body is in fuzz/bodies/jsonrpc_frame.rs (also run by the smoke test).
#![no_main]
#[path = "../bodies/jsonrpc_frame.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
