//! OpenTelemetry: traces and metrics over OTLP (HTTP, protobuf), off unless the standard
//! `OTEL_*` variables ask for them.
//!
//! Traces are on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is
//! set (and `OTEL_TRACES_EXPORTER` is not `none`); metrics likewise with the `…_METRICS_…`
//! variables and `OTEL_METRICS_EXPORTER`; `OTEL_SDK_DISABLED=true` turns both off. The
//! exporters read the rest themselves (`…_HEADERS`, `…_TIMEOUT`, `OTEL_BSP_*`,
//! `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`).
//!
//! Spans come from `tracing` spans of the target [`TARGET`] (see [`span`]), which only the
//! OpenTelemetry layer listens to: with tracing off they are disabled at their call sites and
//! cost a branch. Exports run on the SDK's own threads, never on the request path.

pub mod context;
pub mod span;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The `tracing` target of the spans exported as OpenTelemetry spans.
pub const TARGET: &str = "guarded::otel";

/// Whether spans are exported (so callers can skip reading trace context when they are not).
static TRACING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces.
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// The exporters this process runs; shut down (flushing what is queued) when serving ends.
#[derive(Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    metrics: Option<SdkMeterProvider>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("traces", &self.traces.is_some())
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// Which signals the environment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    pub traces: bool,
    pub metrics: bool,
}

impl Signals {
    /// Read from the environment (a lookup function, so it is testable without touching the
    /// process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Signals {
        let set = |k: &str| get(k).is_some_and(|v| !v.trim().is_empty());
        let not_none = |k: &str| get(k).is_none_or(|v| !v.trim().eq_ignore_ascii_case("none"));
        if get("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Signals {
                traces: false,
                metrics: false,
            };
        }
        let any = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        Signals {
            traces: (any || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
                && not_none("OTEL_TRACES_EXPORTER"),
            metrics: (any || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
                && not_none("OTEL_METRICS_EXPORTER"),
        }
    }

    pub fn from_env() -> Signals {
        Signals::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Why the exporters the environment asks for cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "{var}={protocol} is not supported: this server exports OTLP over HTTP with protobuf (http/protobuf, a collector's port 4318)"
    )]
    Protocol { var: String, protocol: String },
    #[error("cannot set up the OTLP {signal} exporter: {detail}")]
    Exporter {
        signal: &'static str,
        detail: String,
    },
}

/// The protocols OTLP may be asked for; only `http/protobuf` is built in.
fn check_protocol(
    get: impl Fn(&str) -> Option<String>,
    signal: &str,
) -> Result<(), TelemetryError> {
    for var in [
        format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"),
        "OTEL_EXPORTER_OTLP_PROTOCOL".to_string(),
    ] {
        if let Some(p) = get(&var) {
            let p = p.trim();
            if p.is_empty() || p == "http/protobuf" {
                return Ok(());
            }
            return Err(TelemetryError::Protocol {
                var,
                protocol: p.to_string(),
            });
        }
    }
    Ok(())
}

impl Telemetry {
    /// The exporters the environment asks for (none: nothing is started). Call before the
    /// async runtime starts: the HTTP exporter runs its own client thread.
    pub fn from_env() -> Result<Telemetry, TelemetryError> {
        Telemetry::start(Signals::from_env())
    }

    /// The exporters of `signals`, configured from the `OTEL_*` variables (benchmarks compare
    /// one signal against the other).
    pub fn start(signals: Signals) -> Result<Telemetry, TelemetryError> {
        let get = |k: &str| std::env::var(k).ok();
        let mut telemetry = Telemetry::default();
        if !signals.traces && !signals.metrics {
            return Ok(telemetry);
        }
        let resource = resource();
        if signals.traces {
            check_protocol(get, "TRACES")?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()
                .map_err(|e| TelemetryError::Exporter {
                    signal: "trace",
                    detail: e.to_string(),
                })?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource.clone())
                .build();
            telemetry.traces = Some(provider);
            TRACING.store(true, Ordering::Relaxed);
        }
        if signals.metrics {
            check_protocol(get, "METRICS")?;
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .build()
                .map_err(|e| TelemetryError::Exporter {
                    signal: "metric",
                    detail: e.to_string(),
                })?;
            let provider = SdkMeterProvider::builder()
                .with_periodic_exporter(exporter)
                .with_resource(resource)
                .build();
            telemetry.metrics = Some(provider);
        }
        Ok(telemetry)
    }

    /// Exporters built elsewhere (benchmarks: a provider whose exporter discards).
    pub fn with_providers(
        traces: Option<SdkTracerProvider>,
        metrics: Option<SdkMeterProvider>,
    ) -> Telemetry {
        Telemetry { traces, metrics }
    }

    /// The `tracing` layer that turns the call spans into OpenTelemetry spans, when traces are
    /// exported.
    pub fn layer<S>(&self) -> Option<Box<dyn tracing_subscriber::Layer<S> + Send + Sync>>
    where
        S: tracing::Subscriber + Send + Sync + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer;
        let provider = self.traces.as_ref()?;
        let tracer = provider.tracer("guarded-aws-mcp");
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false)
                // Nothing else in the process reads the OpenTelemetry context: attaching it on
                // every span entry (the default) is work for no one (measured: most of the
                // spans' cost).
                .with_context_activation(false)
                .with_filter(only_call_spans())
                .boxed(),
        )
    }

    /// The meter the server's instruments are exported through, when metrics are.
    pub fn meter(&self) -> Option<opentelemetry::metrics::Meter> {
        use opentelemetry::metrics::MeterProvider as _;
        self.metrics.as_ref().map(|p| p.meter("guarded-aws-mcp"))
    }

    /// Export what is queued and stop. Blocking: call outside the async runtime.
    pub fn shutdown(self) {
        if let Some(Err(e)) = self.traces.map(|p| p.shutdown()) {
            tracing::warn!(error = %e, "OTLP trace exporter did not shut down cleanly");
        }
        if let Some(Err(e)) = self.metrics.map(|p| p.shutdown()) {
            tracing::warn!(error = %e, "OTLP metric exporter did not shut down cleanly");
        }
    }
}

/// The filter of the OpenTelemetry layer: the call spans and nothing else (no log event, which
/// might carry what a span must not).
pub fn only_call_spans() -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new().with_target(TARGET, tracing::Level::INFO)
}

/// Whether a log line's target is one of the call spans' (the stderr log leaves them out).
pub fn is_span_target(target: &str) -> bool {
    target == TARGET
}

/// `service.name` is this server unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`
/// names it.
fn resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if named {
        builder.build()
    } else {
        builder.with_service_name("guarded-aws-mcp").build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn signals_follow_the_standard_variables() {
        let off = Signals {
            traces: false,
            metrics: false,
        };
        assert_eq!(Signals::from_lookup(lookup(&[])), off);
        let both = lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]);
        assert_eq!(
            Signals::from_lookup(both),
            Signals {
                traces: true,
                metrics: true
            }
        );
        let traces_only = lookup(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:4318/v1/traces",
        )]);
        assert_eq!(
            Signals::from_lookup(traces_only),
            Signals {
                traces: true,
                metrics: false
            }
        );
        let no_metrics = lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ]);
        assert_eq!(
            Signals::from_lookup(no_metrics),
            Signals {
                traces: true,
                metrics: false
            }
        );
        let disabled = lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ]);
        assert_eq!(Signals::from_lookup(disabled), off);
        let empty = lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]);
        assert_eq!(Signals::from_lookup(empty), off);
    }

    #[test]
    fn only_protobuf_over_http_is_accepted() {
        assert!(check_protocol(lookup(&[]), "TRACES").is_ok());
        let proto = lookup(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
        assert!(check_protocol(proto, "TRACES").is_ok());
        let grpc = lookup(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        let e = check_protocol(grpc, "TRACES").unwrap_err();
        assert!(
            e.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
            "{e}"
        );
        // The signal's own variable wins.
        let mixed = lookup(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ]);
        assert!(check_protocol(&mixed, "METRICS").is_ok());
        assert!(check_protocol(&mixed, "TRACES").is_err());
    }
}
