//! W3C trace context from where a client puts it: a request's `_meta.traceparent` (MCP
//! 2026-07-28) or, over HTTP, the `traceparent` header. What the client sends is a hint for
//! joining its trace, never an identity: a malformed value is ignored and the call starts a
//! trace of its own.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The two values trace context is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carrier {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

/// Longest value read (W3C: traceparent is 55 characters; tracestate at most 512 members of
/// bounded size, far less in practice).
const MAX_LEN: usize = 4096;

fn bounded(v: &str) -> Option<String> {
    (v.len() <= MAX_LEN).then(|| v.to_string())
}

impl Carrier {
    /// From a request's `_meta` object.
    pub fn from_meta(meta: &serde_json::Map<String, serde_json::Value>) -> Carrier {
        let get = |k: &str| meta.get(k).and_then(|v| v.as_str()).and_then(bounded);
        Carrier {
            traceparent: get(TRACEPARENT),
            tracestate: get(TRACESTATE),
        }
    }

    /// From HTTP request headers.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Carrier {
        let get = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(bounded)
        };
        Carrier {
            traceparent: get(TRACEPARENT),
            tracestate: get(TRACESTATE),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.traceparent.is_none()
    }

    /// The remote parent this carries, if it is a valid one.
    pub fn parent(&self) -> Option<Context> {
        self.traceparent.as_ref()?;
        let cx = TraceContextPropagator::new().extract(self);
        cx.span().span_context().is_valid().then_some(cx)
    }
}

/// The carrier of a call: `_meta` first (it belongs to the very request), then the HTTP
/// header.
pub fn of_call(
    meta: &serde_json::Map<String, serde_json::Value>,
    headers: Option<&axum::http::HeaderMap>,
) -> Carrier {
    let from_meta = Carrier::from_meta(meta);
    if !from_meta.is_empty() {
        return from_meta;
    }
    headers.map(Carrier::from_headers).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceId;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn meta(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_valid_traceparent_in_meta_is_the_parent() {
        let m = meta(&[
            ("traceparent", PARENT.into()),
            ("tracestate", "vendor=x".into()),
        ]);
        let cx = of_call(&m, None).parent().expect("parent");
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        assert!(sc.is_remote());
        assert!(sc.is_sampled());
        assert_eq!(sc.trace_state().get("vendor"), Some("x"));
    }

    #[test]
    fn meta_wins_over_the_header_and_the_header_serves_without_it() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-11111111111111111111111111111111-2222222222222222-01"
                .parse()
                .unwrap(),
        );
        let m = meta(&[("traceparent", PARENT.into())]);
        let from_meta = of_call(&m, Some(&headers)).parent().unwrap();
        assert_eq!(
            from_meta.span().span_context().trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        let from_header = of_call(&meta(&[]), Some(&headers)).parent().unwrap();
        assert_eq!(
            from_header.span().span_context().trace_id(),
            TraceId::from_hex("11111111111111111111111111111111").unwrap()
        );
    }

    #[test]
    fn malformed_context_is_ignored() {
        for bad in [
            serde_json::json!("garbage"),
            serde_json::json!(42),
            serde_json::json!("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            serde_json::json!("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            serde_json::json!("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            serde_json::json!(format!("{PARENT}{}", "x".repeat(10_000))),
        ] {
            let m = meta(&[("traceparent", bad.clone())]);
            assert!(of_call(&m, None).parent().is_none(), "{bad}");
        }
    }
}
