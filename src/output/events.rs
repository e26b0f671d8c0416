//! `events` sink: one line per episode in the words the ecosystem uses, tab
//! separated: `time  type  reason  object  message`.
//!
//! - Global OOMs carry kubelet's own message, `System OOM encountered,
//!   victim process: <comm>, pid: <pid>`, with kubelet's reason `SystemOOM`
//!   on the node.
//! - memcg OOMs of a pod, which kubelet never records, get reason
//!   `OOMKilled` (the container state kubelet shows afterwards) on
//!   `pod/<namespace>/<name>` when `--pods` named it, else `pod/<uid>`; other
//!   memcg OOMs get `OOMKilling` (node-problem-detector's reason) on the
//!   cgroup.
//! - oom-guard kills keep seed 002's reasons `OomGuardKillContainer` /
//!   `OomGuardKillProcess`; a guard decision that killed nothing (held
//!   back, a dry run, the kernel first) is `OomGuardThresholdReached`.
//! - Under `simulate`, a kernel episode's message ends with what oom-guard
//!   would have done (`; oom-guard policy process would have killed
//!   first: victim process: …`), still one line and five fields.

use crate::model::{Episode, Killer, Scope};
use crate::units::human_bytes;
use std::io;

/// Tabs and newlines would break the line format; cleaned text has no
/// other control characters.
fn field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn victim_words(ep: &Episode) -> String {
    match ep.victims.as_slice() {
        [] if ep.killer == Killer::OomGuard => format!(
            "nothing: {}",
            ep.guard.as_ref().map_or("no process killed", |g| g.note.as_str())
        ),
        [] if ep.no_killable => "no killable process".to_owned(),
        [] if ep.panic.is_some() => "kernel panic, no victim".to_owned(),
        [] if ep.printed == crate::model::Printed::Nothing => {
            "a kill counted in memory.events, not in the log".to_owned()
        }
        [] => match &ep.selected {
            Some(s) => format!(
                "victim unknown: selected process {}, pid: {} (kill line not in the log)",
                s.comm, s.pid
            ),
            None => "victim unknown (report incomplete)".to_owned(),
        },
        vs if ep.printed == crate::model::Printed::KillLine => format!(
            "{} (only the kill line printed)",
            vs.iter()
                .map(|v| format!("victim process: {}, pid: {}", v.comm, v.pid))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        vs => vs
            .iter()
            .map(|v| format!("victim process: {}, pid: {}", v.comm, v.pid))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// What a simulated guard would have done before this kernel OOM, as a
/// clause of the message (empty without a simulation). oom-guard's own
/// episodes are not given one: their message already is the guard's.
fn guard_clause(ep: &Episode) -> String {
    let Some(g) = ep.guard.as_ref().filter(|_| ep.killer == Killer::Kernel) else {
        return String::new();
    };
    let victim = |p: &crate::model::Proc| format!("victim process: {}, pid: {}", p.comm, p.pid);
    let kernel = match (g.same_victim, &g.kernel_victim) {
        (Some(true), _) => " (the kernel's victim too)".to_owned(),
        (_, Some(k)) => format!(" (the kernel killed {}, pid: {})", k.comm, k.pid),
        (_, None) => " (the kernel's victim is not in the log)".to_owned(),
    };
    let others = g.killed.len().saturating_sub(1);
    let what = match (&g.victim, g.action.as_str()) {
        _ if g.threshold_bytes.is_none() => format!(": {}", g.note),
        _ if !g.fired => ": usage stayed under its threshold".to_owned(),
        _ if g.held_back => ": held back by the cache rule, nothing killed".to_owned(),
        (Some(v), "kill_process") => format!(" would have killed first: {}{kernel}", victim(v)),
        (Some(v), "kill_container") if others > 0 => format!(
            " would have killed the container first: {} and {others} other process{}{kernel}",
            victim(v),
            if others == 1 { "" } else { "es" }
        ),
        (Some(v), "kill_container") => format!(" would have killed the container first: {}{kernel}", victim(v)),
        (Some(v), _) => format!(" would have chosen {}{kernel}, killing nothing", victim(v)),
        (None, _) => format!(": nothing to kill: {}", g.note),
    };
    format!("; oom-guard policy {}{what}", g.policy.as_str())
}

fn line(ep: &Episode) -> [String; 5] {
    let time = ep
        .time
        .wall
        .as_deref()
        .or(ep.time.wall_raw.as_deref())
        .map(str::to_owned)
        .or_else(|| ep.time.uptime_s.map(|u| format!("{u:.6}s")))
        .unwrap_or_else(|| "-".to_owned());
    let node = format!("node/{}", ep.host.as_deref().unwrap_or("-"));
    let cause = ep
        .diagnosis
        .as_ref()
        .map_or(String::new(), |d| format!(", cause: {}", d.cause.as_str()));
    let usage = ep
        .memcg
        .as_ref()
        .map_or(String::new(), |m| match (m.usage_bytes, m.limit_bytes) {
            (Some(u), Some(l)) => format!(", usage {} of limit {}", human_bytes(u), human_bytes(l)),
            (Some(u), None) if m.unlimited => format!(", usage {} with no limit", human_bytes(u)),
            _ => String::new(),
        });
    let pod_object = ep.k8s.as_ref().map(|k| match (&k.namespace, &k.pod) {
        (Some(ns), Some(p)) => format!("pod/{ns}/{p}"),
        _ => format!("pod/{}", k.pod_uid),
    });
    let container = match (ep.k8s.as_ref().and_then(|k| k.container_name.as_ref()), &ep.container) {
        (Some(n), Some(c)) => format!("container {n} ({}): ", &c.id[..12.min(c.id.len())]),
        (Some(n), None) => format!("container {n}: "),
        (None, Some(c)) => format!("container {}: ", &c.id[..12.min(c.id.len())]),
        (None, None) => String::new(),
    };
    let cgroup = ep.cgroup().unwrap_or("-");
    let (reason, object, message) = if ep.killer == Killer::OomGuard {
        let policy = ep
            .snapshots
            .iter()
            .find_map(|s| s.guard.as_ref()?.policy.clone())
            .unwrap_or_default();
        let reason = if ep.victims.is_empty() {
            "OomGuardThresholdReached"
        } else if policy.eq_ignore_ascii_case("process") {
            "OomGuardKillProcess"
        } else {
            "OomGuardKillContainer"
        };
        (
            reason.to_owned(),
            pod_object.unwrap_or(node),
            format!("{container}oom-guard killed {}{usage}{cause}", victim_words(ep)),
        )
    } else if ep.scope == Some(Scope::Memcg) {
        match pod_object {
            Some(pod) => (
                "OOMKilled".to_owned(),
                pod,
                format!("{container}Memory cgroup OOM, {}{usage}{cause}", victim_words(ep)),
            ),
            None => (
                "OOMKilling".to_owned(),
                format!("cgroup/{}", cgroup.trim_start_matches('/')),
                format!("Memory cgroup OOM, {}{usage}{cause}", victim_words(ep)),
            ),
        }
    } else {
        let scope = match ep.scope {
            Some(Scope::Global) | None => String::new(),
            Some(s) => format!(" ({} constraint)", s.as_str()),
        };
        (
            "SystemOOM".to_owned(),
            node,
            format!("System OOM encountered{scope}, {}{cause}", victim_words(ep)),
        )
    };
    let message = message + &guard_clause(ep);
    [time, "Warning".to_owned(), reason, object, message].map(|f| field(&f))
}

/// An episode's line of `events` (written by a [`super::LineSink`]).
pub(super) fn event_line(ep: &Episode, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.extend_from_slice(line(ep).join("\t").as_bytes());
    buf.push(b'\n');
    Ok(())
}
