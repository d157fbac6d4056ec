//! Any text as a policy file: parsed and checked against the catalogue; never panics.
//! Shared by the cargo-fuzz target of the same name and the fuzz smoke test (tests/e2e).
use std::sync::LazyLock;

use guarded_aws_mcp::catalogue::Catalogue;

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::builtin);

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = guarded_aws_mcp::policy::load_str(text, "fuzz.yaml", &CATALOGUE);
    }
}
