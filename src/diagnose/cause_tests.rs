//! The causes of issue 18 and the summaries' fit to the report, each at
//! its edges: the kill line as the last source, and the causes beside the
//! largest part of memory.

use super::*;
use crate::model::{Memcg, Victim};

const MIB: u64 = 1 << 20;

/// A memcg OOM of which only the `memory:` line and the kill line survive
/// (a `dmesg | grep` paste).
fn grep_paste(usage: u64, limit: u64, anon: u64, file: u64, shmem: u64) -> Episode {
    Episode {
        scope: Some(Scope::Memcg),
        memcg: Some(Memcg {
            path: Some("/p".into()),
            usage_bytes: Some(usage),
            limit_bytes: Some(limit),
            unlimited: false,
            failcnt: Some(1),
        }),
        victims: vec![Victim {
            pid: 7,
            comm: "java".into(),
            anon_rss_bytes: Some(anon),
            file_rss_bytes: Some(file),
            shmem_rss_bytes: Some(shmem),
            ..Victim::default()
        }],
        complete: true,
        ..Episode::default()
    }
}

#[test]
fn kill_line_anon_at_ninety_percent_decides() {
    let d = diagnose(&grep_paste(100 * MIB, 100 * MIB, 90 * MIB, MIB, 0));
    assert_eq!(d.cause, Cause::Anon);
    assert_eq!(d.evidence.source, Some(Source::KillLine));
    assert_eq!(d.evidence.share, Some(0.9));
    assert!(d.summary.contains("90% of its 100.0 MiB usage"), "{}", d.summary);
    assert!(d.summary.contains("kill line"), "{}", d.summary);
    assert_eq!(d.evidence.top_task.as_ref().map(|t| t.pid), Some(7));
}

#[test]
fn kill_line_below_ninety_percent_stays_unknown() {
    let d = diagnose(&grep_paste(100 * MIB, 100 * MIB, 89 * MIB, 0, 0));
    assert_eq!(d.cause, Cause::Unknown);
    assert_eq!(d.evidence.source, Some(Source::KillLine));
    assert!(d.summary.contains("too little to say"), "{}", d.summary);
}

#[test]
fn kill_line_needs_usage_at_the_limit() {
    // 94% of the limit is not at it: the OOM may have been of memory+swap.
    let d = diagnose(&grep_paste(94 * MIB, 100 * MIB, 94 * MIB, 0, 0));
    assert_eq!(d.cause, Cause::Unknown);
    assert_eq!(d.evidence.source, None);
    let d = diagnose(&grep_paste(95 * MIB, 100 * MIB, 95 * MIB, 0, 0));
    assert_eq!(d.cause, Cause::Anon);
}

#[test]
fn kill_line_shmem_and_file_when_they_dominate() {
    let d = diagnose(&grep_paste(100 * MIB, 100 * MIB, MIB, 0, 95 * MIB));
    assert_eq!(d.cause, Cause::Shmem);
    assert!(d.summary.contains("kill line"), "{}", d.summary);
    let d = diagnose(&grep_paste(100 * MIB, 100 * MIB, MIB, 92 * MIB, 0));
    assert_eq!(d.cause, Cause::PageCache);
    assert!(d.summary.contains("file-rss"), "{}", d.summary);
}

#[test]
fn kill_line_never_decides_a_global_oom() {
    let mut e = grep_paste(100 * MIB, 100 * MIB, 99 * MIB, 0, 0);
    e.memcg = None;
    e.scope = Some(Scope::Global);
    assert_eq!(diagnose(&e).cause, Cause::Unknown);
}
