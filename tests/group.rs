//! `analyze --group-by`: one row per group in table, jsonl, json and csv,
//! the row's schema pinned (unknown fields denied), `--top`, the cap on
//! distinct groups, and the formats that refuse grouping.

mod util;

use serde::Deserialize;
use std::collections::BTreeMap;
use unicode_width::UnicodeWidthStr;
use util::{oomctl, oomctl_env, oomctl_stdin, TempDir};

/// The group row as README "Grouping" documents it: a field added,
/// renamed or removed without updating this fails here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    key: BTreeMap<String, Option<String>>,
    episodes: u64,
    first: When,
    last: When,
    causes: BTreeMap<String, u64>,
    victim: Option<Victim>,
    peak_usage_bytes: Option<u64>,
    limit_bytes: Option<u64>,
    unlimited: bool,
    rest: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct When {
    wall: Option<String>,
    uptime_s: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Victim {
    comm: String,
    kills: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    groups: Vec<Row>,
    summary: oomctl::model::Summary,
}

/// Real captures: the lab's cgroup v1 and v2 OOMs, kill storms, pastes.
const INPUTS: [&str; 3] = ["corpus/real", "corpus/public", "corpus/vm"];

fn rows(out: &[u8]) -> Vec<Row> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn episodes() -> usize {
    let mut args = vec!["analyze", "-f", "jsonl"];
    args.extend(INPUTS);
    String::from_utf8_lossy(&oomctl(&args).stdout).lines().count()
}

fn grouped(format: &str, keys: &str, extra: &[&str]) -> util::Run {
    let mut args = vec!["analyze", "-f", format, "--group-by", keys];
    args.extend(extra);
    args.extend(INPUTS);
    oomctl(&args)
}

#[test]
fn every_episode_is_counted_once_in_its_group() {
    let want = episodes();
    assert!(want > 40, "{want}");
    for keys in ["cgroup", "cause,scope", "pod,container", "comm,host", "namespace,unit"] {
        let run = grouped("jsonl", keys, &[]);
        let rows = rows(&run.stdout);
        assert_eq!(rows.iter().map(|r| r.episodes).sum::<u64>() as usize, want, "{keys}");
        // The most episodes first; each key named in every row.
        assert!(rows.windows(2).all(|w| w[0].episodes >= w[1].episodes), "{keys}");
        let names: Vec<&str> = keys.split(',').collect();
        for r in &rows {
            assert_eq!(r.key.keys().count(), names.len());
            assert!(names.iter().all(|n| r.key.contains_key(*n)), "{keys}: {r:?}");
            assert_eq!(r.causes.values().sum::<u64>(), r.episodes, "{r:?}");
            assert!(!r.rest);
            if let Some(v) = &r.victim {
                assert!(v.kills >= 1 && !v.comm.is_empty());
            }
            if r.unlimited {
                assert_eq!(r.limit_bytes, None);
            }
            assert!(r.first.wall.is_some() || r.first.uptime_s.is_some() || r.last.wall.is_none());
        }
    }
}

#[test]
fn a_lab_cgroup_group_has_its_numbers() {
    // corpus/vm: 12 OOMs of one cgroup (/burst) in the lab's kill storm.
    let run = oomctl(&["analyze", "-f", "json", "--group-by", "cgroup", "corpus/vm"]);
    let doc: Doc = serde_json::from_slice(&run.stdout).expect("json document");
    let burst = doc
        .groups
        .iter()
        .find(|r| r.key["cgroup"].as_deref() == Some("/burst"))
        .expect("/burst");
    assert_eq!(burst.episodes, 12);
    assert_eq!(burst.victim.as_ref().map(|v| v.comm.as_str()), Some("alloc"));
    assert_eq!(burst.peak_usage_bytes, Some(16 << 20));
    assert_eq!(burst.limit_bytes, Some(16 << 20));
    let (f, l) = (
        burst.first.wall.as_deref().unwrap(),
        burst.last.wall.as_deref().unwrap(),
    );
    assert!(f < l, "{f} {l}");
    assert_eq!(doc.groups.iter().map(|r| r.episodes).sum::<u64>(), doc.summary.episodes);
}

#[test]
fn top_keeps_the_largest_groups() {
    let all = rows(&grouped("jsonl", "cgroup", &[]).stdout);
    let top = rows(&grouped("jsonl", "cgroup", &["--top", "3"]).stdout);
    assert!(all.len() > 3);
    assert_eq!(top.len(), 3);
    for (a, t) in all.iter().zip(&top) {
        assert_eq!((&a.key, a.episodes), (&t.key, t.episodes));
    }
    let table = grouped("table", "cgroup", &["--top", "3"]).stdout_str();
    assert!(table.contains(&format!("{} more with", all.len() - 3)), "{table}");
    let r = oomctl(&["analyze", "--top", "3", "corpus/vm"]);
    assert_eq!(r.code(), 2, "--top alone: {}", r.stderr_str());
}

#[test]
fn csv_has_a_column_per_key_then_the_counts() {
    let run = grouped("csv", "namespace,cause", &[]);
    let text = run.stdout_str();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "namespace,cause,episodes,first_wall,first_uptime_s,last_wall,last_uptime_s,causes,\
             victim,victim_kills,peak_usage_bytes,limit_bytes,unlimited,rest"
        )
    );
    let total: usize = lines
        .map(|l| l.split(',').nth(2).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, episodes());
}

#[test]
fn the_table_is_never_wider_than_the_terminal() {
    for keys in [
        "pod",
        "cgroup,comm",
        "pod,namespace,container,cgroup,unit,cause,comm,host,scope",
    ] {
        for cols in [40, 59, 70, 80, 109, 110, 132, 200] {
            let mut args = vec!["analyze", "-f", "table", "--group-by", keys];
            args.extend(INPUTS);
            let c = cols.to_string();
            let run = oomctl_env(&args, &[("COLUMNS", &c)]);
            let text = run.stdout_str();
            assert!(text.lines().next().unwrap().contains("EPIS."), "{text}");
            for line in text.lines() {
                assert!(line.width() <= cols, "{keys} at {cols}: {line:?}");
            }
            assert!(text.contains(" episodes in "), "{text}");
        }
    }
}

#[test]
fn formats_without_groups_are_refused() {
    for f in ["report", "events", "otel", "prom"] {
        let r = oomctl(&["analyze", "-f", f, "--group-by", "pod", "corpus/vm"]);
        assert_eq!(r.code(), 2, "{f}");
        assert!(r.stdout.is_empty(), "{f}");
        assert!(
            r.stderr_str().contains("--group-by prints table, jsonl, json or csv"),
            "{f}: {}",
            r.stderr_str()
        );
    }
    let r = oomctl(&["analyze", "--group-by", "pod,bogus", "corpus/vm"]);
    assert_eq!(r.code(), 2);
    assert!(r.stderr_str().contains("unknown key \"bogus\""), "{}", r.stderr_str());
    let r = oomctl(&["analyze", "--group-by", "pod,pod", "corpus/vm"]);
    assert_eq!(r.code(), 2);
    let r = oomctl(&["simulate", "--group-by", "pod", "corpus/vm"]);
    assert_eq!(r.code(), 2, "{}", r.stderr_str());
}

/// 10,050 processes each killed once: the first 10,000 are counted apart,
/// the rest in one `rest` row, and the table says so.
#[test]
fn groups_past_the_cap_are_counted_together() {
    let mut log = String::new();
    for i in 0..10_050u32 {
        log.push_str(&format!(
            "[{}.000000] Out of memory: Killed process {} (p{i}) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB\n",
            100 + i * 20,
            1000 + i
        ));
    }
    let d = TempDir::new("group-cap");
    let p = d.path("storm.log");
    std::fs::write(&p, &log).unwrap();
    let p = p.display().to_string();
    let run = oomctl(&["analyze", "-f", "jsonl", "--group-by", "comm", &p]);
    let rows = rows(&run.stdout);
    assert_eq!(rows.len(), 10_001);
    let rest = rows.last().unwrap();
    assert!(rest.rest && rest.key["comm"].is_none(), "{rest:?}");
    assert_eq!(rest.episodes, 50);
    assert_eq!(rows.iter().filter(|r| r.rest).count(), 1);
    let table = oomctl(&["analyze", "-f", "table", "--group-by", "comm", "--top", "2", &p]).stdout_str();
    assert!(table.contains("(other groups)"), "{table}");
    assert!(table.contains("50 episodes of groups past the first 10000"), "{table}");
}

#[test]
fn hostile_names_stay_escaped_in_every_group_format() {
    let line = "[ 10.000000] Out of memory: Killed process 7 (<script>\u{1b}[31m\u{202e}) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB\n";
    for f in ["table", "jsonl", "json", "csv"] {
        let run = oomctl_stdin(&["analyze", "-f", f, "--group-by", "comm"], line.as_bytes());
        let out = run.stdout_str();
        assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}'), "{f}: {out:?}");
        assert!(out.contains("<script>"), "{f}: {out}");
    }
}
