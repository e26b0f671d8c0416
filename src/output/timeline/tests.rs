use super::*;
use crate::model::{MissReason, Policy};

fn outcome(v: Verdict) -> TimelineOutcome {
    TimelineOutcome {
        cgroup: "/kubepods/burstable/pod0123/ctr".into(),
        policy: Policy::Process,
        margin_ratio: 0.02,
        cache_hold_ratio: 0.1,
        outcome: v,
        reason: None,
        limit_bytes: Some(64 << 20),
        margin_bytes: Some(1 << 20),
        threshold_bytes: Some(63 << 20),
        crossed_at: Some(10.0),
        fired_at: Some(10.0),
        oom_at: Some(10.5),
        lead_s: Some(0.5),
        below_at: Some(11.0),
        peak_bytes: Some(64 << 20),
        ooms: 1,
        victim: Some(Proc {
            pid: 4242,
            comm: "a-process-name-that-is-long".into(),
        }),
        killed: Vec::new(),
        victim_from: None,
        kernel_victim: None,
        same_victim: Some(true),
        wall: None,
        note: "why".into(),
    }
}

#[test]
fn every_table_line_fits_its_width() {
    for width in Style::MIN_WIDTH..=300 {
        let style = Style::new(width, false);
        let l = layout(width);
        assert!(l.cgroup >= 6);
        for line in [table_header(style), table_line(&outcome(Verdict::Prevented), style)] {
            assert!(cells::width(line.trim_end()) <= width, "{width}: {line}");
        }
    }
}

#[test]
fn short_names_say_the_reason_and_whether_the_kernel_killed() {
    let mut r = outcome(Verdict::Missed);
    r.reason = Some(MissReason::TooFast);
    assert_eq!(short(&r), "missed fast");
    r.reason = Some(MissReason::SamplingGap);
    assert_eq!(short(&r), "missed gap");
    let mut h = outcome(Verdict::HeldBack);
    assert_eq!(short(&h), "held→oom");
    h.oom_at = None;
    assert_eq!(short(&h), "held back");
    assert_eq!(short(&outcome(Verdict::FalseKill)), "false kill");
}

#[test]
fn the_summary_sentence_names_only_what_happened() {
    let s = TimelineSummary {
        policy: Policy::Process,
        margin_ratio: 0.05,
        min_margin_bytes: 1 << 20,
        max_margin_bytes: 30 << 20,
        cache_hold_ratio: 0.1,
        prevented: 3,
        false_kill: 1,
        warned: 0,
        false_alarm: 0,
        held_back: 0,
        held_back_oom: 0,
        missed: 2,
        median_lead_s: Some(1.234567),
        same_victim: 2,
        other_victim: 1,
    };
    assert_eq!(
        summary_line(&s),
        "process, margin 5%, cache hold 10%: 3 prevented (median lead 1.23 s), 1 false kill, 2 missed; its \
         victim was the kernel's in 2 of 3."
    );
    let noop = TimelineSummary {
        policy: Policy::Noop,
        warned: 1,
        prevented: 0,
        held_back: 2,
        held_back_oom: 1,
        ..s
    };
    assert!(summary_line(&noop).contains("1 warned"), "{}", summary_line(&noop));
    assert!(summary_line(&noop).contains("2 held back by the cache rule (1 then killed by the kernel)"));
    assert_eq!(percent(0.07), "7%");
    assert_eq!(human_s(0.2), "0.20 s");
    assert_eq!(human_s(125.0), "125 s");
}
