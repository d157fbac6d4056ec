//! Any text as a policy file: parsed and checked against the catalogue; never panics.
#![no_main]
use std::sync::LazyLock;

use guarded_aws_mcp::catalogue::Catalogue;
use libfuzzer_sys::fuzz_target;

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::builtin);

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = guarded_aws_mcp::policy::load_str(text, "fuzz.yaml", &CATALOGUE);
    }
});
