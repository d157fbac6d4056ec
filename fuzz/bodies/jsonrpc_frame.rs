//! Any bytes as a line on stdio: the framing layer's verdict, then rmcp's decoding of what it
//! passes on. Never panics; what it passes is always one JSON object or array.
//! Shared by the cargo-fuzz target of the same name and the fuzz smoke test (tests/e2e).
use guarded_aws_mcp::transport::{Frame, classify};

pub fn run(data: &[u8]) {
    if let Frame::Message(m) = classify(data) {
        assert!(matches!(m.first(), Some(b'{') | Some(b'[')));
        let _ = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(m);
    }
}
