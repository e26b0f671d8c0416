use super::*;

const MIB: u64 = 1 << 20;

fn policy() -> GuardPolicy {
    GuardPolicy::default()
}

fn proc_(pid: u32, comm: &str, rss_mib: u64) -> Candidate {
    Candidate {
        pid,
        comm: comm.into(),
        rss_swap_bytes: rss_mib * MIB,
        pgtables_bytes: 0,
        oom_score_adj: 0,
        protected: false,
    }
}

fn at(up: f64, usage_mib: u64, limit_mib: u64) -> Point {
    Point {
        up,
        usage: Some(usage_mib * MIB),
        limit: Some(limit_mib * MIB),
        clean: Some(0),
        procs: None,
    }
}

fn oom(cg: &str, up: f64, pid: u32) -> Oom {
    Oom {
        cgroup: cg.into(),
        up,
        kernel_victim: Some(Proc {
            pid,
            comm: "grower".into(),
        }),
        tasks: Vec::new(),
    }
}

/// Run samples (of `/a`) and OOMs through one timeline: its rows and
/// summaries.
fn run(
    settings: Vec<GuardPolicy>,
    samples: Vec<Point>,
    ooms: Vec<Oom>,
) -> (Vec<TimelineOutcome>, Totals, Vec<TimelineSummary>) {
    let mut t = Timeline::new(settings.clone(), 4096, None);
    t.interval(1.0);
    let mut rows = Vec::new();
    let mut out = |r| rows.push(r);
    for o in ooms {
        t.oom(o, &mut out);
    }
    for p in samples {
        t.sample(&"/a".into(), p, &mut out);
    }
    let (totals, tallies) = t.finish(&mut out);
    let sums = tallies.iter().zip(&settings).map(|(t, p)| t.summary(p)).collect();
    (rows, totals, sums)
}

#[test]
fn a_crossing_before_the_kernel_oom_is_prevented_with_its_lead() {
    let mut first = at(0.0, 10, 64);
    first.procs = Some(vec![proc_(7, "grower", 50), proc_(8, "idle", 2)]);
    let samples = vec![first, at(1.0, 40, 64), at(2.0, 63, 64), at(3.0, 2, 64)];
    let (rows, totals, sums) = run(vec![policy()], samples, vec![oom("/a", 2.5, 7)]);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(r.outcome, Verdict::Prevented);
    assert_eq!(
        (r.crossed_at, r.fired_at, r.oom_at, r.below_at),
        (Some(2.0), Some(2.0), Some(2.5), Some(3.0))
    );
    assert_eq!(r.lead_s, Some(0.5));
    assert_eq!(r.threshold_bytes, Some(64 * MIB - policy().margin(64 * MIB)));
    assert_eq!(r.victim.as_ref().map(|v| v.pid), Some(7));
    assert_eq!(r.victim_from, Some(VictimFrom::Sample));
    assert_eq!(r.same_victim, Some(true));
    assert_eq!((totals.samples, totals.cgroups, totals.ooms), (4, 1, 1));
    assert_eq!(
        (sums[0].prevented, sums[0].median_lead_s, sums[0].same_victim),
        (1, Some(0.5), 1)
    );
}

#[test]
fn a_crossing_that_falls_back_without_an_oom_is_a_false_kill() {
    let mut p = at(1.0, 63, 64);
    p.procs = Some(vec![proc_(9, "cache-warm", 60)]);
    let samples = vec![at(0.0, 10, 64), p, at(2.0, 63, 64), at(3.0, 30, 64), at(4.0, 30, 64)];
    let (rows, _, sums) = run(vec![policy()], samples, vec![]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Verdict::FalseKill);
    assert_eq!(
        (rows[0].fired_at, rows[0].below_at, rows[0].oom_at),
        (Some(1.0), Some(3.0), None)
    );
    assert_eq!(rows[0].victim.as_ref().map(|v| v.comm.as_str()), Some("cache-warm"));
    assert_eq!(sums[0].false_kill, 1);
    // Still above when the samples end: the kernel never killed either.
    let (rows, _, _) = run(vec![policy()], vec![at(0.0, 63, 64), at(1.0, 63, 64)], vec![]);
    assert_eq!((rows[0].outcome, rows[0].below_at), (Verdict::FalseKill, None));
    assert!(rows[0].note.contains("still above"), "{}", rows[0].note);
}

#[test]
fn the_cache_rule_holds_back_and_says_whether_the_kernel_killed_anyway() {
    let cached = |up, usage| Point {
        clean: Some(20 * MIB),
        ..at(up, usage, 64)
    };
    let (rows, _, sums) = run(
        vec![policy()],
        vec![cached(0.0, 63), cached(1.0, 63), at(2.0, 5, 64)],
        vec![],
    );
    assert_eq!(
        (rows[0].outcome, rows[0].oom_at, rows[0].fired_at),
        (Verdict::HeldBack, None, None)
    );
    assert_eq!((sums[0].held_back, sums[0].held_back_oom), (1, 0));
    let (rows, _, sums) = run(
        vec![policy()],
        vec![cached(0.0, 63), cached(1.0, 63), at(2.0, 5, 64)],
        vec![oom("/a", 1.5, 3)],
    );
    assert_eq!((rows[0].outcome, rows[0].oom_at), (Verdict::HeldBack, Some(1.5)));
    assert_eq!(sums[0].held_back_oom, 1);
    // Held back at first, then the clean cache is gone: it acts then.
    let (rows, _, _) = run(
        vec![policy()],
        vec![cached(0.0, 63), at(1.0, 63, 64), at(2.0, 5, 64)],
        vec![oom("/a", 1.5, 3)],
    );
    assert_eq!(
        (rows[0].outcome, rows[0].crossed_at, rows[0].fired_at),
        (Verdict::Prevented, Some(0.0), Some(1.0))
    );
}

#[test]
fn an_oom_without_a_crossing_is_missed_with_its_reason() {
    let reason = |samples: Vec<Point>, up: f64| {
        let (rows, _, sums) = run(vec![policy()], samples, vec![oom("/a", up, 3)]);
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!((rows[0].outcome, sums[0].missed), (Verdict::Missed, 1));
        rows[0].reason
    };
    // Below the threshold one interval before: growth outran the sampling.
    assert_eq!(
        reason(vec![at(0.0, 10, 64), at(1.0, 20, 64), at(2.0, 1, 64)], 1.8),
        Some(MissReason::TooFast)
    );
    // The last sample long before.
    assert_eq!(
        reason(vec![at(0.0, 10, 64), at(10.0, 1, 64)], 9.0),
        Some(MissReason::SamplingGap)
    );
    // No sample before it.
    assert_eq!(reason(vec![at(5.0, 1, 64)], 1.0), Some(MissReason::NoSample));
    // No limit.
    let unlimited = Point {
        limit: None,
        ..at(0.0, 10, 64)
    };
    assert_eq!(reason(vec![unlimited, at(2.0, 1, 64)], 0.5), Some(MissReason::NoLimit));
}

#[test]
fn an_oom_the_pipeline_finished_late_still_comes_before_later_samples() {
    let mut t = Timeline::new(vec![policy()], 4096, None);
    let mut rows = Vec::new();
    let mut out = |r| rows.push(r);
    t.sample(&"/a".into(), at(0.0, 63, 64), &mut out);
    t.sample(&"/a".into(), at(1.0, 63, 64), &mut out);
    t.sample(&"/a".into(), at(2.0, 5, 64), &mut out);
    t.oom(oom("/a", 0.5, 3), &mut out);
    t.finish(&mut out);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].outcome, rows[0].lead_s), (Verdict::Prevented, Some(0.5)));
}

#[test]
fn ooms_of_cgroups_not_sampled_are_counted_not_judged() {
    let (rows, totals, _) = run(
        vec![policy()],
        vec![at(0.0, 1, 64), at(2.0, 1, 64)],
        vec![oom("/b", 1.0, 3)],
    );
    assert!(rows.is_empty());
    assert_eq!((totals.ooms, totals.ooms_unsampled), (0, 1));
    // Declared by sampling but not sampled yet: judged (no sample).
    let mut t = Timeline::new(vec![policy()], 4096, None);
    let mut rows = Vec::new();
    let mut out = |r| rows.push(r);
    t.declare(&"/b".into());
    t.oom(oom("/b", 1.0, 3), &mut out);
    t.sample(&"/b".into(), at(2.0, 1, 64), &mut out);
    t.finish(&mut out);
    assert_eq!(rows[0].reason, Some(MissReason::NoSample));
}

#[test]
fn each_setting_is_judged_on_its_own_threshold() {
    let wide = GuardPolicy {
        margin_ratio: 0.1,
        ..policy()
    };
    let noop = GuardPolicy {
        policy: Policy::Noop,
        ..wide
    };
    // 60 of 64 MiB: past the 10% margin (57.6 MiB), below the 2% one.
    let samples = vec![at(0.0, 30, 64), at(1.0, 60, 64), at(2.0, 60, 64), at(3.0, 2, 64)];
    let (rows, _, sums) = run(vec![policy(), wide, noop], samples, vec![oom("/a", 2.2, 3)]);
    let of = |ratio: f64, p: Policy| {
        rows.iter()
            .find(|r| r.margin_ratio == ratio && r.policy == p)
            .map(|r| (r.outcome, r.lead_s, r.reason))
    };
    assert_eq!(
        of(0.02, Policy::Process),
        Some((Verdict::Missed, None, Some(MissReason::TooFast)))
    );
    assert_eq!(of(0.1, Policy::Process), Some((Verdict::Prevented, Some(1.2), None)));
    assert_eq!(of(0.1, Policy::Noop), Some((Verdict::Warned, Some(1.2), None)));
    assert_eq!((sums[0].missed, sums[1].prevented, sums[2].warned), (1, 1, 1));
}

#[test]
fn a_container_kill_takes_every_killable_process_and_the_nearest_list_names_the_victim() {
    let container = GuardPolicy {
        policy: Policy::Container,
        ..policy()
    };
    let mut old = at(0.0, 10, 64);
    old.procs = Some(vec![proc_(7, "old", 8), proc_(1, "init", 1)]);
    let mut o = oom("/a", 30.2, 12);
    o.tasks = vec![proc_(11, "side", 4), proc_(12, "grower", 55)];
    let samples = vec![
        old,
        at(10.0, 20, 64),
        at(20.0, 40, 64),
        at(30.0, 63, 64),
        at(31.0, 1, 64),
    ];
    let (rows, _, _) = run(vec![container], samples, vec![o]);
    let r = &rows[0];
    assert_eq!(r.outcome, Verdict::Prevented);
    // The report's table (0.2 s after the guard acted) is nearer than the
    // sample of 30 s before.
    assert_eq!(r.victim_from, Some(VictimFrom::Report));
    assert_eq!(r.victim.as_ref().map(|v| v.pid), Some(12));
    assert_eq!(r.killed.iter().map(|k| k.pid).collect::<Vec<_>>(), vec![11, 12]);
    assert_eq!(r.same_victim, Some(true));
}

#[test]
fn the_median_lead_is_of_prevented_outcomes() {
    let mut samples = Vec::new();
    let mut ooms = Vec::new();
    for (k, lead) in [0.2, 0.6, 1.0, 3.0].iter().enumerate() {
        let t0 = k as f64 * 10.0;
        samples.extend([at(t0, 10, 64), at(t0 + 1.0, 63, 64), at(t0 + 5.0, 1, 64)]);
        ooms.push(oom("/a", t0 + 1.0 + lead, 3));
    }
    let (rows, _, sums) = run(vec![policy()], samples, ooms);
    assert_eq!(rows.len(), 4);
    assert_eq!(sums[0].median_lead_s, Some(0.8));
}

#[test]
fn a_cgroup_that_hovers_around_its_threshold_is_one_crossing() {
    // 64 MiB, margin 1.28 MiB: threshold 62.72, reclaim mark 61.44 MiB.
    let cached = |up, usage| Point {
        clean: Some(20 * MIB),
        ..at(up, usage, 64)
    };
    let samples = vec![
        cached(0.0, 63),
        cached(1.0, 62),
        cached(2.0, 63),
        cached(3.0, 62),
        cached(4.0, 40),
    ];
    let (rows, _, sums) = run(vec![policy()], samples, vec![]);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!((rows[0].crossed_at, rows[0].below_at), (Some(0.0), Some(4.0)));
    assert_eq!(sums[0].held_back, 1);
    // Between the marks the guard does not act: only at the threshold.
    let samples = vec![cached(0.0, 63), at(1.0, 62, 64), at(2.0, 62, 64), at(3.0, 40, 64)];
    let (rows, _, _) = run(vec![policy()], samples, vec![]);
    assert_eq!((rows[0].outcome, rows[0].fired_at), (Verdict::HeldBack, None));
}

#[test]
fn samples_that_go_back_in_time_are_dropped_not_held() {
    let mut t = Timeline::new(vec![policy()], 4096, None);
    let mut rows = Vec::new();
    let mut out = |r| rows.push(r);
    for k in 0..100 {
        t.sample(&"/a".into(), at(1000.0 + f64::from(k), 10, 64), &mut out);
    }
    // An earlier hour after a later one: judged (as dropped) at once, the
    // window stays the window.
    for k in 0..100 {
        t.sample(&"/a".into(), at(f64::from(k), 10, 64), &mut out);
        assert!(t.waiting.len() <= 7, "{}", t.waiting.len());
    }
    let (totals, _) = t.finish(&mut out);
    assert_eq!((totals.samples, totals.samples_dropped), (100, 100));
}
