//! After an incident (issue 16): inputs come out in time order, and
//! `--since`, `--until` and `--match` keep the episodes asked for.

mod util;

use util::{oomctl, TempDir};

/// One kill line in journalctl's short-iso form (the line of
/// corpus/containers/journalctl-k-short-iso.txt, 6.18 kernel), at `wall`
/// on `host`, killing `pid` (`comm`).
fn kill(wall: &str, host: &str, pid: u32, comm: &str) -> String {
    format!(
        "{wall}+0000 {host} kernel: Memory cgroup out of memory: Killed process {pid} ({comm}) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0\n"
    )
}

fn write(dir: &TempDir, name: &str, data: &[u8]) -> String {
    let p = dir.path(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

/// (host, pid) of every printed episode, in order.
fn printed(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["host"].as_str().unwrap_or("-").to_owned(),
                v["victims"][0]["pid"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn pids(stdout: &str) -> Vec<u64> {
    printed(stdout).into_iter().map(|(_, p)| p).collect()
}

/// A day of kills on two hosts, and one uptime-only dmesg line.
fn day(d: &TempDir) -> String {
    let mut log = String::new();
    log += &kill("2026-11-22T09:59:59", "node-a", 1, "java");
    log += &kill("2026-11-22T10:00:00", "node-a", 2, "python3");
    log += &kill("2026-11-22T10:30:00", "node-b", 3, "java");
    log += &kill("2026-11-22T11:00:00", "node-b", 4, "nginx");
    log += &kill("2026-11-22T11:00:01", "node-a", 5, "java");
    log += "[ 5636.239815] Memory cgroup out of memory: Killed process 6 (java) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0\n";
    write(d, "day.log", log.as_bytes())
}

#[test]
fn since_and_until_keep_a_window_and_count_what_has_no_wall_clock() {
    let d = TempDir::new("window");
    let f = day(&d);
    let out = oomctl(&[
        "analyze",
        "-f",
        "jsonl",
        "--since",
        "2026-11-22 10:00",
        "--until",
        "2026-11-22 11:00:00",
        &f,
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert_eq!(
        pids(&out.stdout_str()),
        [2, 3, 4, 6],
        "inclusive bounds; no wall clock kept"
    );
    let warned: Vec<_> = out
        .stderr_str()
        .lines()
        .filter(|l| l.contains("no wall clock"))
        .map(str::to_owned)
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr_str());
    assert!(warned[0].contains("1 episode has"), "{}", warned[0]);
    // Without a window nothing is said of wall clocks.
    let all = oomctl(&["analyze", "-f", "jsonl", &f]);
    assert_eq!(pids(&all.stdout_str()), [1, 2, 3, 4, 5, 6]);
    assert!(!all.stderr_str().contains("no wall clock"), "{}", all.stderr_str());
    // @EPOCH, and a date alone is its midnight.
    let epoch = oomctl(&["analyze", "-f", "jsonl", "--since", "@1795345200", &f]);
    assert_eq!(pids(&epoch.stdout_str()), [4, 5, 6], "{}", epoch.stderr_str());
    let next_day = oomctl(&["analyze", "-f", "jsonl", "--since", "2026-11-23", &f]);
    assert_eq!(pids(&next_day.stdout_str()), [6]);
    // Relative to now: the log is in the past.
    let recent = oomctl(&["analyze", "-f", "jsonl", "--until", "-2h", &f]);
    assert_eq!(pids(&recent.stdout_str()).len(), 6);
}

#[test]
fn matches_are_anded_globs_over_episode_fields() {
    let d = TempDir::new("match");
    let f = day(&d);
    let run = |args: &[&str]| {
        let mut a = vec!["analyze", "-f", "jsonl"];
        a.extend_from_slice(args);
        a.push(&f);
        let out = oomctl(&a);
        let found = pids(&out.stdout_str());
        // 1: no episode kept, as when none is found.
        assert_eq!(out.code(), if found.is_empty() { 1 } else { 0 }, "{}", out.stderr_str());
        found
    };
    assert_eq!(run(&["--match", "comm=java"]), [1, 3, 5, 6]);
    assert_eq!(run(&["--match", "comm=java", "--match", "host=node-[ab]"]), [1, 3, 5]);
    assert_eq!(run(&["--match", "comm=java", "--match", "host=*-b"]), [3]);
    assert_eq!(run(&["--match", "comm=py*", "--match", "scope=memcg"]), [2]);
    assert_eq!(
        run(&["--match", "namespace=*"]),
        Vec::<u64>::new(),
        "no pod names: no match"
    );
    assert_eq!(run(&["--match", "comm=n?inx", "--since", "2026-11-22 10:30"]), [4]);
}

#[test]
fn bad_filters_are_usage_errors_that_name_the_flag() {
    for (args, says) in [
        (&["--match", "podname=x"][..], "--match podname=x: unknown key"),
        (&["--match", "comm"][..], "--match comm: expected KEY=GLOB"),
        (&["--match", "comm=[ab"][..], "--match comm=[ab: bad glob"),
        (&["--since", "last tuesday"][..], "--since last tuesday: not a time"),
        (&["--until", "-3 fortnights"][..], "--until -3 fortnights:"),
        (
            &["--since", "2026-11-23", "--until", "2026-11-22"][..],
            "is after --until",
        ),
    ] {
        let mut a = vec!["analyze", "-f", "jsonl"];
        a.extend_from_slice(args);
        a.push("/dev/null");
        let out = oomctl(&a);
        assert_eq!(out.code(), 2, "{args:?}");
        assert!(out.stderr_str().contains(says), "{args:?}: {}", out.stderr_str());
        assert!(out.stdout_str().is_empty());
    }
}
