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

/// `kern.log kern.log.1 kern.log.2.gz`, as a glob gives them, and a second
/// host's log over the same days, and an uptime-only dmesg.
fn rotated(d: &TempDir) -> Vec<String> {
    use std::io::Write;
    let a = |w: &str, pid| kill(w, "node-a", pid, "java");
    let log = write(
        d,
        "kern.log",
        (a("2026-11-22T10:00:00", 30) + &a("2026-11-22T12:00:00", 31)).as_bytes(),
    );
    let log1 = write(
        d,
        "kern.log.1",
        (a("2026-11-21T10:00:00", 20) + &a("2026-11-22T10:00:00", 21)).as_bytes(),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all((a("2026-11-20T10:00:00", 10) + &a("2026-11-20T12:00:00", 11)).as_bytes())
        .unwrap();
    let log2 = write(d, "kern.log.2.gz", &gz.finish().unwrap());
    let mut b = kill("2026-11-20T11:00:00", "node-b", 100, "nginx");
    b += &kill("2026-11-21T11:00:00", "node-b", 101, "nginx");
    b += "[ 7.000000] Memory cgroup out of memory: Killed process 109 (nginx) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0\n";
    b += &kill("2026-11-22T11:00:00", "node-b", 102, "nginx");
    let other = write(d, "node-b.log", b.as_bytes());
    let dmesg = write(d, "dmesg.txt", b"[ 5636.239815] Memory cgroup out of memory: Killed process 1 (java) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0\n");
    vec![log, log1, log2, other, dmesg]
}

#[test]
fn rotated_logs_come_oldest_first_in_any_order_given() {
    let d = TempDir::new("rotated");
    let files = rotated(&d);
    let want = [10, 11, 20, 21, 30, 31];
    for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
        let mut a = vec!["analyze", "-f", "jsonl", "-j1"];
        a.extend(order.iter().map(|&i| files[i].as_str()));
        let out = oomctl(&a);
        assert_eq!(pids(&out.stdout_str()), want, "{order:?}: {}", out.stderr_str());
    }
}

#[test]
fn hosts_merge_by_wall_time_and_timeless_inputs_lead_the_same_with_any_jobs() {
    let d = TempDir::new("merge");
    let files = rotated(&d);
    let run = |jobs: &str| {
        let mut a = vec!["analyze", "-f", "jsonl", jobs];
        a.extend(files.iter().map(String::as_str));
        oomctl(&a)
    };
    let one = run("-j1");
    assert_eq!(one.code(), 0, "{}", one.stderr_str());
    // dmesg.txt has no wall time: it leads. node-b's uptime-only kill
    // keeps its place after the kill before it in its own log.
    assert_eq!(
        printed(&one.stdout_str()),
        [
            ("-", 1),
            ("node-a", 10),
            ("node-b", 100),
            ("node-a", 11),
            ("node-a", 20),
            ("node-b", 101),
            ("-", 109),
            ("node-a", 21),
            ("node-a", 30),
            ("node-b", 102),
            ("node-a", 31),
        ]
        .map(|(h, p)| (h.to_owned(), p))
    );
    for jobs in ["-j2", "-j4"] {
        let many = run(jobs);
        assert_eq!(many.stdout_str(), one.stdout_str(), "{jobs}");
        assert_eq!(many.stderr_str(), one.stderr_str(), "{jobs}");
    }
}

/// Every format prints the same bytes with any number of jobs, though the
/// parallel paths render some formats on the scanning threads: merged
/// hosts, rotated logs, timeless inputs, one report captured twice
/// (de-duplicated across inputs), an oom-guard event in a log, a snapshot
/// that one input's episode joins (so it is not an episode of its own),
/// with and without a time window.
#[test]
fn every_format_prints_the_same_with_any_jobs() {
    let d = TempDir::new("formats-jobs");
    let mut files = rotated(&d);
    for f in [
        "corpus/real/6.18-v1-anon.dmesg.log",
        "corpus/real/6.18-v1-anon.dmesg-T.log",
        "corpus/real/6.18-v1-anon.kmsg.log",
        "corpus/real/6.18-v1-k8s.dmesg.log",
        "corpus/real/6.18-v1-multi.dmesg.log",
        "corpus/articles/seed-002-oom-guard.md.txt",
    ] {
        files.push(f.to_owned());
    }
    // An oom-guard event on the cgroup of 6.18-v1-k8s's OOM.
    let memcg = "/process_api/9653001d0bdd10d9421050e32154b4e7/oomctl-lab-7528/kubepods/burstable/pod3f1c9a2e-5b7d-4c11-a0e2-b6f4d8c9e0a1";
    let event = format!(
        r#"{{"hostname":"n1","timestamp":"2026-11-20T07:12:14.561650646Z","oomcgroup":"/sys/fs/cgroup/memory{memcg}","proccgroup":"/sys/fs/cgroup/memory{memcg}","threshold":205520896,"usage":206483456,"killed":"16481(fake) ","stats":"cache 20480|rss 205938688|","policy":"Container"}}"#
    );
    let snap = write(&d, "guard-event.txt", event.as_bytes());
    let run = |extra: &[&str], jobs: &str| {
        let mut a = vec!["analyze", jobs, "--snapshots", &snap];
        a.extend_from_slice(extra);
        a.extend(files.iter().map(String::as_str));
        oomctl(&a)
    };
    // What the scenario is meant to hold.
    let json = run(&["-f", "json"], "-j1");
    assert_eq!(json.code(), 0, "{}", json.stderr_str());
    let v: serde_json::Value = serde_json::from_str(&json.stdout_str()).unwrap();
    assert!(v["summary"]["duplicates"].as_u64().unwrap() >= 1, "{}", v["summary"]);
    let eps = v["episodes"].as_array().unwrap();
    let joined = eps
        .iter()
        .filter(|e| e["killer"] == "kernel" && e["snapshots"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(joined.count(), 1, "the k8s episode joins the event");
    assert!(
        !eps.iter().any(|e| e["source"]["file"] == snap.as_str()),
        "a joined event is not an episode of its own"
    );
    assert!(
        eps.iter().any(|e| e["killer"] == "oom_guard"),
        "the article's guard event"
    );
    for window in [&[][..], &["--since", "2026-11-21"][..]] {
        for format in [
            "jsonl", "json", "csv", "events", "otel", "table", "report", "prom", "html",
        ] {
            let mut extra = vec!["-f", format];
            extra.extend_from_slice(window);
            let one = run(&extra, "-j1");
            assert_eq!(one.code(), 0, "{format} {window:?}: {}", one.stderr_str());
            for jobs in ["-j2", "-j4"] {
                let many = run(&extra, jobs);
                assert!(many.stdout == one.stdout, "{format} {window:?} {jobs}: stdout differs");
                assert_eq!(many.stderr_str(), one.stderr_str(), "{format} {window:?} {jobs}");
            }
        }
    }
}

/// A reader that stops early (`| head`) ends a merge at once: the scans of
/// every merged input stop, none is left waiting on a full channel.
#[test]
fn a_closed_output_ends_a_merge() {
    use std::io::Read;
    let d = TempDir::new("merge-closed");
    // Three hosts over the same hours: one group, merged.
    let mut files = Vec::new();
    for host in ["node-a", "node-b", "node-c"] {
        let mut log = String::new();
        for i in 0..20_000u32 {
            let wall = format!("2026-11-22T{:02}:{:02}:{:02}", i / 3600 % 24, i / 60 % 60, i % 60);
            log += &kill(&wall, host, i + 1, "java");
        }
        files.push(write(&d, &format!("{host}.log"), log.as_bytes()));
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl", "-j1"])
        .args(&files)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 4096];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("oomctl did not end after its output was closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
