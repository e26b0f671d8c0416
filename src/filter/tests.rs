use super::*;
use crate::model::{Episode, Text, Victim};

fn glob(p: &str) -> Glob {
    Glob::new(p).unwrap()
}

#[test]
fn glob_stars_questions_and_classes() {
    assert!(glob("*").matches(""));
    assert!(glob("*").matches("/kubepods/burstable/pod1"));
    assert!(
        glob("/kubepods/*").matches("/kubepods/burstable/pod1"),
        "a star crosses /"
    );
    assert!(!glob("/kubepods/*").matches("/system.slice/x"));
    assert!(glob("java?").matches("java8"));
    assert!(!glob("java?").matches("java"));
    assert!(glob("*[0-9]").matches("worker7"));
    assert!(!glob("*[0-9]").matches("worker"));
    assert!(glob("[!a-c]x").matches("dx"));
    assert!(!glob("[^a-c]x").matches("bx"));
    assert!(glob("[]]").matches("]"), "a ] first is literal");
    assert!(glob("a[-]b").matches("a-b"));
    assert!(glob(r"a\*b").matches("a*b"));
    assert!(!glob(r"a\*b").matches("axb"));
    assert!(glob("*a*b*").matches("xxaxxbxx"));
    assert!(!glob("*a*b*").matches("xxbxxaxx"));
    assert!(glob("pod-é?").matches("pod-éü"), "characters, not bytes");
    assert!(glob("").matches(""));
    assert!(!glob("").matches("x"));
}

#[test]
fn glob_errors() {
    assert!(Glob::new("[abc").is_err());
    assert!(Glob::new("[]").is_err());
    assert!(Glob::new("a\\").is_err());
    assert!(Glob::new("[z-a]").is_err());
}

/// Patterns that make backtracking matchers exponential stay within
/// pattern × text steps.
#[test]
fn glob_pathological_patterns_are_bounded() {
    let text = "a".repeat(20_000);
    let p = format!("{}b", "a*".repeat(200));
    let started = std::time::Instant::now();
    assert!(!glob(&p).matches(&text));
    assert!(!glob(&format!("{}b", "*".repeat(10_000))).matches(&text));
    assert!(glob(&"?*".repeat(100)).matches(&text));
    assert!(!glob(&format!("*{}", "[a]".repeat(300) + "b")).matches(&text));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn match_parses_keys_and_names_the_flag_in_errors() {
    assert_eq!(Match::parse("pod=web-*").unwrap().key, Key::Pod);
    let e = Match::parse("podname=web").unwrap_err().to_string();
    assert!(
        e.starts_with("--match podname=web: unknown key") && e.contains("namespace"),
        "{e}"
    );
    let e = Match::parse("web").unwrap_err().to_string();
    assert!(e.contains("--match web: expected KEY=GLOB"), "{e}");
    let e = Match::parse("comm=[x").unwrap_err().to_string();
    assert!(e.contains("--match comm=[x: bad glob"), "{e}");
    assert!(
        Match::parse("cgroup=/a=b*").unwrap().glob.matches("/a=bc"),
        "= after the key is the glob's"
    );
}

fn victim(comm: &str) -> Victim {
    Victim {
        comm: Text::from(comm),
        ..Victim::default()
    }
}

#[test]
fn comm_is_the_victims_or_the_triggers_when_no_kill() {
    let m = Match::parse("comm=java").unwrap();
    let mut ep = Episode {
        victims: vec![victim("bash"), victim("java")],
        ..Episode::default()
    };
    assert!(m.matches(&ep), "any victim");
    ep.victims.clear();
    assert!(!m.matches(&ep), "nothing known: no match");
    ep.trigger = Some(crate::model::Trigger {
        comm: Some(Text::from("java")),
        ..Default::default()
    });
    assert!(m.matches(&ep), "no kill: the trigger");
    assert!(
        !Match::parse("host=*").unwrap().matches(&ep),
        "no host: even * does not match"
    );
}

fn at(wall: Option<&str>) -> Episode {
    let mut ep = Episode::default();
    ep.time.wall = wall.map(Text::from);
    ep
}

fn t(s: &str) -> NaiveDateTime {
    wall_time(s).unwrap()
}

#[test]
fn window_is_inclusive_and_keeps_episodes_without_wall_clock() {
    let f = Filter {
        since: Some(t("2026-11-22T10:00:00")),
        until: Some(t("2026-11-22T11:00:00")),
        matches: Vec::new(),
    };
    assert_eq!(f.verdict(&at(Some("2026-11-22T10:00:00"))), Verdict::Keep);
    assert_eq!(f.verdict(&at(Some("2026-11-22T11:00:00"))), Verdict::Keep);
    assert_eq!(f.verdict(&at(Some("2026-11-22T11:00:00.5"))), Verdict::Drop);
    assert_eq!(f.verdict(&at(Some("2026-11-22T09:59:59"))), Verdict::Drop);
    assert_eq!(f.verdict(&at(Some("2026-11-22T10:30:00.123456Z"))), Verdict::Keep);
    assert_eq!(
        f.verdict(&at(Some("2026-11-22T12:30:00+02:00"))),
        Verdict::Keep,
        "10:30 UTC"
    );
    assert_eq!(f.verdict(&at(None)), Verdict::KeepNoWall);
    let nothing = Filter::default();
    assert!(nothing.is_empty());
    assert_eq!(
        nothing.verdict(&at(None)),
        Verdict::Keep,
        "no window: nothing to warn about"
    );
}

#[test]
fn journalctl_time_forms() {
    let now = t("2026-11-28T18:30:15");
    let p = |s: &str| parse_time("--since", s, now).map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
    assert_eq!(p("2026-11-22 10:00:20").unwrap(), "2026-11-22 10:00:20");
    assert_eq!(p("2026-11-22 10:00").unwrap(), "2026-11-22 10:00:00");
    assert_eq!(p("2026-11-22").unwrap(), "2026-11-22 00:00:00");
    assert_eq!(p("2026-11-22T10:00:20Z").unwrap(), "2026-11-22 10:00:20");
    assert_eq!(p("10:00").unwrap(), "2026-11-28 10:00:00");
    assert_eq!(p("10:00:05").unwrap(), "2026-11-28 10:00:05");
    assert_eq!(p("now").unwrap(), "2026-11-28 18:30:15");
    assert_eq!(p("today").unwrap(), "2026-11-28 00:00:00");
    assert_eq!(p("yesterday").unwrap(), "2026-11-27 00:00:00");
    assert_eq!(p("tomorrow").unwrap(), "2026-11-29 00:00:00");
    assert_eq!(p("-2h").unwrap(), "2026-11-28 16:30:15");
    assert_eq!(p("+1d").unwrap(), "2026-11-29 18:30:15");
    assert_eq!(p("-1h 30min").unwrap(), "2026-11-28 17:00:15");
    assert_eq!(p("2 hours ago").unwrap(), "2026-11-28 16:30:15");
    assert_eq!(p("-90").unwrap(), "2026-11-28 18:28:45", "seconds without a unit");
    assert_eq!(p("@1700000000").unwrap(), "2023-11-14 22:13:20");
    for bad in [
        "",
        "soon",
        "-2x",
        "2026-13-01",
        "@x",
        "-",
        "@1e300",
        "-99999999999y",
        "25:00",
    ] {
        let e = p(bad).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("--since {bad}:")) && e.contains("expected"),
            "{bad}: {e}"
        );
    }
}
