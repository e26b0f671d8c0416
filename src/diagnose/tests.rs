//! Diagnosis rules on small episodes, thresholds tested at their edges.

use super::*;
use crate::model::{Counter, MemInfo, Memcg, MemcgStats, StatsFormat, TaskRow, Trigger, Victim};
use std::collections::BTreeMap;

const MIB: u64 = 1 << 20;

/// A memcg OOM at `usage` of `limit`, one victim and nothing else.
pub(super) fn memcg(usage: u64, limit: u64) -> Episode {
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
            comm: "w".into(),
            ..Victim::default()
        }],
        complete: true,
        ..Episode::default()
    }
}

fn stats(format: StatsFormat, kv: &[(&str, u64)]) -> MemcgStats {
    MemcgStats {
        path: "/p".into(),
        format,
        stats: kv
            .iter()
            .map(|(k, v)| (Text::new(k), Some(*v)))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn task(pid: u32, rss: u64) -> TaskRow {
    TaskRow {
        pid,
        rss_bytes: Some(rss),
        name: format!("t{pid}").into(),
        ..TaskRow::default()
    }
}

#[test]
fn seed_004_without_stats_is_write_cache() {
    // Seed 004: usage = limit = 585936 kB, three tasks with 1 + 5758 + 4380
    // pages of RSS, kmem 24148 kB, no stats lines.
    let mut e = memcg(585936 * 1024, 585936 * 1024);
    e.kmem = Some(Counter {
        usage_bytes: 24148 * 1024,
        limit_bytes: None,
        unlimited: true,
        failcnt: 0,
    });
    e.tasks = vec![task(17998, 4096), task(18524, 5758 * 4096), task(3422, 4380 * 4096)];
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::WriteCache);
    assert_eq!(d.evidence.source, Some(Source::TaskTable));
    assert_eq!(d.evidence.task_rss_bytes, Some(10139 * 4096));
    assert_eq!(d.evidence.unattributed_bytes, Some(585936 * 1024 - 10139 * 4096));
    assert!(
        d.summary.contains("w (7) was killed for memory it did not use"),
        "{}",
        d.summary
    );
    assert!(d.advice[0].contains("O_DIRECT"));
}

#[test]
fn rss_explaining_half_is_the_edge() {
    let mut e = memcg(100 * MIB, 100 * MIB);
    e.tasks = vec![task(1, 50 * MIB)];
    assert_eq!(
        diagnose(&e).cause,
        Cause::WriteCache,
        "50% explained: still the cache's doing"
    );
    e.tasks = vec![task(1, 50 * MIB + 4096)];
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    // Usage below the limit: the task table alone does not decide.
    let mut e = memcg(90 * MIB, 100 * MIB);
    e.tasks = vec![task(1, 10 * MIB)];
    assert_eq!(diagnose(&e).cause, Cause::Unknown);
}

#[test]
fn dirty_share_of_cache_edge() {
    let mk = |dirty: u64| {
        let mut e = memcg(100 * MIB, 100 * MIB);
        e.memcg_stats = vec![stats(
            StatsFormat::V1,
            &[
                ("total_cache", 60 * MIB),
                ("total_rss", 40 * MIB),
                ("total_dirty", dirty),
                ("total_writeback", 0),
            ],
        )];
        diagnose(&e).cause
    };
    assert_eq!(mk(18 * MIB), Cause::WriteCache, "30% of cache");
    // 9 MiB is 15% of cache and 9% of usage: under both thresholds.
    assert_eq!(mk(9 * MIB), Cause::PageCache);
    // 10 MiB: 16.7% of cache but 10% of usage.
    assert_eq!(mk(10 * MIB), Cause::WriteCache);
}

#[test]
fn v2_keys_shmem_and_kernel() {
    let mut e = memcg(100 * MIB, 100 * MIB);
    e.memcg_stats = vec![stats(
        StatsFormat::V2,
        &[
            ("anon", 10 * MIB),
            ("file", 85 * MIB),
            ("shmem", 80 * MIB),
            ("kernel", 5 * MIB),
        ],
    )];
    let d = diagnose(&e);
    assert_eq!(
        (d.cause, d.evidence.shmem_bytes, d.evidence.file_bytes),
        (Cause::Shmem, Some(80 * MIB), Some(5 * MIB))
    );
    e.memcg_stats = vec![stats(
        StatsFormat::V2,
        &[
            ("anon", 10 * MIB),
            ("file", 5 * MIB),
            ("slab_reclaimable", 30 * MIB),
            ("slab_unreclaimable", 40 * MIB),
            ("sock", 10 * MIB),
        ],
    )];
    let d = diagnose(&e);
    assert_eq!((d.cause, d.evidence.kernel_bytes), (Cause::Kernel, Some(80 * MIB)));
}

#[test]
fn anon_names_the_process() {
    let mut e = memcg(100 * MIB, 100 * MIB);
    e.memcg_stats = vec![stats(StatsFormat::V1, &[("rss", 95 * MIB), ("cache", 5 * MIB)])];
    e.tasks = vec![task(1, 90 * MIB), task(2, 5 * MIB)];
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Anon);
    assert!(
        d.summary.contains(
            "95% of its 100.0 MiB usage was anonymous; t1 (1) alone held 90.0 MiB of it (90% of its 100.0 MiB usage; its whole RSS"
        ),
        "{}",
        d.summary
    );
}

#[test]
fn oneline_blocks_sum_over_the_hierarchy() {
    let mut e = memcg(100 * MIB, 100 * MIB);
    e.memcg_stats = vec![
        stats(StatsFormat::V1Oneline, &[("cache", 0), ("rss", 0)]),
        stats(
            StatsFormat::V1Oneline,
            &[("cache", 70 * MIB), ("rss", 10 * MIB), ("dirty", 40 * MIB)],
        ),
    ];
    let d = diagnose(&e);
    assert_eq!((d.cause, d.evidence.file_bytes), (Cause::WriteCache, Some(70 * MIB)));
}

#[test]
fn global_fragmentation_manual_and_unknown() {
    let mut e = Episode {
        scope: Some(Scope::Global),
        trigger: Some(Trigger {
            order: Some(3),
            ..Trigger::default()
        }),
        mem_info: Some(MemInfo {
            counters_bytes: [
                ("free", 500 * MIB),
                ("active_anon", 3000 * MIB),
                ("inactive_anon", 100 * MIB),
                ("shmem", 0),
            ]
            .iter()
            .map(|(k, v)| (Text::new(k), *v))
            .collect(),
            ram_bytes: Some(4096 * MIB),
            ..MemInfo::default()
        }),
        ..Episode::default()
    };
    assert_eq!(diagnose(&e).cause, Cause::Fragmentation);
    e.trigger = Some(Trigger {
        order: Some(0),
        ..Trigger::default()
    });
    assert_eq!(diagnose(&e).cause, Cause::Anon, "order 0 needs no contiguous pages");
    // Free memory at the edge: 2% of RAM is fragmentation, just under is not.
    e.trigger = Some(Trigger {
        order: Some(1),
        ..Trigger::default()
    });
    let ram = 4096 * MIB;
    let at_edge = (FRAGMENTED_FREE_SHARE * ram as f64).ceil() as u64;
    e.mem_info
        .as_mut()
        .unwrap()
        .counters_bytes
        .insert("free".into(), at_edge);
    assert_eq!(diagnose(&e).cause, Cause::Fragmentation);
    e.mem_info
        .as_mut()
        .unwrap()
        .counters_bytes
        .insert("free".into(), at_edge - 4096);
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    e.manual = true;
    assert_eq!(diagnose(&e).cause, Cause::Manual);
    assert_eq!(diagnose(&Episode::default()).cause, Cause::Unknown);
}

#[test]
fn endings_without_a_kill_are_said() {
    let mut e = memcg(100 * MIB, 100 * MIB);
    e.tasks = vec![task(1, 90 * MIB)];
    e.victims.clear();
    e.no_killable = true;
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Anon);
    assert!(d.summary.contains("No process could be killed"), "{}", d.summary);
    assert!(d.advice[0].contains("-1000"));
    e.no_killable = false;
    e.panic = Some("Out of memory: system-wide panic_on_oom is enabled".into());
    assert!(diagnose(&e).advice[0].contains("panic_on_oom"));
}

#[test]
fn top_task_share_counts_charged_memory_only() {
    let mut e = memcg(32 * MIB, 32 * MIB);
    e.memcg_stats = vec![stats(StatsFormat::V1, &[("rss", 31 * MIB), ("cache", 0)])];
    let mut t = task(7, 38 * MIB);
    t.rss_anon_bytes = Some(31 * MIB);
    t.rss_file_bytes = Some(7 * MIB);
    t.rss_shmem_bytes = Some(0);
    e.tasks = vec![t];
    let d = diagnose(&e);
    let top = d.evidence.top_task.unwrap();
    assert_eq!(top.rss_bytes, 38 * MIB);
    assert_eq!(top.charged_bytes, 31 * MIB);
    assert_eq!(top.share, Some(0.969));
    // The summary's figure is the one the share is of, and names its base.
    assert!(
        d.summary
            .contains("t7 (7) alone held 31.0 MiB of it (97% of its 32.0 MiB usage)"),
        "{}",
        d.summary
    );
}

/// Issue 19: with no stats block, Σ task RSS (file RSS included, shared
/// pages counted per process) exceeded usage and the diagnosis said "119%
/// anonymous". Shares are of usage and never above 1; an old task table
/// with no RSS split takes the victim's split from its kill line.
#[test]
fn task_table_shares_never_exceed_one() {
    let mut e = memcg(32 * MIB, 32 * MIB);
    let mut a = task(7, 30 * MIB);
    a.rss_anon_bytes = Some(24 * MIB);
    a.rss_file_bytes = Some(6 * MIB);
    a.rss_shmem_bytes = Some(0);
    e.tasks = vec![a, task(8, 8 * MIB)];
    let d = diagnose(&e);
    assert_eq!(d.evidence.source, Some(Source::TaskTable));
    assert_eq!(d.evidence.task_rss_bytes, Some(38 * MIB));
    assert_eq!(d.evidence.anon_bytes, Some(32 * MIB), "24 + 8 charged, at most usage");
    assert_eq!(d.evidence.share, Some(1.0));
    // Too much RSS even when charged: capped at usage.
    let mut e = memcg(32 * MIB, 32 * MIB);
    e.tasks = vec![task(7, 30 * MIB), task(8, 8 * MIB)];
    e.victims = vec![Victim {
        pid: 7,
        comm: "t7".into(),
        anon_rss_bytes: Some(20 * MIB),
        file_rss_bytes: Some(10 * MIB),
        shmem_rss_bytes: Some(2 * MIB),
        ..Victim::default()
    }];
    let d = diagnose(&e);
    assert!(d.evidence.share.is_some_and(|s| s <= 1.0), "{:?}", d.evidence);
    let top = d.evidence.top_task.unwrap();
    assert_eq!(
        (top.pid, top.charged_bytes),
        (7, 22 * MIB),
        "the kill line's anon + shmem"
    );
    assert_eq!(top.share, Some(0.688));
    assert!(
        d.summary
            .contains("was the processes' resident memory (task table; the report has no stats)"),
        "{}",
        d.summary
    );
    // A task whose RSS alone is above the limit: its share stops at 1.
    let mut e = memcg(32 * MIB, 32 * MIB);
    e.tasks = vec![task(9, 40 * MIB)];
    let d = diagnose(&e);
    assert_eq!(d.evidence.top_task.unwrap().share, Some(1.0));
    assert_eq!(d.evidence.share, Some(1.0));
}

/// A review: the summary rounded an already rounded share (99.49% became
/// "100%" beside a chart saying 99%); a limit lowered below usage gave
/// "991 MiB (100% of the 512 MiB limit)"; a task whose RSS alone was more
/// than usage. Every percentage is now of the total, rounded once.
#[test]
fn percentages_are_rounded_once_and_of_one_base() {
    let mut e = memcg(33_554_432, 33_554_432);
    e.memcg_stats = vec![stats(StatsFormat::V1, &[("rss", 33_382_400), ("cache", 0)])];
    let d = diagnose(&e);
    assert_eq!(d.evidence.share, Some(0.995));
    assert!(
        d.summary.contains("99% of its 32.0 MiB usage was anonymous"),
        "{}",
        d.summary
    );
    // memory.max lowered to 512 MiB under 1 GiB of usage.
    let mut e = memcg(1024 * MIB, 512 * MIB);
    e.memcg_stats = vec![stats(StatsFormat::V2, &[("anon", 1000 * MIB), ("file", 20 * MIB)])];
    let mut t = task(42, 995 * MIB);
    t.rss_anon_bytes = Some(991 * MIB);
    t.rss_shmem_bytes = Some(0);
    e.tasks = vec![t];
    let d = diagnose(&e);
    assert!(
        d.summary
            .contains("alone held 991.0 MiB of it (97% of its 1.0 GiB usage)"),
        "{}",
        d.summary
    );
    assert!(d.evidence.top_task.unwrap().share.unwrap() <= 1.0);
    // RSS alone above usage, with no split to say what is charged.
    let mut e = memcg(32 * MIB, 32 * MIB);
    e.memcg_stats = vec![stats(StatsFormat::V1, &[("rss", 30 * MIB), ("cache", 2 * MIB)])];
    e.tasks = vec![task(9, 40 * MIB)];
    let d = diagnose(&e);
    assert!(
        d.summary.contains("t9 (9) had 40.0 MiB resident, more than all of it"),
        "{}",
        d.summary
    );
}
