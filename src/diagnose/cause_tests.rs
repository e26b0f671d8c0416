//! The causes of issue 18 and the summaries' fit to the report, each at
//! its edges: the kill line as the last source, and the causes beside the
//! largest part of memory.

use super::*;
use crate::model::Victim;

const MIB: u64 = 1 << 20;

/// A memcg OOM of which only the `memory:` line and the kill line survive
/// (a `dmesg | grep` paste).
fn grep_paste(usage: u64, limit: u64, anon: u64, file: u64, shmem: u64) -> Episode {
    let mut e = super::tests::memcg(usage, limit);
    e.victims = vec![Victim {
        pid: 7,
        comm: "java".into(),
        anon_rss_bytes: Some(anon),
        file_rss_bytes: Some(file),
        shmem_rss_bytes: Some(shmem),
        ..Victim::default()
    }];
    e
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

fn global(anon: u64, ram: u64) -> Episode {
    use crate::model::MemInfo;
    let counters = [
        ("active_anon", anon),
        ("inactive_anon", 0),
        ("active_file", MIB),
        ("inactive_file", 0),
        ("free", MIB),
    ];
    Episode {
        scope: Some(Scope::Global),
        mem_info: Some(MemInfo {
            counters_bytes: counters.iter().map(|(k, v)| (Text::new(k), *v)).collect(),
            ram_bytes: Some(ram),
            ..MemInfo::default()
        }),
        victims: vec![Victim {
            pid: 7,
            comm: "java".into(),
            ..Victim::default()
        }],
        complete: true,
        ..Episode::default()
    }
}

#[test]
fn no_killable_panic_is_not_panic_on_oom() {
    let mut e = global(90 * MIB, 100 * MIB);
    e.victims.clear();
    e.panic = Some("Out of memory and no killable processes...".into());
    explain(&mut e);
    assert!(e.no_killable);
    let d = e.diagnosis.expect("diagnosed");
    assert!(
        !d.advice.iter().any(|a| a.contains("panic_on_oom is set")),
        "{:?}",
        d.advice
    );
    assert!(d.advice[0].contains("no process could be killed"), "{:?}", d.advice);
    assert!(
        !d.advice.iter().any(|a| a.contains("raise the limit")),
        "{:?}",
        d.advice
    );
    e = global(90 * MIB, 100 * MIB);
    e.panic = Some("Out of memory: system-wide panic_on_oom is enabled".into());
    explain(&mut e);
    assert!(!e.no_killable);
    assert!(e.diagnosis.expect("diagnosed").advice[0].contains("vm.panic_on_oom is set"));
}

#[test]
fn global_ooms_have_no_limit_to_raise_or_memory_high() {
    let e = global(90 * MIB, 100 * MIB);
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Anon);
    for a in &d.advice {
        assert!(!a.to_lowercase().contains("raise the limit"), "{a}");
        assert!(!a.contains("memory.high"), "{a}");
    }
}

#[test]
fn memory_high_only_where_the_report_shows_cgroup_v2() {
    let mut e = grep_paste(100 * MIB, 100 * MIB, 99 * MIB, 0, 0);
    // Neither version shown: no memory.high.
    assert!(!diagnose(&e).advice.iter().any(|a| a.contains("Set memory.high")));
    // A 3.10 kernel has no cgroup v2.
    e.kernel = Some("3.10.0-1160.el7.x86_64".into());
    assert!(diagnose(&e)
        .advice
        .iter()
        .any(|a| a.contains("cgroup v1 has no memory.high")));
    e.kernel = None;
    e.swap = Some(crate::model::Counter {
        usage_bytes: 0,
        limit_bytes: None,
        unlimited: true,
        failcnt: 0,
    });
    assert!(diagnose(&e).advice.iter().any(|a| a.starts_with("Set memory.high")));
}

#[test]
fn node_allocatable_oom_advises_pod_limits_and_eviction() {
    let mut e = grep_paste(100 * MIB, 100 * MIB, 99 * MIB, 0, 0);
    e.memcg.as_mut().unwrap().path = Some("/kubepods.slice".into());
    let d = diagnose(&e);
    assert!(d.advice[0].contains("every pod a memory limit"), "{:?}", d.advice);
    assert!(d.advice.iter().any(|a| a.contains("eviction")), "{:?}", d.advice);
    assert!(
        !d.advice.iter().any(|a| a.contains("raise the limit")),
        "{:?}",
        d.advice
    );
}

#[test]
fn swap_of_the_top_task_and_exhausted_swap_are_said() {
    let mut e = global(90 * MIB, 100 * MIB);
    e.tasks = vec![crate::model::TaskRow {
        pid: 7,
        rss_bytes: Some(80 * MIB),
        swap_bytes: Some(200 * MIB),
        name: "java".into(),
        ..Default::default()
    }];
    let mi = e.mem_info.as_mut().unwrap();
    mi.total_swap_bytes = Some(200 * MIB);
    mi.free_swap_bytes = Some(4 * MIB);
    let d = diagnose(&e);
    assert!(
        d.summary
            .contains("it also had 200.0 MiB in swap, and swap was exhausted (free swap 4.0 MiB of 200.0 MiB)"),
        "{}",
        d.summary
    );
    // Above 2% of swap free, swap is not exhausted.
    e.mem_info.as_mut().unwrap().free_swap_bytes = Some(5 * MIB);
    assert!(!diagnose(&e).summary.contains("exhausted"));
}

#[test]
fn constraint_none_with_a_memcg_counter_is_the_cgroups_memory() {
    let mut e = grep_paste(100 * MIB, 100 * MIB, 99 * MIB, 0, 0);
    e.scope = Some(Scope::Global);
    e.constraint = Some("CONSTRAINT_NONE".into());
    let d = diagnose(&e);
    assert!(d.summary.contains("the cgroup's memory"), "{}", d.summary);
    assert!(!d.summary.contains("machine"), "{}", d.summary);
}

fn counter(usage: u64, limit: Option<u64>) -> crate::model::Counter {
    crate::model::Counter {
        usage_bytes: usage,
        limit_bytes: limit,
        unlimited: limit.is_none(),
        failcnt: 0,
    }
}

fn with_trigger(mut e: Episode, comm: &str, pid: u32) -> Episode {
    e.trigger = Some(crate::model::Trigger {
        comm: Some(comm.into()),
        pid: Some(pid),
        order: Some(0),
        ..Default::default()
    });
    e
}

#[test]
fn limit_lowered_needs_usage_over_the_limit_and_a_writer() {
    // The 6.1 VM capture: usage 65772 kB over a 32768 kB limit, sh (94)
    // outside /shrink.
    let mut e = with_trigger(grep_paste(65772 * 1024, 32768 * 1024, 64 * MIB, 0, 0), "sh", 94);
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::LimitLowered);
    assert!(d.summary.contains("sh (94)"), "{}", d.summary);
    assert!(d.summary.contains("It held:"), "{}", d.summary);
    // A task of the cgroup invoking it is no writer, whatever its usage.
    e = with_trigger(grep_paste(65772 * 1024, 32768 * 1024, 64 * MIB, 0, 0), "alloc", 7);
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    // Outside the cgroup by its task table.
    e = with_trigger(
        grep_paste(65772 * 1024, 32768 * 1024, 64 * MIB, 0, 0),
        "vpa-updater",
        94,
    );
    e.tasks = vec![crate::model::TaskRow {
        pid: 7,
        rss_bytes: Some(64 * MIB),
        name: "java".into(),
        ..Default::default()
    }];
    assert_eq!(diagnose(&e).cause, Cause::LimitLowered);
    // Over by a charge's overshoot (1 MiB at most) is not a lowered limit.
    e = with_trigger(grep_paste(200 * MIB + MIB, 200 * MIB, 199 * MIB, 0, 0), "sh", 94);
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    // Over by 1% of a large limit is not either; above it is.
    e = with_trigger(grep_paste(1010 * MIB, 1000 * MIB, 999 * MIB, 0, 0), "sh", 94);
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    e = with_trigger(grep_paste(1011 * MIB, 1000 * MIB, 999 * MIB, 0, 0), "sh", 94);
    assert_eq!(diagnose(&e).cause, Cause::LimitLowered);
}

#[test]
fn memsw_binds_only_with_memory_below_its_limit() {
    let mut e = grep_paste(60 * MIB, 100 * MIB, 59 * MIB, 0, 0);
    e.memsw = Some(counter(100 * MIB, Some(100 * MIB)));
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Memsw);
    assert!(
        d.summary
            .contains("memory+swap usage 100.0 MiB at its limit of 100.0 MiB"),
        "{}",
        d.summary
    );
    assert!(d.summary.contains("60% of that limit"), "{}", d.summary);
    // memory+swap at 94% of its limit is not at it.
    e.memsw = Some(counter(94 * MIB, Some(100 * MIB)));
    assert_ne!(diagnose(&e).cause, Cause::Memsw);
    // Both at their limits (Docker and kubelet set them equal): memory bound.
    let mut e = grep_paste(100 * MIB, 100 * MIB, 99 * MIB, 0, 0);
    e.memsw = Some(counter(100 * MIB, Some(100 * MIB)));
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    // An unlimited memory+swap never binds.
    e.memcg.as_mut().unwrap().usage_bytes = Some(50 * MIB);
    e.memsw = Some(counter(50 * MIB, None));
    assert_ne!(diagnose(&e).cause, Cause::Memsw);
}

#[test]
fn constrained_needs_memory_free_elsewhere() {
    let mut e = with_trigger(global(80 * MIB, 1000 * MIB), "redis-server", 9);
    e.scope = Some(Scope::Mempolicy);
    let free = |e: &mut Episode, v: u64| {
        e.mem_info.as_mut().unwrap().counters_bytes.insert("free".into(), v);
    };
    free(&mut e, 100 * MIB);
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Constrained);
    assert!(d.summary.contains("memory policy"), "{}", d.summary);
    assert!(d.summary.contains("10% of its 1000.0 MiB of RAM"), "{}", d.summary);
    free(&mut e, 99 * MIB);
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    // A global OOM with as much free is no constraint.
    free(&mut e, 500 * MIB);
    e.scope = Some(Scope::Global);
    assert_ne!(diagnose(&e).cause, Cause::Constrained);
}

#[test]
fn unevictable_at_half_of_the_total() {
    let mut e = global(100 * MIB, 1000 * MIB);
    let mi = e.mem_info.as_mut().unwrap();
    mi.counters_bytes.insert("unevictable".into(), 500 * MIB);
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Unevictable);
    assert_eq!(d.evidence.share, Some(0.5));
    assert!(d.summary.contains("50% of its 1000.0 MiB of RAM"), "{}", d.summary);
    e.mem_info
        .as_mut()
        .unwrap()
        .counters_bytes
        .insert("unevictable".into(), 499 * MIB);
    assert_eq!(diagnose(&e).cause, Cause::Anon);
    // A cgroup's, from its stats (v1 total_unevictable preferred).
    let mut e = grep_paste(100 * MIB, 100 * MIB, 10 * MIB, 0, 0);
    e.memcg_stats = vec![crate::model::MemcgStats {
        path: "/p".into(),
        format: crate::model::StatsFormat::V1,
        stats: [
            ("rss", 95 * MIB),
            ("cache", MIB),
            ("unevictable", 0),
            ("total_unevictable", 60 * MIB),
        ]
        .iter()
        .map(|(k, v)| (Text::new(k), Some(*v)))
        .collect(),
    }];
    assert_eq!(diagnose(&e).cause, Cause::Unevictable);
}

#[test]
fn a_share_of_unsplit_rss_says_so() {
    let mut e = grep_paste(100 * MIB, 100 * MIB, 0, 0, 0);
    e.victims[0].pid = 8;
    e.victims[0].anon_rss_bytes = None;
    e.memcg_stats = vec![crate::model::MemcgStats {
        path: "/p".into(),
        format: crate::model::StatsFormat::V1,
        stats: [("rss", 95 * MIB), ("cache", MIB)]
            .iter()
            .map(|(k, v)| (Text::new(k), Some(*v)))
            .collect(),
    }];
    e.tasks = vec![crate::model::TaskRow {
        pid: 7,
        rss_bytes: Some(60 * MIB),
        name: "java".into(),
        ..Default::default()
    }];
    let d = diagnose(&e);
    assert!(d.summary.contains("its whole RSS"), "{}", d.summary);
    // Split by a 6.8+ row: its anonymous and shared part, said plainly.
    e.tasks[0].rss_anon_bytes = Some(55 * MIB);
    e.tasks[0].rss_file_bytes = Some(5 * MIB);
    let d = diagnose(&e);
    assert!(!d.summary.contains("its whole RSS"), "{}", d.summary);
    assert!(d.summary.contains("alone held 55.0 MiB"), "{}", d.summary);
}

#[test]
fn kernel_memory_advice_fits_the_cgroup_version() {
    let mut e = grep_paste(100 * MIB, 100 * MIB, 0, 0, 0);
    e.victims[0].anon_rss_bytes = None;
    e.memcg_stats = vec![crate::model::MemcgStats {
        path: "/p".into(),
        format: crate::model::StatsFormat::V2,
        stats: [("anon", 5 * MIB), ("file", MIB), ("kernel", 90 * MIB)]
            .iter()
            .map(|(k, v)| (Text::new(k), Some(*v)))
            .collect(),
    }];
    e.swap = Some(counter(0, None));
    let d = diagnose(&e);
    assert_eq!(d.cause, Cause::Kernel);
    assert!(
        d.advice.iter().any(|a| a.contains("cgroup v2 already counts")),
        "{:?}",
        d.advice
    );
    e.swap = None;
    e.memsw = Some(counter(100 * MIB, None));
    assert!(diagnose(&e).advice.iter().any(|a| a.contains("kmem limit")));
}

#[test]
fn a_thread_of_a_task_in_the_cgroup_is_not_outside_it() {
    // A forced charge's overshoot beyond the margin, invoked by a thread
    // (its pid not a row) of python3, which is in the table: no writer.
    let mut e = with_trigger(grep_paste(1100 * MIB, 1000 * MIB, 1000 * MIB, 0, 0), "python3", 95);
    e.tasks = vec![crate::model::TaskRow {
        pid: 7,
        rss_bytes: Some(1000 * MIB),
        name: "python3".into(),
        ..Default::default()
    }];
    assert_eq!(diagnose(&e).cause, Cause::Anon);
}

#[test]
fn hugetlb_reservations_name_the_cause_from_half_of_ram() {
    let gib = 1u64 << 30;
    let ep = |reserved: u64, free: u64| {
        let mut e = global(gib, 8 * gib);
        let mi = e.mem_info.as_mut().expect("Mem-Info");
        mi.hugetlb_bytes = Some(reserved);
        mi.hugetlb_free_bytes = Some(free);
        e
    };
    // 4 of 8 GiB reserved, 3 free: the cause, and the pool is too big.
    let d = diagnose(&ep(4 * gib, 3 * gib));
    assert_eq!(d.cause, Cause::Hugetlb, "{}", d.summary);
    assert!(d.advice[0].starts_with("Lower vm.nr_hugepages"), "{:?}", d.advice);
    // In use: the advice says so.
    let d = diagnose(&ep(4 * gib, 0));
    assert_eq!(d.cause, Cause::Hugetlb);
    assert!(d.advice[0].starts_with("The huge pages are in use"), "{:?}", d.advice);
    // Just under half: the largest part decides.
    assert_eq!(diagnose(&ep(4 * gib - 4096, 3 * gib)).cause, Cause::Anon);
}
