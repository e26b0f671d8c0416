//! `oomctl simulate --over-time`: the guard judged over recorded samples,
//! end to end, on recordings written here (the real ones of the VM lab are
//! pinned by the corpus goldens).

mod util;

use serde_json::{json, Value};
use util::{oomctl, oomctl_env, oomctl_stdin, TempDir};

const MIB: u64 = 1 << 20;

/// A memcg OOM report of `cgroup` as kmsg records at `up` seconds.
fn report(cgroup: &str, up: f64, pid: u32, seq: &mut u64) -> Vec<String> {
    let us = (up * 1e6) as u64;
    let lines = [
        "4;grower invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0".to_owned(),
        "6;memory: usage 65536kB, limit 65536kB, failcnt 9".to_owned(),
        format!("6;Memory cgroup stats for {cgroup}:"),
        "6;Tasks state (memory values in pages):".to_owned(),
        "6;[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name".to_owned(),
        format!("6;[{pid:>7}]     0 {pid:>5}    17000    16000   200000        0             0 grower"),
        "6;[    901]     0   901     3000       90    60000        0             0 sidecar".to_owned(),
        format!(
            "6;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,\
             oom_memcg={cgroup},task_memcg={cgroup},task=grower,pid={pid},uid=0"
        ),
        format!(
            "3;Memory cgroup out of memory: Killed process {pid} (grower) total-vm:68000kB, \
             anon-rss:64000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:195kB oom_score_adj:0"
        ),
    ];
    let mut out = Vec::new();
    for l in lines {
        let (level, text) = l.split_once(';').unwrap();
        *seq += 1;
        out.push(json!({"t": "record", "r": format!("{level},{seq},{us},-;{text}")}).to_string());
    }
    out.push(r#"{"t":"settle","all":false}"#.to_owned());
    out
}

fn compact(c: usize, up: f64, usage: u64, clean_cache: u64) -> String {
    json!({"t": "compact", "c": c, "up": up, "usage": usage, "limit": 64 * MIB, "max": 0, "oom_kill": 0,
           "cache": [clean_cache, 0, 0, 0]})
    .to_string()
}

fn whole(path: &str, up: f64, usage: u64, file: u64, pid: u32) -> String {
    json!({"t": "sample", "snapshot": {
        "path": path, "version": "v2", "origin": "live", "time": null, "uptime_s": up, "host": "t",
        "usage_bytes": usage, "limit_bytes": 64 * MIB, "peak_bytes": null, "failcnt": null,
        "events": {}, "oom_control": {}, "stat": {"anon": usage - file, "file": file, "shmem": 0, "file_dirty": 0,
        "file_writeback": 0}, "pressure": [], "guard": null,
        "processes": [{"pid": pid, "comm": "grower", "oom_score": 900, "oom_score_adj": 0, "rss_bytes": usage},
                      {"pid": 901, "comm": "sidecar", "oom_score": 1, "oom_score_adj": 0, "rss_bytes": MIB}]}})
    .to_string()
}

/// Three cgroups sampled every 0.5 s for 20 s (each 64 MiB): `/grow`
/// climbs 4 MiB/s to an OOM at 15.2 s; `/plateau` climbs to 60 MiB (past
/// a 10% margin's threshold, below the default's) and falls back at 12 s;
/// `/cache` sits at 63 MiB, 40 MiB of it clean page cache. With
/// `records`, the OOM's report is in the recording.
fn recording(records: bool) -> String {
    let mut lines = vec![
        // As the recorder writes it: "t" first (json! would sort it last).
        r#"{"t":"header","version":3,"source":"/dev/kmsg","host":{"hostname":"t","kernel":"6.1.0-48-amd64","boot_id":"b1","page_size":4096,"boot_time_us":1795000000000000,"started":null}}"#.to_owned(),
        r#"{"t":"sampling","cgroups":["/grow","/plateau","/cache"],"interval_s":0.5}"#.to_owned(),
        whole("/grow", 0.5, 4 * MIB, 0, 700),
        whole("/plateau", 0.5, 4 * MIB, 0, 800),
        whole("/cache", 0.5, 63 * MIB, 40 * MIB, 850),
    ];
    let mut seq = 100;
    for k in 2..=40 {
        let up = k as f64 * 0.5;
        let grow = if up < 15.2 {
            (up * 4.0) as u64 * MIB + 4 * MIB
        } else {
            2 * MIB
        };
        let plateau = if up < 12.0 {
            (up * 6.0).min(60.0) as u64 * MIB
        } else {
            20 * MIB
        };
        lines.push(compact(0, up, grow.min(64 * MIB), 0));
        lines.push(compact(1, up, plateau, 0));
        lines.push(compact(2, up, 63 * MIB, 40 * MIB));
        if records && (15.0..15.5).contains(&up) {
            lines.extend(report("/grow", 15.2, 700, &mut seq));
        }
    }
    lines.join("\n") + "\n"
}

fn rows(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn of<'a>(rows: &'a [Value], cgroup: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["cgroup"] == cgroup).collect()
}

#[test]
fn each_crossing_and_each_oom_becomes_one_outcome() {
    let dir = TempDir::new("over-time");
    let rec = dir.path("three.rec");
    std::fs::write(&rec, recording(true)).unwrap();
    let rec = rec.to_str().unwrap();

    // The default margin (2% of 64 MiB: 1.28 MiB, threshold 62.7 MiB).
    let out = oomctl(&["simulate", "--over-time", "-f", "jsonl", rec]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let r = rows(&out.stdout_str());
    let grow = of(&r, "/grow");
    assert_eq!(grow.len(), 1, "{r:#?}");
    // 64 MiB at 15.0 s (4 × 15 + 4, clamped): the guard's sample; the OOM at 15.2.
    assert_eq!(grow[0]["outcome"], "prevented");
    assert_eq!(grow[0]["fired_at"], 15.0);
    assert_eq!(grow[0]["oom_at"], 15.2);
    assert_eq!(grow[0]["lead_s"], 0.2);
    assert_eq!(grow[0]["victim"], json!({"pid": 700, "comm": "grower"}));
    assert_eq!(grow[0]["kernel_victim"], json!({"pid": 700, "comm": "grower"}));
    assert_eq!(grow[0]["same_victim"], true);
    assert_eq!(grow[0]["below_at"], 15.5);
    assert_eq!(grow[0]["wall"], "2026-11-18T11:06:55.000000Z");
    // 60 MiB stays below the default threshold: nothing.
    assert!(of(&r, "/plateau").is_empty(), "{r:#?}");
    // 40 of 64 MiB clean cache: held back for the whole crossing.
    let cache = of(&r, "/cache");
    assert_eq!(cache.len(), 1);
    assert_eq!(
        (cache[0]["outcome"].as_str(), cache[0]["oom_at"].is_null()),
        (Some("held_back"), true)
    );
    assert_eq!(cache[0]["below_at"], Value::Null);
    // Every field of the schema, in every row.
    for f in [
        "cgroup",
        "policy",
        "margin_bytes",
        "threshold_bytes",
        "fired_at",
        "oom_at",
        "lead_s",
        "outcome",
        "victim",
        "kernel_victim",
    ] {
        assert!(r.iter().all(|row| row.get(f).is_some()), "{f}");
    }

    // A 10% margin (6.4 MiB: threshold 57.6 MiB): /plateau at 60 MiB is a
    // kill for nothing; /grow crosses at 13.5 s (58 MiB), a longer lead.
    let out = oomctl(&["simulate", "--over-time", "--margin-ratio", "0.1", "-f", "jsonl", rec]);
    let r = rows(&out.stdout_str());
    let p = of(&r, "/plateau");
    assert_eq!(p.len(), 1, "{r:#?}");
    assert_eq!(p[0]["outcome"], "false_kill");
    assert_eq!(p[0]["victim"]["pid"], 800);
    assert_eq!(
        (p[0]["fired_at"].as_f64(), p[0]["below_at"].as_f64()),
        (Some(10.0), Some(12.0))
    );
    assert_eq!(of(&r, "/grow")[0]["lead_s"], 1.7);
    // Without the cache rule /cache is a kill for nothing too.
    let out = oomctl(&["simulate", "--over-time", "--cache-hold-ratio", "1", "-f", "jsonl", rec]);
    assert_eq!(of(&rows(&out.stdout_str()), "/cache")[0]["outcome"], "false_kill");
}

#[test]
fn an_oom_between_two_samples_is_missed_and_says_why() {
    let dir = TempDir::new("over-time-miss");
    let rec = dir.path("fast.rec");
    // Samples every 0.5 s; the grower goes from 30 MiB to the limit in
    // between: no sample ever crosses.
    let mut text = recording(false).replace(
        "\"cgroups\":[\"/grow\",\"/plateau\",\"/cache\"]",
        "\"cgroups\":[\"/fast\",\"/plateau\",\"/cache\"]",
    );
    let mut seq = 1;
    text.push_str(&(compact(0, 20.5, 30 * MIB, 0) + "\n"));
    text.push_str(&(report("/fast", 20.7, 777, &mut seq).join("\n") + "\n"));
    text.push_str(&(compact(0, 21.0, 2 * MIB, 0) + "\n"));
    text.push_str(&(compact(0, 30.0, 2 * MIB, 0) + "\n"));
    text.push_str(&(report("/fast", 29.9, 778, &mut seq).join("\n") + "\n"));
    std::fs::write(&rec, text).unwrap();
    let out = oomctl(&["simulate", "--over-time", "-f", "jsonl", rec.to_str().unwrap()]);
    let r = rows(&out.stdout_str());
    // (The first 15 s grew as /grow does: a crossing of its own.)
    let fast: Vec<_> = of(&r, "/fast")
        .into_iter()
        .filter(|r| r["outcome"] == "missed")
        .collect();
    assert_eq!(fast.len(), 2, "{r:#?}");
    assert_eq!(
        (fast[0]["outcome"].as_str(), fast[0]["reason"].as_str()),
        (Some("missed"), Some("too_fast"))
    );
    assert_eq!(fast[0]["kernel_victim"]["pid"], 777);
    assert!(
        fast[0]["note"].as_str().unwrap().contains("30.0 MiB"),
        "{}",
        fast[0]["note"]
    );
    // The sample before the second OOM is 8.9 s old: a gap in the samples.
    assert_eq!(fast[1]["reason"], "sampling_gap");
}

#[test]
fn logs_are_judged_against_the_samples_of_a_recording() {
    let dir = TempDir::new("over-time-samples");
    let rec = dir.path("samples.rec");
    std::fs::write(&rec, recording(false)).unwrap();
    // The same OOM as a dmesg log.
    let mut seq = 0;
    let log: String = report("/grow", 15.2, 700, &mut seq)
        .iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            let r = v["r"].as_str()?;
            Some(format!("[   15.200000] {}\n", r.split_once(";").unwrap().1))
        })
        .collect();
    let log_path = dir.path("dmesg.log");
    std::fs::write(&log_path, &log).unwrap();
    let args = [
        "simulate",
        "--samples",
        rec.to_str().unwrap(),
        "-f",
        "jsonl",
        log_path.to_str().unwrap(),
    ];
    let out = oomctl(&args);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let r = rows(&out.stdout_str());
    assert_eq!(of(&r, "/grow")[0]["outcome"], "prevented", "{r:#?}");
    assert_eq!(of(&r, "/grow")[0]["lead_s"], 0.2);
    // The log alone: nothing to judge it by, and it says so.
    let out = oomctl(&["simulate", "--over-time", "-f", "jsonl", log_path.to_str().unwrap()]);
    assert_eq!(out.code(), 1, "{}", out.stderr_str());
    assert!(out.stderr_str().contains("--samples RECORDING"), "{}", out.stderr_str());
    // A recording read from standard input streams the same.
    let piped = oomctl_stdin(
        &["simulate", "--over-time", "-f", "jsonl", "-"],
        recording(true).as_bytes(),
    );
    let file = dir.path("three.rec");
    std::fs::write(&file, recording(true)).unwrap();
    assert_eq!(
        piped.stdout_str(),
        oomctl(&["simulate", "--over-time", "-f", "jsonl", file.to_str().unwrap()]).stdout_str()
    );
}

#[test]
fn every_format_carries_the_outcomes_and_the_summary() {
    let dir = TempDir::new("over-time-formats");
    let rec = dir.path("three.rec");
    std::fs::write(&rec, recording(true)).unwrap();
    let rec = rec.to_str().unwrap();
    // CSV: the header, then one row per outcome.
    let csv = oomctl(&["simulate", "--over-time", "-f", "csv", rec]).stdout_str();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(h, oomctl::output::timeline::OUTCOME_HEADER);
    let recs: Vec<_> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), 2);
    let col = |r: &csv::StringRecord, n: &str| r[h.iter().position(|x| x == n).unwrap()].to_owned();
    assert_eq!(
        (
            col(&recs[0], "cgroup"),
            col(&recs[0], "outcome"),
            col(&recs[0], "lead_s")
        ),
        ("/grow".into(), "prevented".into(), "0.2".into())
    );
    // JSON: outcomes, settings, totals.
    let doc: Value =
        serde_json::from_str(&oomctl(&["simulate", "--over-time", "-f", "json", rec]).stdout_str()).unwrap();
    assert_eq!(doc["outcomes"].as_array().unwrap().len(), 2);
    assert_eq!(doc["settings"][0]["prevented"], 1);
    assert_eq!(doc["settings"][0]["held_back"], 1);
    assert_eq!(doc["settings"][0]["median_lead_s"], 0.2);
    assert_eq!(doc["totals"]["cgroups"], 3);
    assert_eq!(doc["totals"]["samples"], 3 * 40);
    assert_eq!(doc["totals"]["ooms_judged"], 1);
    // --sweep: one row per setting (4 ratios × 2 policies), no outcomes.
    let sweep = oomctl(&["simulate", "--over-time", "--sweep", "-f", "jsonl", rec]).stdout_str();
    let s = rows(&sweep);
    assert_eq!(s.len(), 8);
    let at = |ratio: f64| {
        s.iter()
            .find(|r| r["margin_ratio"] == ratio && r["policy"] == "process")
            .unwrap()
    };
    assert_eq!(
        (at(0.02)["prevented"].as_u64(), at(0.02)["false_kill"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        (at(0.1)["prevented"].as_u64(), at(0.1)["false_kill"].as_u64()),
        (Some(1), Some(1))
    );
    let scsv = oomctl(&["simulate", "--over-time", "--sweep", "-f", "csv", rec]).stdout_str();
    assert_eq!(
        scsv.lines().next().unwrap(),
        oomctl::output::timeline::SUMMARY_HEADER.join(",")
    );
    assert_eq!(scsv.lines().count(), 9);
    // html: the page, its chart with --sweep, every outcome without.
    let page = oomctl(&["simulate", "--over-time", "--sweep", "-f", "html", rec]).stdout_str();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg") && page.contains("false kills"));
    let page = oomctl(&["simulate", "--over-time", "-f", "html", rec]).stdout_str();
    assert!(page.contains("<td class=\"prevented\">prevented</td>"), "{page}");
    // Flags that pick or add to episodes would do nothing: refused.
    for flag in [
        ["--since", "1 hour ago"],
        ["--match", "comm=x"],
        ["--pods", "pods.json"],
    ] {
        let out = oomctl(&["simulate", "--over-time", flag[0], flag[1], rec]);
        assert_eq!(out.code(), 2, "{flag:?}");
        assert!(out.stderr_str().contains(flag[0]), "{}", out.stderr_str());
    }
    // Not for the episode formats.
    let out = oomctl(&["simulate", "--over-time", "-f", "prom", rec]);
    assert_eq!(out.code(), 2);
    assert!(out
        .stderr_str()
        .contains("--over-time writes table, report, json, jsonl, csv or html"));
}

#[test]
fn the_terminal_formats_fit_the_terminal() {
    let dir = TempDir::new("over-time-width");
    let rec = dir.path("three.rec");
    std::fs::write(&rec, recording(true)).unwrap();
    let rec = rec.to_str().unwrap();
    for cols in [20, 40, 60, 80, 120, 200] {
        let c = cols.to_string();
        for args in [
            vec!["simulate", "--over-time", "-f", "table", rec],
            vec!["simulate", "--over-time", "-f", "report", rec],
            vec!["simulate", "--over-time", "--sweep", "-f", "report", rec],
            vec!["simulate", "--over-time", "--sweep", "-f", "table", rec],
        ] {
            let out = oomctl_env(&args, &[("COLUMNS", &c)]);
            assert_eq!(out.code(), 0, "{}", out.stderr_str());
            let text = out.stdout_str();
            for l in text.lines() {
                let w = unicode_width::UnicodeWidthStr::width(l);
                assert!(w <= cols.max(20), "{cols} columns, {args:?}: {w}: {l}");
            }
        }
    }
    let table = oomctl_env(&["simulate", "--over-time", "-f", "table", rec], &[("COLUMNS", "120")]).stdout_str();
    let first = table.lines().nth(1).unwrap();
    assert!(
        first.contains("/grow") && first.contains("prevented") && first.contains("0.2s"),
        "{table}"
    );
    assert!(
        table.contains("1 prevented (median lead 0.20 s), 0 false kills, 1 held back by the cache rule"),
        "{table}"
    );
}
