//! Any bytes as a line on stdio: the framing layer's verdict, then rmcp's decoding of what it
//! passes on. Never panics; what it passes is always one JSON object or array.
#![no_main]
use guarded_aws_mcp::transport::{Frame, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Frame::Message(m) = classify(data) {
        assert!(matches!(m.first(), Some(b'{') | Some(b'[')));
        let _ = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(m);
    }
});
