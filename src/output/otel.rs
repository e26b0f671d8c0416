//! `otel` sink: one JSON object per episode shaped as an OpenTelemetry log
//! record, for log shippers: `time_unix_nano`, `severity_text`,
//! `severity_number`, `body` (the diagnosis summary), and `attributes` with
//! OpenTelemetry's semantic-convention names (`host.name`, `k8s.pod.uid`,
//! `k8s.namespace.name`, `k8s.pod.name`, `k8s.container.name`,
//! `container.id`, `container.runtime`, `process.pid`,
//! `process.executable.name`) plus `oom.*` attributes for what has no
//! convention; a guard outcome (`simulate`, `guard`) adds `oom.guard.*`.
//! The jsonl schema is unchanged; this is a separate view.

use super::{Sink, Summary};
use crate::model::Episode;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

fn record(ep: &Episode) -> Value {
    let mut a = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            a.insert(k.to_owned(), v);
        }
    };
    put("host.name", ep.host.clone().map(Value::from));
    if let Some(k) = &ep.k8s {
        put("k8s.pod.uid", Some(k.pod_uid.clone().into()));
        put("k8s.namespace.name", k.namespace.clone().map(Value::from));
        put("k8s.pod.name", k.pod.clone().map(Value::from));
        put("k8s.container.name", k.container_name.clone().map(Value::from));
        put("oom.k8s.qos", k.qos.clone().map(Value::from));
    }
    if let Some(c) = &ep.container {
        put("container.id", Some(c.id.clone().into()));
        put("container.runtime", c.runtime.clone().map(Value::from));
    }
    if let Some(v) = ep.victims.first() {
        put("process.pid", Some(v.pid.into()));
        put("process.executable.name", Some(v.comm.clone().into()));
    }
    put("oom.victims", Some(ep.victims.len().into()));
    put("oom.scope", ep.scope.map(|s| s.as_str().into()));
    put("oom.cause", ep.diagnosis.as_ref().map(|d| d.cause.as_str().into()));
    put(
        "oom.killer",
        Some(serde_json::to_value(ep.killer).unwrap_or(Value::Null)),
    );
    put(
        "oom.cgroup",
        ep.memcg.as_ref().and_then(|m| m.path.clone()).map(Value::from),
    );
    put(
        "oom.usage_bytes",
        ep.memcg.as_ref().and_then(|m| m.usage_bytes).map(Value::from),
    );
    // No limit is said, not written as a number (as in the jsonl schema).
    put(
        "oom.limit_bytes",
        ep.memcg.as_ref().and_then(|m| m.limit_bytes).map(Value::from),
    );
    put("oom.unlimited", ep.memcg.as_ref().map(|m| m.unlimited.into()));
    put("oom.complete", Some(ep.complete.into()));
    put("oom.printed", Some(ep.printed.as_str().into()));
    if let Some(g) = &ep.guard {
        guard_attributes(&mut put, g);
    }
    put("log.file.name", Some(ep.source.file.clone().into()));
    put("log.record.line", Some(ep.source.first_line.into()));
    let nanos = ep
        .time
        .wall
        .as_deref()
        .filter(|w| w.ends_with('Z'))
        .and_then(|w| chrono::DateTime::parse_from_rfc3339(w).ok())
        .and_then(|t| t.timestamp_nanos_opt())
        .map(|n| n.to_string());
    let body = ep
        .diagnosis
        .as_ref()
        .map_or_else(|| "OOM episode".to_owned(), |d| d.summary.to_string());
    json!({
        "time_unix_nano": nanos,
        "severity_text": "WARN",
        "severity_number": 13,
        "body": body,
        "attributes": a,
    })
}

/// `oom.guard.*`: the guard's outcome, named as the episode's own
/// attributes are (the chosen process as `process.*`, counts as plain
/// names, sizes in `_bytes`).
fn guard_attributes(put: &mut impl FnMut(&str, Option<Value>), g: &crate::model::GuardOutcome) {
    put("oom.guard.policy", Some(g.policy.as_str().into()));
    put("oom.guard.action", Some(g.action.clone().into()));
    put("oom.guard.fired", Some(g.fired.into()));
    put("oom.guard.held_back", Some(g.held_back.into()));
    put("oom.guard.margin_bytes", g.margin_bytes.map(Value::from));
    put("oom.guard.threshold_bytes", g.threshold_bytes.map(Value::from));
    if let Some(v) = &g.victim {
        put("oom.guard.process.pid", Some(v.pid.into()));
        put("oom.guard.process.executable.name", Some(v.comm.clone().into()));
    }
    put("oom.guard.killed", Some(g.killed.len().into()));
    put("oom.guard.same_victim", g.same_victim.map(Value::from));
    put("oom.guard.note", Some(g.note.clone().into()));
}

/// An episode's log record, one line (written by a [`super::LineSink`]).
pub(super) fn otel_line(ep: &Episode, buf: &mut Vec<u8>) -> io::Result<()> {
    serde_json::to_writer(&mut *buf, &record(ep))?;
    buf.push(b'\n');
    Ok(())
}

/// `prom` sink: the metrics families for node_exporter's textfile collector,
/// and under `simulate` the guard outcomes counted.
pub struct PromSink<'w> {
    out: Box<dyn Write + 'w>,
    metrics: crate::metrics::Metrics,
}

impl<'w> PromSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        PromSink {
            out,
            metrics: crate::metrics::Metrics::new(false),
        }
    }
}

impl Sink for PromSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.metrics.episode(ep);
        // Only `simulate` gives these sinks an episode with a guard outcome.
        if let Some(g) = &ep.guard {
            self.metrics.guard_simulated(g);
        }
        Ok(())
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        self.out.write_all(self.metrics.render().as_bytes())?;
        self.out.flush()
    }
}
