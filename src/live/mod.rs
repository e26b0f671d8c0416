//! The live layer: the only code that reads `/dev/kmsg`, cgroupfs of the
//! running machine, and signals. It feeds the same pure pipeline as
//! `analyze` ([`pipeline`]) and writes everything it saw to a recording
//! ([`recording`]) so that `replay` reproduces a run offline, byte for byte.

#[cfg(target_os = "linux")]
pub mod guard;
pub mod k8s_events;
pub mod kmsg;
pub mod pipeline;
pub mod recording;
#[cfg(target_os = "linux")]
pub mod signal;
#[cfg(target_os = "linux")]
pub mod sys;
#[cfg(target_os = "linux")]
pub mod watch;
pub mod webhook;
