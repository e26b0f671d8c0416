//! Builder tests: the assembly rules on small reports. Whole real captures
//! are covered by the corpus tests (tests/corpus.rs).

use super::*;
use crate::model::Scope;
use std::borrow::Cow;

/// Feed `(uptime µs, text)` lines, one per physical line, from one host.
fn build(lines: &[(Option<u64>, &str)]) -> Vec<Episode> {
    build_hosts(&lines.iter().map(|(u, t)| (None, *u, *t)).collect::<Vec<_>>())
}

fn build_hosts(lines: &[(Option<&str>, Option<u64>, &str)]) -> Vec<Episode> {
    let mut b = Builder::new("t.log", BuilderOptions::default());
    let mut out = Vec::new();
    for (i, (host, us, text)) in lines.iter().enumerate() {
        let stamp = Stamp {
            uptime_us: *us,
            host: host.map(str::to_owned),
            ..Stamp::default()
        };
        b.push(
            i as u64 + 1,
            &LogLine {
                stamp,
                text: Cow::Borrowed(text),
            },
        );
        out.extend(std::iter::from_fn(|| b.pop_ready()));
    }
    b.finish();
    out.extend(std::iter::from_fn(|| b.pop_ready()));
    out
}

// The report captured in this lab (6.18.44, cgroup v1), stack trimmed.
const REAL_6_18: &[&str] = &[
    "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
    "CPU: 1 UID: 0 PID: 1887 Comm: python3 Not tainted 6.18.44-fc-v769 #1 PREEMPT(none) ",
    "Call Trace:",
    " <TASK>",
    " dump_stack_lvl+0x59/0x90",
    " </TASK>",
    "memory: usage 32768kB, limit 32768kB, failcnt 19",
    "memory+swap: usage 32768kB, limit 9007199254740988kB, failcnt 0",
    "kmem: usage 64kB, limit 9007199254740988kB, failcnt 0",
    "Memory cgroup stats for /process_api/442c/oomctl-probe:",
    "cache 0",
    "rss 33488896",
    "total_rss 33488896",
    "Tasks state (memory values in pages):",
    "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
    "[   1887]     0  1887    12365    11564     9888     1676         0   143360        0             0 python3",
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/process_api/442c/oomctl-probe,task_memcg=/process_api/442c/oomctl-probe,task=python3,pid=1887,uid=0",
    "Memory cgroup out of memory: Killed process 1887 (python3) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0",
];

fn stamped(lines: &[&'static str], start_us: u64) -> Vec<(Option<u64>, &'static str)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (Some(start_us + i as u64 * 10), *l))
        .collect()
}

#[test]
fn real_6_18_report_is_one_complete_episode() {
    let eps = build(&stamped(REAL_6_18, 5_636_239_402));
    assert_eq!(eps.len(), 1);
    let e = &eps[0];
    assert!(e.complete);
    assert_eq!(e.scope, Some(Scope::Memcg));
    assert!(!e.scope_inferred);
    assert_eq!(e.kernel.as_deref(), Some("6.18.44-fc-v769"));
    let t = e.trigger.as_ref().unwrap();
    assert_eq!(
        (t.comm.as_deref(), t.pid, t.order),
        (Some("python3"), Some(1887), Some(0))
    );
    let m = e.memcg.as_ref().unwrap();
    assert_eq!(m.path.as_deref(), Some("/process_api/442c/oomctl-probe"));
    assert_eq!(
        (m.usage_bytes, m.limit_bytes, m.failcnt),
        (Some(33554432), Some(33554432), Some(19))
    );
    assert_eq!(e.memcg_stats[0].stats["rss"], Some(33488896));
    assert_eq!(e.memcg_stats[0].format, StatsFormat::V1);
    assert_eq!(e.tasks.len(), 1);
    assert_eq!(e.page_size, 4096);
    assert_eq!(e.page_size_source, crate::model::PageSizeSource::Inferred);
    assert_eq!(e.tasks[0].total_vm_bytes, Some(12365 * 4096));
    assert_eq!(e.victims[0].pid, 1887);
    assert_eq!((e.source.first_line, e.source.last_line), (1, REAL_6_18.len() as u64));
    assert_eq!(e.time.uptime_s, Some(5636.239402));
}

#[test]
fn truncated_report_is_not_merged_with_the_next() {
    // cAdvisor's bug: a report cut before its kill swallowed the next one.
    let mut lines = stamped(&REAL_6_18[..14], 1_000_000);
    lines.extend(stamped(REAL_6_18, 2_000_000));
    let eps = build(&lines);
    assert_eq!(eps.len(), 2);
    assert!(!eps[0].complete);
    assert!(eps[0].victims.is_empty());
    assert!(eps[1].complete);
    assert_eq!(eps[1].source.first_line, 15);
}

#[test]
fn headerless_fragment_is_still_an_episode() {
    let eps = build(&stamped(&REAL_6_18[13..], 1_000_000));
    assert_eq!(eps.len(), 1);
    assert!(eps[0].complete);
    assert!(eps[0].trigger.as_ref().is_none_or(|t| t.comm.is_none()));
    assert_eq!(eps[0].victims[0].comm, "python3");
}

#[test]
fn lone_kill_lines_are_separate_episodes_unless_group() {
    let kill = |pid: u32| -> String {
        format!("Memory cgroup out of memory: Killed process {pid} (w) total-vm:4kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0")
    };
    let (a, b) = (kill(10), kill(11));
    let eps = build(&[(Some(1), a.as_str()), (Some(2), b.as_str())]);
    assert_eq!(eps.len(), 2, "rate-limited reports print only their kill lines");
    let g = "Tasks in /k/pod are going to be killed due to memory.oom.group set";
    let eps = build(&[(Some(1), g), (Some(2), a.as_str()), (Some(3), b.as_str())]);
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].victims.len(), 2);
    assert_eq!(eps[0].group_kill.as_deref(), Some("/k/pod"));
    // The kernel's own order (mm/oom_kill.c oom_kill_process): the chosen
    // victim's kill, then the group line, then the other members.
    let c = kill(12);
    let eps = build(&[
        (Some(1), a.as_str()),
        (Some(2), g),
        (Some(3), b.as_str()),
        (Some(4), c.as_str()),
    ]);
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].victims.iter().map(|v| v.pid).collect::<Vec<_>>(), [10, 11, 12]);
    assert_eq!(eps[0].group_kill.as_deref(), Some("/k/pod"));
}

#[test]
fn doubled_capture_counts_once() {
    let mut lines = Vec::new();
    for l in stamped(REAL_6_18, 7_000_000) {
        lines.push(l);
        lines.push(l);
    }
    let eps = build(&lines);
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].tasks.len(), 1);
    assert_eq!(eps[0].victims.len(), 1);
}

#[test]
fn sacrifice_child_and_late_reaper() {
    let lines: &[(Option<u64>, &str)] = &[
        (
            Some(1),
            "java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0",
        ),
        (Some(2), "Task in /a/b killed as a result of limit of /a"),
        (Some(3), "memory: usage 1024kB, limit 1024kB, failcnt 3"),
        (Some(4), "Memory cgroup stats for /a: cache:0KB rss:1024KB"),
        (
            Some(5),
            "Memory cgroup out of memory: Kill process 100 (java) score 900 or sacrifice child",
        ),
        (
            Some(6),
            "Killed process 101 (worker) total-vm:8kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB",
        ),
        (
            Some(7),
            "sh invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0",
        ),
        (
            Some(8),
            "oom_reaper: reaped process 101 (worker), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
        ),
    ];
    let eps = build(lines);
    assert_eq!(eps.len(), 2);
    let v = &eps[0].victims[0];
    assert_eq!((v.pid, v.reason.as_deref()), (101, Some("Memory cgroup out of memory")));
    assert_eq!(v.selected.as_ref().map(|s| (s.pid, s.score)), Some((100, Some(900))));
    assert!(
        v.reaped.is_some(),
        "reaper line after the next header still finds its victim"
    );
    assert_eq!(eps[0].source.last_line, 8);
    assert_eq!(eps[0].memcg.as_ref().unwrap().path.as_deref(), Some("/a"));
    assert_eq!(eps[0].task_memcg.as_deref(), Some("/a/b"));
    assert_eq!(eps[0].memcg_stats[0].format, StatsFormat::V1Oneline);
    assert_eq!(eps[0].scope, Some(Scope::Memcg));
    assert!(eps[0].scope_inferred);
    assert!(!eps[1].complete);
}

#[test]
fn time_gap_and_unrelated_run_end_a_report() {
    let k = "Killed process 5 (x) total-vm:4kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB";
    let h = REAL_6_18[0];
    let eps = build(&[(Some(1_000_000), h), (Some(1_000_000 + MAX_GAP_US + 1), k)]);
    assert_eq!(eps.len(), 2, "a kill an hour later is not this header's");
    let mut lines = vec![(None, h)];
    lines.extend(std::iter::repeat_n(
        (None, "EXT4-fs: noise"),
        MAX_UNRELATED_RUN as usize + 1,
    ));
    lines.push((None, k));
    assert_eq!(build(&lines).len(), 2);
}

#[test]
fn hosts_are_kept_apart() {
    let k = "Out of memory: Killed process 5 (x) total-vm:4kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB";
    let lines = [
        (Some("a"), None, REAL_6_18[0]),
        (Some("b"), None, REAL_6_18[0]),
        (Some("b"), None, k),
        (Some("a"), None, k),
    ];
    let eps = build_hosts(&lines);
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0].host.as_deref(), Some("a"));
    assert_eq!(
        eps[0].source,
        crate::model::Source {
            file: "t.log".into(),
            first_line: 1,
            last_line: 4
        }
    );
    assert!(eps.iter().all(|e| e.complete));
}

#[test]
fn manual_no_killable_and_panic() {
    let eps = build(&[
        (None, "sysrq: Manual OOM execution"),
        (
            None,
            "kworker/0:1 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=-1, oom_score_adj=0",
        ),
        (None, "Mem-Info:"),
        (None, "active_anon:10 inactive_anon:0 isolated_anon:0"),
        (None, "Out of memory and no killable processes..."),
        (None, "Kernel panic - not syncing: System is deadlocked on memory"),
    ]);
    assert_eq!(eps.len(), 1);
    let e = &eps[0];
    assert!(e.manual && e.no_killable && e.complete);
    assert_eq!(e.scope, Some(Scope::Global));
    assert_eq!(e.panic.as_deref(), Some("System is deadlocked on memory"));
    assert_eq!(e.mem_info.as_ref().unwrap().counters_bytes["active_anon"], 40960);
}

#[test]
fn control_characters_are_escaped() {
    use crate::model::Text;
    assert_eq!(Text::new("a\u{1b}[31mb"), "a\\x1b[31mb");
    assert_eq!(Text::new("x\u{9b}y"), "x\\xc2\\x9by");
    assert_eq!(Text::new("plain"), "plain");
}

// Issue 13: fragments and orphan lines, one test per shape.

fn texts(lines: &[&str]) -> Vec<Episode> {
    build(
        &lines
            .iter()
            .enumerate()
            .map(|(i, t)| (Some(1_000_000 + i as u64), *t))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn a_dump_stack_line_names_the_trigger_of_a_headerless_report() {
    for cpu in [
        "CPU: 3 PID: 4711 Comm: java Not tainted 5.15.0-91-generic #101-Ubuntu",
        "CPU: 3 UID: 0 PID: 4711 Comm: java Not tainted 6.12.38+deb13-amd64 #1",
        "Pid: 4711, comm: java Tainted: G W 2.6.32-754.el6.x86_64 #1",
    ] {
        let eps = texts(&[
            cpu,
            "Call Trace:",
            " mem_cgroup_out_of_memory+0xc0/0x110",
            " try_charge_memcg+0x422/0x6f0",
        ]);
        assert_eq!(eps.len(), 1, "{cpu}");
        let t = eps[0].trigger.as_ref().unwrap();
        assert_eq!((t.comm.as_deref(), t.pid), (Some("java"), Some(4711)));
        // No oom-kill: line: the scope from the trace, inferred.
        assert_eq!((eps[0].scope, eps[0].scope_inferred), (Some(Scope::Memcg), true));
        assert!(!eps[0].complete);
    }
}

#[test]
fn a_global_trace_and_a_panic_alone() {
    let eps = texts(&[
        "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
        "CPU: 3 UID: 1000 PID: 4711 Comm: java Not tainted 6.12.38+deb13-amd64 #1",
        "Call Trace:",
        " panic+0x10d/0x2e9",
        " out_of_memory.cold+0x63/0x7e",
        " __alloc_pages_slowpath.constprop.0+0xbcc/0xc90",
        "---[ end Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled ]---",
    ]);
    assert_eq!(eps.len(), 1);
    let e = &eps[0];
    assert_eq!(e.trigger.as_ref().and_then(|t| t.pid), Some(4711));
    assert_eq!((e.scope, e.scope_inferred), (Some(Scope::Global), true));
    assert_eq!((e.source.first_line, e.source.last_line), (1, 7));
    // A CPU line and trace of another splat are no episode.
    assert!(texts(&[
        "CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1",
        "Call Trace:",
        " do_one+0x1/0x2"
    ])
    .is_empty());
}

#[test]
fn orphan_selections_and_kills() {
    // A selection whose kill line was lost, then a selection with the kill
    // of its child: two episodes.
    let eps = texts(&[
        "Memory cgroup out of memory: Kill process 30517 (java) score 1994 or sacrifice child",
        "EXT4-fs (vda1): re-mounted",
        "EXT4-fs (vda1): re-mounted",
        "EXT4-fs (vda1): re-mounted",
        "EXT4-fs (vda1): re-mounted",
        "Memory cgroup out of memory: Kill process 32018 (sh) score 1998 or sacrifice child",
        "Killed process 32031 (java), UID 1000, total-vm:6490344kB, anon-rss:2092112kB, file-rss:12980kB, shmem-rss:0kB",
    ]);
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0].selected.as_ref().map(|s| s.pid), Some(30517));
    assert!(eps[0].victims.is_empty() && !eps[0].complete);
    let v = &eps[1].victims[0];
    assert_eq!((v.pid, v.uid), (32031, Some(1000)));
    assert_eq!(v.selected.as_ref().map(|s| s.pid), Some(32018));
    // The older `or a child` form.
    let eps = texts(&["Out of memory: kill process 4242 (httpd) score 901 or a child"]);
    assert_eq!(eps[0].selected.as_ref().map(|s| s.comm.as_str()), Some("httpd"));
}

#[test]
fn victims_without_a_kill_line() {
    // From the oom-kill: summary.
    let eps = texts(&[
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=python3,pid=7576,uid=0",
    ]);
    assert_eq!(
        (eps[0].victims[0].pid, eps[0].victims[0].comm.as_str()),
        (7576, "python3")
    );
    assert!(!eps[0].complete);
    // From oom_reaper alone.
    let eps = texts(&["oom_reaper: reaped process 29860 (node), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"]);
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].victims[0].pid, 29860);
}

#[test]
fn without_uptimes_the_wall_clock_parts_episodes() {
    let mut b = Builder::new("t.log", BuilderOptions::default());
    let mut out = Vec::new();
    for (i, (raw, text)) in [
        ("Sep 14 10:22:52", "Memory cgroup out of memory: Kill process 30517 (java) score 1994 or sacrifice child"),
        ("Sep 14 10:32:52", "Killed process 31244 (java), UID 1000, total-vm:6487212kB, anon-rss:2091540kB, file-rss:13104kB, shmem-rss:0kB"),
    ]
    .into_iter()
    .enumerate()
    {
        let stamp = Stamp {
            wall_raw: Some(raw.to_owned()),
            ..Stamp::default()
        };
        b.push(i as u64 + 1, &LogLine { stamp, text: Cow::Borrowed(text) });
        out.extend(std::iter::from_fn(|| b.pop_ready()));
    }
    b.finish();
    out.extend(std::iter::from_fn(|| b.pop_ready()));
    assert_eq!(out.len(), 2, "ten minutes apart: the kill is not of that selection");
    assert_eq!(out[1].victims[0].selected, None);
}

/// Lines of one report with the same text and stamp but their own kmsg
/// sequence numbers are different lines (the key once merged seq 2k with
/// 2k+1).
#[test]
fn line_keys_keep_sequence_numbers_apart() {
    let stamp = |uptime_us, seq| Stamp {
        uptime_us: Some(uptime_us),
        seq: Some(seq),
        ..Stamp::default()
    };
    let text = " ? __schedule+0x10/0x20";
    let mut keys: Vec<u64> = (0..64)
        .map(|seq| super::line_key(&stamp(100_000_004, seq), text).unwrap())
        .collect();
    keys.extend((0..64).map(|seq| super::line_key(&stamp(0, seq), text).unwrap()));
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n);
    let none = Stamp {
        uptime_us: Some(5),
        ..Stamp::default()
    };
    assert_ne!(super::line_key(&none, text), super::line_key(&stamp(5, 0), text));
}

#[test]
fn mem_info_without_numa_keeps_its_counters_zones_and_ram() {
    // A kernel built without NUMA: per-cpu headers, zone lines and buddy
    // lists print no `Node N` (2.6.32 shapes).
    let eps = texts(&[
        "java invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=0",
        "Mem-Info:",
        "DMA per-cpu:",
        "CPU    0: hi:    0, btch:   1 usd:   0",
        "active_anon:900 inactive_anon:50 isolated_anon:0",
        " active_file:10 inactive_file:10 isolated_file:0",
        " free:30 slab_reclaimable:1 slab_unreclaimable:1",
        "DMA free:40kB min:8kB low:10kB high:12kB active_anon:0kB present:64kB pages_scanned:0 all_unreclaimable? yes",
        "lowmem_reserve[]: 0 3000 3000 3000",
        "Normal free:80kB min:100kB low:120kB high:140kB active_anon:3600kB present:4032kB pages_scanned:9 all_unreclaimable? yes",
        "lowmem_reserve[]: 0 0 0 0",
        "DMA: 2*4kB 0*8kB 2*16kB = 40kB",
        "Normal: 20*4kB 0*8kB = 80kB",
        "1024 pages RAM",
        "Out of memory: Kill process 9 (java) score 900 or sacrifice child",
        "Killed process 9, UID 0, (java) total-vm:8kB, anon-rss:4kB, file-rss:0kB",
    ]);
    assert_eq!(eps.len(), 1);
    let mi = eps[0].mem_info.as_ref().unwrap();
    assert_eq!(mi.ram_bytes, Some(1024 * 4096));
    assert_eq!(mi.counters_bytes.get("active_anon"), Some(&(900 * 4096)));
    let names: Vec<_> = mi.zones.iter().map(|z| (z.node, z.name.to_string())).collect();
    assert_eq!(names, [(None, "DMA".to_owned()), (None, "Normal".to_owned())]);
    assert_eq!(mi.zones[0].lowmem_reserve_pages, [0, 3000, 3000, 3000]);
    assert_eq!(mi.zones[1].min_bytes, Some(100 * 1024));
    assert_eq!(
        mi.zones[0]
            .free_blocks
            .iter()
            .map(|b| (b.size_bytes, b.count))
            .collect::<Vec<_>>(),
        [(4096, 2), (8192, 0), (16384, 2)]
    );
}

#[test]
fn mem_info_begins_at_its_counters_without_its_header() {
    // The `Mem-Info:` line cut out of a paste, after the report's header.
    let eps = texts(&[
        "node invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",
        "active_anon:100 inactive_anon:800 isolated_anon:0",
        " active_file:3 inactive_file:4 isolated_file:0",
        " mapped:6 shmem:700 pagetables:2 bounce:0",
        "Node 0 DMA32 free:67596kB min:33376kB low:41720kB high:50064kB",
        "1000 pages RAM",
        "Out of memory: Killed process 9 (node) total-vm:8kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB",
    ]);
    assert_eq!(eps.len(), 1);
    let mi = eps[0].mem_info.as_ref().unwrap();
    assert_eq!(mi.counters_bytes.get("shmem"), Some(&(700 * 4096)));
    assert_eq!(mi.ram_bytes, Some(1000 * 4096));
    assert_eq!(mi.zones.len(), 1);
    // A paste that starts at the counters (2.6.28-2.6.30 spelling): an
    // episode once an OOM line follows.
    let eps = texts(&[
        "Active_anon:700 active_file:30 inactive_anon:40",
        " inactive_file:20 unevictable:0 dirty:0 writeback:0 unstable:0",
        " free:21 slab:5 mapped:3 pagetables:2 bounce:0",
        "1000 pages RAM",
        "Out of memory: kill process 9 (ruby) score 1203456 or a child",
        "Killed process 9 (ruby)",
    ]);
    assert_eq!(eps.len(), 1);
    let mi = eps[0].mem_info.as_ref().unwrap();
    assert_eq!(mi.counters_bytes.get("active_anon"), Some(&(700 * 4096)));
    assert_eq!(mi.counters_bytes.get("slab"), Some(&(5 * 4096)));
    assert_eq!(eps[0].source.first_line, 1);
    // Counters alone, no OOM line after them (an allocation failure's
    // show_mem): no episode.
    assert!(texts(&[
        "active_anon:1 inactive_anon:2 isolated_anon:0",
        " free:3 free_pcp:0 free_cma:0",
        "eth0: link up"
    ])
    .is_empty());
}

#[test]
fn mem_info_zones_are_bounded() {
    let mut lines = vec![
        "x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0".to_owned(),
        "Mem-Info:".to_owned(),
    ];
    for _ in 0..MAX_ZONES + 10 {
        lines.push("Node 1 Normal free:4kB min:1kB low:2kB high:3kB".to_owned());
    }
    for _ in 0..MAX_ZONES + 10 {
        lines.push("Node 1 Normal: 1*4kB = 4kB".to_owned());
    }
    lines
        .push("Out of memory: Killed process 9 (x) total-vm:8kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB".to_owned());
    let eps = texts(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(eps.len(), 1);
    let zones = &eps[0].mem_info.as_ref().unwrap().zones;
    assert_eq!(zones.len(), MAX_ZONES);
    assert!(zones.iter().all(|z| z.free_blocks.len() == 1));
    assert!(eps[0].complete);
}
