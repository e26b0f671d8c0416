//! `oomctl simulate`: the guard's policy on recorded episodes, end to end.

mod util;

use oomctl::output::SweepRow;
use serde_json::Value;
use util::oomctl;

#[test]
fn simulate_per_episode() {
    let log = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let out = oomctl(&["simulate", "-f", "jsonl", log]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let e: Value = serde_json::from_str(out.stdout_str().lines().next().unwrap()).unwrap();
    let g = &e["guard"];
    assert_eq!(g["policy"], "process");
    assert_eq!(g["fired"], true);
    assert_eq!(g["action"], "kill_process");
    // A 2 GiB limit: margin clamped to 30 MiB.
    assert_eq!(g["margin_bytes"], 30u64 << 20);
    assert_eq!(g["threshold_bytes"], (2048u64 - 30) << 20);
    // The kernel's own badness picks the kernel's victim.
    assert_eq!(g["victim"]["pid"], 23401);
    assert_eq!(g["kernel_victim"]["pid"], 23401);
    assert_eq!(g["same_victim"], true);

    let c = oomctl(&["simulate", "-f", "csv", "--policy", "container", log]).stdout_str();
    let mut rdr = csv::Reader::from_reader(c.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let row = rdr.records().next().unwrap().unwrap();
    let col = |n: &str| row[h.iter().position(|x| x == n).unwrap()].to_owned();
    assert_eq!(col("action"), "kill_container");
    // pause has oom_score_adj -998: killable, so a container kill takes it too.
    assert_eq!(col("killed_pids"), "12345 23401");

    // analyze does not add the guard field.
    let a = oomctl(&["analyze", "-f", "jsonl", log]).stdout_str();
    assert!(!a.contains("\"guard\""));

    // Bad settings are refused.
    assert_eq!(oomctl(&["simulate", "--margin-ratio", "2", log]).code(), 2);
    assert_eq!(
        oomctl(&["simulate", "--min-margin", "9", "--max-margin", "1", log]).code(),
        2
    );
}

/// Issue 15: `--min-margin 1MiB` was refused; every byte-size flag takes
/// units now, and a bad one is named with the forms it takes.
#[test]
fn byte_size_flags_take_units() {
    let log = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let csv_of = |args: &[&str]| {
        let out = oomctl(&[&["simulate", "-f", "csv"], args, &[log]].concat());
        assert_eq!(out.code(), 0, "{args:?}: {}", out.stderr_str());
        out.stdout_str()
    };
    let plain = csv_of(&["--min-margin", "1048576", "--max-margin", "31457280"]);
    assert_eq!(csv_of(&["--min-margin", "1MiB", "--max-margin", "30M"]), plain);
    assert_eq!(
        csv_of(&["--min-margin", "0.0009765625GiB", "--max-margin", "30mib"]),
        plain
    );
    // 2 % of a 2 GiB limit is 41 MiB: a 50 MiB minimum wins.
    let wide = csv_of(&["--min-margin", "50MiB", "--max-margin", "1GiB"]);
    assert!(wide.contains(&format!(",{},", 50u64 << 20)), "{wide}");

    for (cmd, flag) in [
        ("simulate", "--min-margin"),
        ("simulate", "--max-margin"),
        ("simulate", "--page-size"),
        ("analyze", "--page-size"),
        ("guard", "--min-margin"),
        ("guard", "--max-margin"),
    ] {
        // guard takes no path: the bad value alone must be what is refused.
        let bad = oomctl(&[cmd, flag, "1XB"]);
        assert_eq!(bad.code(), 2, "{cmd} {flag}");
        let e = bad.stderr_str();
        assert!(
            e.contains(&format!("'{flag} <SIZE>'"))
                && e.contains("unknown unit \"XB\"")
                && e.contains("1MiB, 30M, 0.5GiB"),
            "{cmd} {flag}: {e}"
        );
    }
    let page = oomctl(&["analyze", "-f", "jsonl", "--page-size", "64KiB", log]);
    assert!(
        page.stdout_str().contains("\"page_size\":65536,"),
        "{}",
        page.stderr_str()
    );
    let over = oomctl(&["simulate", "--min-margin", "16EiB", log]);
    assert!(
        over.stderr_str().contains("more than 18446744073709551615 bytes"),
        "{}",
        over.stderr_str()
    );
}

fn sweep_rows(args: &[&str]) -> Vec<SweepRow> {
    let log = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let out = oomctl(&[&["simulate", "--sweep", "--sweep-ratios", "0.01,0.1"], args, &[log]].concat());
    assert_eq!(out.code(), 0, "{args:?}: {}", out.stderr_str());
    out.stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
        .collect()
}

fn policies(rows: &[SweepRow]) -> Vec<&str> {
    rows.iter().map(|r| r.policy.as_str()).collect()
}

/// Issue 15: `--sweep -f jsonl` printed a pretty JSON array, and
/// `--sweep --policy container` swept process and container anyway.
#[test]
fn sweep_prints_json_lines_and_honours_policy() {
    // One row object per line, schema pinned (unknown fields denied).
    let rows = sweep_rows(&["-f", "jsonl"]);
    assert_eq!(policies(&rows), ["process", "process", "container", "container"]);
    let first = &rows[0];
    assert_eq!(
        (first.memcg_episodes, first.fired, first.acted, first.same_victim),
        (1, 1, 1, 1)
    );
    assert_eq!(first.median_margin_bytes, Some((2048u64 << 20) / 100));
    assert_eq!(rows[1].median_margin_bytes, Some(30u64 << 20), "10 % clamped to 30 MiB");
    assert_eq!(sweep_rows(&[]), rows, "piped, the default is jsonl");

    // -f json: the same rows as one JSON array.
    let log = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let json = oomctl(&["simulate", "--sweep", "-f", "json", "--sweep-ratios", "0.01,0.1", log]);
    let doc: Vec<SweepRow> = serde_json::from_str(&json.stdout_str()).unwrap();
    assert_eq!(doc, rows);

    let one = sweep_rows(&["-f", "jsonl", "--policy", "container"]);
    assert_eq!(policies(&one), ["container", "container"]);
    assert_eq!(one[0].acted, 1);
    let noop = sweep_rows(&["-f", "jsonl", "--policy", "noop"]);
    assert_eq!(policies(&noop), ["noop", "noop"]);
    assert_eq!((noop[0].fired, noop[0].acted), (1, 0), "noop fires but never acts");

    let csv = oomctl(&["simulate", "--sweep", "-f", "csv", "--policy", "process", log]).stdout_str();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(&rdr.headers().unwrap()[0], "policy");
    assert!(rdr.records().all(|r| &r.unwrap()[0] == "process"), "{csv}");

    // The table says which policies it swept, and why.
    let all = oomctl(&["simulate", "--sweep", "-f", "table", log]).stdout_str();
    assert!(
        all.contains("Swept: process, container: every policy that kills (--policy picks one).\n"),
        "{all}"
    );
    assert!(
        all.contains("Episodes: 1, 1 of them memcg OOMs with a known limit.\n"),
        "{all}"
    );
    let given = oomctl(&["simulate", "--sweep", "-f", "table", "--policy", "container", log]).stdout_str();
    assert!(given.contains("Swept: container (--policy).\n"), "{given}");
    assert!(!given.contains("process"), "{given}");

    let report = oomctl(&["simulate", "--sweep", "-f", "report", log]);
    assert_eq!(report.code(), 2);
    assert!(
        report
            .stderr_str()
            .contains("--sweep prints table, json, jsonl or csv, not report"),
        "{}",
        report.stderr_str()
    );
}

/// oomctl in a terminal 200 columns wide.
fn wide(args: &[&str]) -> util::Run {
    util::oomctl_env(args, &[("COLUMNS", "200")])
}

/// The first `Guard:` section of a report: its line and those indented
/// under it.
fn guard_lines(report: &str) -> Vec<&str> {
    // Reports here are run 200 columns wide (`wide`): no field wraps.
    let mut lines = report.lines().skip_while(|l| !l.starts_with("Guard:"));
    let first = lines.next().into_iter();
    first.chain(lines.take_while(|l| l.starts_with("         "))).collect()
}

/// Issue 15: `-f report` dropped the guard result; it is a section of its
/// own now, in every episode of a simulation.
#[test]
fn report_shows_the_guard_section() {
    let log = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let r = wide(&["simulate", "-f", "report", log]).stdout_str();
    assert_eq!(
        guard_lines(&r),
        [
            "Guard:   policy process: usage reached its threshold, 30.0 MiB below the limit",
            "         kill_process: java (pid 23401), the kernel's victim too",
            "         at 2.0 GiB the guard kills the task with the highest badness",
        ],
        "{r}"
    );
    let r = wide(&["simulate", "-f", "report", "--policy", "container", log]).stdout_str();
    assert_eq!(
        guard_lines(&r)[1],
        "         kill_container: 2 processes: pause (pid 12345), java (pid 23401), chosen by java (pid 23401), the kernel's victim too",
        "{r}"
    );
    let r = wide(&["simulate", "-f", "report", "--policy", "noop", log]).stdout_str();
    assert_eq!(
        guard_lines(&r)[1..],
        [
            "         none: would have chosen java (pid 23401), the kernel's victim too",
            "         policy noop: reported only"
        ],
        "{r}"
    );
    // A global OOM: one line that says why there is no threshold.
    let global = "corpus/kernels/5.4-ubuntu-global.log";
    let r = wide(&["simulate", "-f", "report", global]).stdout_str();
    assert_eq!(
        guard_lines(&r),
        ["Guard:   policy process: not a memcg OOM with a known limit: a memcg guard has no threshold here"],
        "{r}"
    );
    // analyze has no guard section.
    let a = wide(&["analyze", "-f", "report", log]).stdout_str();
    assert!(!a.contains("Guard:"), "{a}");
}

/// The live guard's `-f report` goes through the same section: its
/// decision, with no kernel victim to compare.
#[test]
fn report_of_a_live_guard_decision() {
    use oomctl::model::{Episode, GuardOutcome, Killer, Policy, Proc};
    use oomctl::output::{ReportSink, Sink, Summary};
    let ep = Episode {
        killer: Killer::OomGuard,
        complete: true,
        guard: Some(GuardOutcome {
            policy: Policy::Container,
            margin_bytes: Some(4 << 20),
            threshold_bytes: Some(196 << 20),
            fired: true,
            held_back: false,
            action: "kill_container".into(),
            victim: Some(Proc {
                pid: 7,
                comm: "java".into(),
            }),
            killed: (1..=7).map(|pid| Proc { pid, comm: "w".into() }).collect(),
            kernel_victim: None,
            same_victim: None,
            note: "the guard killed before the kernel (kill_container)".into(),
        }),
        ..Episode::default()
    };
    let mut out = Vec::new();
    {
        let mut sink = ReportSink::new(Box::new(&mut out), oomctl::output::Style::new(200, false));
        sink.episode(&ep).unwrap();
        sink.finish(&Summary::default()).unwrap();
    }
    let r = String::from_utf8(out).unwrap();
    assert_eq!(
        guard_lines(&r),
        [
            "Guard:   policy container: usage reached its threshold, 4.0 MiB below the limit",
            "         kill_container: 7 processes: w (pid 1), w (pid 2), w (pid 3), w (pid 4), w (pid 5), 2 more, chosen by java (pid 7)",
            "         the guard killed before the kernel (kill_container)",
        ],
        "{r}"
    );
}

/// Issue 15: `-f events` dropped the guard result; the message ends with
/// it, and the line keeps its five fields.
#[test]
fn events_end_with_what_the_guard_would_have_done() {
    let memcg = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let global = "corpus/kernels/5.4-ubuntu-global.log";
    let message = |args: &[&str]| {
        let out = oomctl(&[&["simulate", "-f", "events"], args].concat()).stdout_str();
        let fields: Vec<String> = out.trim_end().split('\t').map(str::to_owned).collect();
        assert_eq!(fields.len(), 5, "{out}");
        fields[4].clone()
    };
    let m = message(&[memcg]);
    assert!(
        m.ends_with(
            ", cause: anon; oom-guard policy process would have killed first: victim process: java, pid: 23401 (the kernel's victim too)"
        ),
        "{m}"
    );
    let m = message(&["--policy", "container", memcg]);
    assert!(
        m.ends_with("; oom-guard policy container would have killed the container first: victim process: java, pid: 23401 and 1 other process (the kernel's victim too)"),
        "{m}"
    );
    let m = message(&["--policy", "noop", memcg]);
    assert!(
        m.ends_with("; oom-guard policy noop would have chosen victim process: java, pid: 23401 (the kernel's victim too), killing nothing"),
        "{m}"
    );
    let m = message(&[global]);
    assert!(
        m.ends_with(
            "; oom-guard policy process: not a memcg OOM with a known limit: a memcg guard has no threshold here"
        ),
        "{m}"
    );
    let a = oomctl(&["analyze", "-f", "events", memcg]).stdout_str();
    assert!(!a.contains("oom-guard"), "{a}");
}

/// The `oom.guard.*` attributes of an OpenTelemetry record.
fn otel_guard(args: &[&str]) -> serde_json::Map<String, Value> {
    let out = oomctl(&[&["simulate", "-f", "otel"], args].concat()).stdout_str();
    let rec: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    rec["attributes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("oom.guard."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Issue 15: `-f otel` dropped the guard result; it is `oom.guard.*`.
#[test]
fn otel_records_carry_oom_guard_attributes() {
    let memcg = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let want = serde_json::json!({
        "oom.guard.policy": "container",
        "oom.guard.action": "kill_container",
        "oom.guard.fired": true,
        "oom.guard.held_back": false,
        "oom.guard.margin_bytes": 30u64 << 20,
        "oom.guard.threshold_bytes": (2048u64 - 30) << 20,
        "oom.guard.process.pid": 23401,
        "oom.guard.process.executable.name": "java",
        "oom.guard.killed": 2,
        "oom.guard.same_victim": true,
        "oom.guard.note": "the task table lists the OOM cgroup's tasks; a container kill takes every killable one",
    });
    assert_eq!(Value::Object(otel_guard(&["--policy", "container", memcg])), want);
    // No threshold: no sizes, no process, no comparison.
    let global = otel_guard(&["corpus/kernels/5.4-ubuntu-global.log"]);
    let keys: Vec<&str> = global.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "oom.guard.action",
            "oom.guard.fired",
            "oom.guard.held_back",
            "oom.guard.killed",
            "oom.guard.note",
            "oom.guard.policy"
        ]
    );
    let a = oomctl(&["analyze", "-f", "otel", memcg]).stdout_str();
    assert!(!a.contains("oom.guard."), "{a}");
}

/// Issue 15: `-f prom` dropped the guard result; simulated outcomes are
/// counted in a family of their own, which promtool accepts.
#[test]
fn prom_counts_simulated_guard_outcomes() {
    let memcg = "corpus/kernels/rhel7-3.10-k8s-memcg.log";
    let global = "corpus/kernels/5.4-ubuntu-global.log";
    let out = oomctl(&["simulate", "-f", "prom", "--policy", "container", memcg, global]).stdout_str();
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("oomctl_guard_simulated_episodes_total"))
        .collect();
    assert_eq!(
        lines,
        [
            r#"oomctl_guard_simulated_episodes_total{policy="container",action="kill_container",outcome="same_victim"} 1"#,
            r#"oomctl_guard_simulated_episodes_total{policy="container",action="none",outcome="no_threshold"} 1"#,
        ],
        "{out}"
    );
    let a = oomctl(&["analyze", "-f", "prom", memcg]).stdout_str();
    assert!(!a.contains("simulated"), "{a}");
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Err(e) => println!("skipped promtool check: promtool not runnable ({e}; apt-get install prometheus)"),
        Ok(mut child) => {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(out.as_bytes()).unwrap();
            let o = child.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// The README's claim: on the corpus, the badness rule picks the kernel's
/// own victim in every memcg OOM where both are known, at every setting
/// of the default sweep (scripts/simulate-corpus.py prints the counts).
#[test]
fn on_the_corpus_the_guard_picks_the_kernels_victim() {
    // The corpus's logs, as tests/corpus.rs and scripts/simulate-corpus.py
    // read them.
    let logs: Vec<String> = util::corpus_logs().iter().map(|p| p.display().to_string()).collect();
    let args: Vec<&str> = ["simulate", "--sweep", "-f", "jsonl"]
        .into_iter()
        .chain(logs.iter().map(String::as_str))
        .collect();
    let out = oomctl(&args);
    let rows: Vec<SweepRow> = out
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 8, "4 ratios × 2 policies");
    for r in &rows {
        assert!(r.same_victim > 0, "{r:?}");
        assert_eq!(r.other_victim, 0, "the guard's victim differs from the kernel's: {r:?}");
    }
}
