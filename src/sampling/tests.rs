use super::*;
use crate::recording::{Entry, Recorder};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The first sample of corpus/recordings (`oomctl record` on 6.18,
/// cgroup v1): a whole snapshot as the recorder writes it.
fn v1_snapshot() -> Snapshot {
    let rec = include_str!("../../corpus/recordings/6.18-v1-multi.rec");
    let r = crate::recording::read(rec.as_bytes(), "r").unwrap();
    r.entries
        .into_iter()
        .find_map(|e| match e {
            Entry::Sample { snapshot } => Some(snapshot),
            _ => None,
        })
        .unwrap()
}

fn at(mut s: Snapshot, up: f64, usage: u64) -> Snapshot {
    s.uptime_s = Some(up);
    s.usage_bytes = Some(usage);
    s
}

const MIB: u64 = 1 << 20;

#[test]
fn compact_keeps_what_the_guard_reads() {
    let s = v1_snapshot();
    let c = Compact::of(3, &s);
    assert_eq!(
        (c.c, c.usage, c.limit, c.unlimited),
        (3, s.usage_bytes, Some(100663296), false)
    );
    assert_eq!((c.failcnt, c.max, c.oom_kill), (Some(0), None, Some(0)));
    let st = |k: &str| s.stat[k];
    assert_eq!(
        c.cache,
        [
            st("total_cache"),
            st("total_shmem"),
            st("total_dirty"),
            st("total_writeback")
        ]
    );
    // The cache rule gives the same answer on either.
    let f = crate::model::StatsFormat::V1;
    assert_eq!(c.clean_cache(), crate::guard::clean_cache(f, &s.stat));
    let mut dirty = s.clone();
    for (k, v) in [
        ("total_cache", 50 * MIB),
        ("total_dirty", 8 * MIB),
        ("total_shmem", 2 * MIB),
    ] {
        dirty.stat.insert(k.into(), Some(v));
    }
    assert_eq!(Compact::of(0, &dirty).clean_cache(), Some(40 * MIB));
    assert_eq!(crate::guard::clean_cache(f, &dirty.stat), Some(40 * MIB));
    // v2: memory.events' max and oom_kill.
    let mut v2 = s.clone();
    v2.version = Text::new("v2");
    v2.failcnt = None;
    v2.events = [("max".into(), 7), ("oom_kill".into(), 2), ("low".into(), 0)].into();
    v2.stat = [("file".into(), Some(9 * MIB)), ("file_dirty".into(), Some(MIB))].into();
    let c = Compact::of(0, &v2);
    assert_eq!((c.failcnt, c.max, c.oom_kill), (None, Some(7), Some(2)));
    assert_eq!(
        (c.cache, c.clean_cache()),
        ([Some(9 * MIB), None, Some(MIB), None], Some(8 * MIB))
    );
}

#[test]
fn far_from_the_limit_whole_every_five_minutes() {
    let base = v1_snapshot(); // limit 96 MiB
    let mut r = Sampler::new(SampleRule::default());
    let mut full = Vec::new();
    for t in 0..=600 {
        let s = at(base.clone(), 1000.0 + f64::from(t), 10 * MIB);
        let c = Compact::of(0, &s);
        if r.full(0, &s, &c) {
            full.push(t);
        }
    }
    assert_eq!(full, vec![0, 300, 600]);
}

#[test]
fn near_the_limit_whole_every_thirty_seconds() {
    let base = v1_snapshot();
    let mut r = Sampler::new(SampleRule::default());
    let mut full = Vec::new();
    for t in 0..=100 {
        // A 96 MiB limit: near in its last quarter, from 72 MiB, from t = 10 on.
        let usage = if t < 10 { 70 * MIB } else { 72 * MIB };
        let s = at(base.clone(), f64::from(t) / 2.0, usage);
        let c = Compact::of(0, &s);
        if r.full(0, &s, &c) {
            full.push(t);
        }
    }
    // Half-second steps: whole at 0 s, at 5 s when it came near (the
    // processes near the threshold), then 30 s later.
    assert_eq!(full, vec![0, 10, 70]);
}

#[test]
fn a_small_limit_is_near_in_its_last_quarter() {
    let mut base = v1_snapshot();
    base.limit_bytes = Some(32 * MIB);
    let mut r = Sampler::new(SampleRule::default());
    let mut full = Vec::new();
    for t in 0..=40u32 {
        // 1 MiB a second into 32 MiB: near (≥ 24 MiB) from t = 24.
        let s = at(base.clone(), f64::from(t), u64::from(t.min(31)) * MIB);
        let c = Compact::of(0, &s);
        if r.full(0, &s, &c) {
            full.push(t);
        }
    }
    assert_eq!(full, vec![0, 24]);
}

#[test]
fn hovering_at_the_edge_of_near_repeats_no_whole_sample() {
    let base = v1_snapshot();
    let mut r = Sampler::new(SampleRule::default());
    let mut full = Vec::new();
    for t in 0..=200 {
        // In and out of near (72 MiB of 96) every second.
        let usage = if t % 2 == 0 { 70 * MIB } else { 72 * MIB };
        let s = at(base.clone(), f64::from(t), usage);
        let c = Compact::of(0, &s);
        if r.full(0, &s, &c) {
            full.push(t);
        }
    }
    // The first, the first near one, then every 30 s (near at odd seconds).
    assert_eq!(full, vec![0, 1, 31, 61, 91, 121, 151, 181]);
}

#[test]
fn a_moved_counter_or_a_new_version_makes_the_next_whole() {
    let base = v1_snapshot();
    let mut r = Sampler::new(SampleRule::default());
    let s = at(base.clone(), 0.0, MIB);
    assert!(r.full(0, &s, &Compact::of(0, &s)));
    let mut hit = at(base.clone(), 10.0, MIB);
    hit.failcnt = Some(5);
    // Not yet: the last whole one is 10 s old.
    assert!(!r.full(0, &hit, &Compact::of(0, &hit)));
    hit.uptime_s = Some(31.0);
    assert!(r.full(0, &hit, &Compact::of(0, &hit)));
    // Remembered: the same count is no change.
    hit.uptime_s = Some(70.0);
    assert!(!r.full(0, &hit, &Compact::of(0, &hit)));
    let mut v2 = hit.clone();
    v2.version = Text::new("v2");
    assert!(r.full(0, &v2, &Compact::of(0, &v2)));
    // Each cgroup has its own clock; no uptime: whole.
    assert!(r.full(1, &hit, &Compact::of(1, &hit)));
    let mut none = hit.clone();
    none.uptime_s = None;
    assert!(r.full(1, &none, &Compact::of(1, &none)));
}

/// Counts what the recorder writes.
#[derive(Clone, Default)]
struct Counted(Arc<Mutex<u64>>);

impl Write for Counted {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().unwrap() += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The issue 17 budget: a day of 1 s samples of one cgroup, in the worst
/// case (near its limit all day, its failure counter moving every second, a
/// Kubernetes-length path, 3 processes), stays under 1 MiB per hour.
#[test]
fn a_day_of_one_second_samples_stays_under_the_budget() {
    let mut base = v1_snapshot();
    base.path = Text::new(
        "/kubepods/burstable/pod3d6329e5-455f-11e9-a7e5-06925242d7ea/\
         223d4795cc3b33e28e702f72e0497e1153c4a809de6b4363f27acc12a6781cdb",
    );
    let p = crate::model::Process {
        pid: 4_194_303,
        comm: Text::new("java-worker-xx"),
        oom_score: Some(1999),
        oom_score_adj: Some(999),
        rss_bytes: Some(95 * MIB),
    };
    base.processes = vec![p.clone(), p.clone(), p];
    let counted = Counted::default();
    let mut w = Recorder::new(Box::new(counted.clone()));
    w.write(&Entry::Sampling {
        cgroups: vec![base.path.clone()],
        interval_s: 1.0,
    })
    .unwrap();
    let mut r = Sampler::new(SampleRule::default());
    let (mut whole, day) = (0, 86_400u32);
    for t in 0..day {
        let mut s = at(
            base.clone(),
            1_000_000.0 + f64::from(t) + 0.37,
            100_000_000 + u64::from(t),
        );
        s.failcnt = Some(1_000_000 + u64::from(t));
        for v in s.stat.values_mut().flatten() {
            *v += u64::from(t) * 4096;
        }
        let c = Compact::of(0, &s);
        if r.full(0, &s, &c) {
            whole += 1;
            w.write(&Entry::Sample { snapshot: s }).unwrap();
        } else {
            w.write(&Entry::Compact(c)).unwrap();
        }
    }
    let per_hour = *counted.0.lock().unwrap() / 24;
    assert_eq!(whole, 86_400 / 30);
    assert!(per_hour <= MIB, "{per_hour} bytes per cgroup-hour");
    // What the README states (worst case, 1 s): 787,320 bytes, 0.75 MiB.
    assert!(
        per_hour > MIB * 7 / 10 && per_hour < MIB * 8 / 10,
        "{per_hour}: update the README"
    );
}
