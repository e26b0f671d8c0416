//! The policy model at its edges, and against seed 002's own numbers.

use super::*;
use crate::model::{Memcg, Scope, Victim};

const MIB: u64 = 1 << 20;

#[test]
fn margins_follow_oom_guard() {
    let p = GuardPolicy::default();
    // Seed 002: "limit 1000M → margin 20M → threshold 980M".
    assert_eq!(p.margin(1000 * MIB), 20 * MIB);
    assert_eq!(p.threshold(1000 * MIB), 980 * MIB);
    // Clamped to [1 MiB, 30 MiB].
    assert_eq!(p.margin(10 * MIB), MIB);
    assert_eq!(p.margin(5000 * MIB), 30 * MIB);
    assert_eq!(p.margin(1500 * MIB), 30 * MIB);
    assert_eq!(p.margin(1499 * MIB), (1499.0 * MIB as f64 * 0.02) as u64);
    // Seed 002's event: a 200 MiB limit had threshold 205520896.
    assert_eq!(p.threshold(209_715_200), 205_520_896);
    // A limit smaller than the minimum margin.
    assert_eq!(p.threshold(512 << 10), 0);
    assert_eq!(p.reclaim_at(1000 * MIB), 960 * MIB);
}

#[test]
fn cache_rule_edge() {
    let p = GuardPolicy::default();
    assert!(p.holds_back(100 * MIB, Some(10 * MIB)));
    assert!(!p.holds_back(100 * MIB, Some(10 * MIB - 1)));
    assert!(!p.holds_back(100 * MIB, None));
    let mut s = std::collections::BTreeMap::new();
    s.insert("total_cache".into(), Some(50 * MIB));
    s.insert("total_dirty".into(), Some(30 * MIB));
    s.insert("total_writeback".into(), Some(5 * MIB));
    s.insert("total_shmem".into(), Some(10 * MIB));
    assert_eq!(clean_cache(StatsFormat::V1, &s), Some(5 * MIB));
    let mut v2 = std::collections::BTreeMap::new();
    v2.insert("file".into(), Some(8 * MIB));
    v2.insert("file_dirty".into(), Some(MIB));
    assert_eq!(clean_cache(StatsFormat::V2, &v2), Some(7 * MIB));
}

fn cand(pid: u32, rss_mib: u64, adj: i32) -> Candidate {
    Candidate {
        pid,
        comm: format!("p{pid}").into(),
        rss_swap_bytes: rss_mib * MIB,
        pgtables_bytes: 0,
        oom_score_adj: adj,
        protected: pid == 1,
    }
}

#[test]
fn badness_is_the_kernels() {
    let total = 256 * MIB / 4096;
    // adj 1000 adds the whole of total_pages.
    assert_eq!(badness(&cand(5, 10, 1000), total, 4096), Some(10 * 256 + total as i64));
    assert_eq!(badness(&cand(5, 10, -1000), total, 4096), None);
    assert_eq!(badness(&cand(1, 100, 0), total, 4096), None, "pid 1");
    // A small task with adj 999 beats a big one with adj -998.
    let cs = [cand(10, 200, -998), cand(11, 5, 999)];
    assert_eq!(choose(&cs, total, 4096).unwrap().pid, 11);
    // Ties go to the later task, as in select_bad_process.
    let cs = [cand(20, 50, 0), cand(21, 50, 0)];
    assert_eq!(choose(&cs, total, 4096).unwrap().pid, 21);
    assert!(choose(&[cand(30, 50, -1000)], total, 4096).is_none());
}

fn memcg_episode(usage: u64, limit: u64, tasks: Vec<TaskRow>) -> Episode {
    Episode {
        scope: Some(Scope::Memcg),
        memcg: Some(Memcg {
            path: Some("/k".into()),
            usage_bytes: Some(usage),
            limit_bytes: Some(limit),
            unlimited: false,
            failcnt: None,
        }),
        victims: vec![Victim {
            pid: 11,
            comm: "p11".into(),
            ..Victim::default()
        }],
        tasks,
        page_size: 4096,
        ..Episode::default()
    }
}

fn row(pid: u32, rss_mib: u64, adj: i32) -> TaskRow {
    TaskRow {
        pid,
        rss_bytes: Some(rss_mib * MIB),
        oom_score_adj: Some(adj),
        name: format!("p{pid}").into(),
        ..TaskRow::default()
    }
}

#[test]
fn simulate_policies() {
    let ep = memcg_episode(
        100 * MIB,
        100 * MIB,
        vec![row(10, 60, 0), row(11, 30, 0), row(12, 5, -1000)],
    );
    let p = GuardPolicy::default();
    let o = simulate(&ep, &p);
    assert!(o.fired && !o.held_back);
    assert_eq!(o.action, "kill_process");
    assert_eq!(o.victim.as_ref().unwrap().pid, 10);
    assert_eq!(o.same_victim, Some(false), "the kernel killed 11");
    assert_eq!(o.threshold_bytes, Some(98 * MIB));
    let c = simulate(
        &ep,
        &GuardPolicy {
            policy: Policy::Container,
            ..p
        },
    );
    assert_eq!(c.action, "kill_container");
    assert_eq!(
        c.killed.iter().map(|k| k.pid).collect::<Vec<_>>(),
        [10, 11],
        "never the -1000 task"
    );
    let n = simulate(
        &ep,
        &GuardPolicy {
            policy: Policy::Noop,
            ..p
        },
    );
    assert_eq!(n.action, "none");
    // Below the threshold nothing fires.
    let low = memcg_episode(97 * MIB, 100 * MIB, vec![row(10, 60, 0)]);
    assert!(!simulate(&low, &p).fired);
    // A global OOM has no memcg threshold.
    let mut g = ep.clone();
    g.memcg = None;
    assert!(simulate(&g, &p).note.contains("not a memcg OOM"));
}

#[test]
fn simulate_holds_back_on_clean_cache() {
    let mut ep = memcg_episode(100 * MIB, 100 * MIB, vec![row(10, 60, 0)]);
    ep.memcg_stats = vec![MemcgStats {
        path: "/k".into(),
        format: StatsFormat::V1,
        stats: [("total_cache", 20 * MIB), ("total_dirty", 0), ("total_rss", 70 * MIB)]
            .iter()
            .map(|(k, v)| (Text::new(k), Some(*v)))
            .collect(),
    }];
    let o = simulate(&ep, &GuardPolicy::default());
    assert!(o.held_back);
    assert_eq!(o.action, "none");
    // Dirty cache does not count: the write-cache case is not held back.
    ep.memcg_stats[0].stats.insert("total_dirty".into(), Some(15 * MIB));
    assert!(!simulate(&ep, &GuardPolicy::default()).held_back);
}
