//! The live layer: the only code that reads `/dev/kmsg`, cgroupfs of the
//! running machine, and signals. It feeds the same pure pipeline as
//! `analyze` ([`crate::pipeline`]) and writes everything it saw to a recording
//! ([`crate::recording`]) so that `replay` reproduces a run offline, byte for byte.

pub mod cgroupfs;
#[cfg(target_os = "linux")]
pub mod counters;
#[cfg(target_os = "linux")]
pub mod guard;
pub mod k8s_events;
pub mod kmsg;
#[cfg(target_os = "linux")]
pub mod signal;
#[cfg(target_os = "linux")]
pub mod stream;
#[cfg(target_os = "linux")]
pub mod sys;
#[cfg(target_os = "linux")]
pub mod watch;
pub mod webhook;

/// This machine's host name (/proc/sys/kernel/hostname).
pub fn hostname() -> Option<String> {
    crate::input::read_lossy("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// The wall clock now, ISO 8601 UTC with microseconds: the live layer's
/// only clock reading for output (the core takes times from its input).
pub fn now_iso() -> Option<String> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(d.as_secs() as i64, d.subsec_nanos())?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}
