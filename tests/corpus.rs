//! The corpus regression suite. For every log under `corpus/`:
//! - `oomctl analyze LOG --format jsonl` must print exactly `LOG.expected.jsonl`
//!   (regenerate with `scripts/bless`, then review the diff);
//! - every output line must deserialize into the documented schema with
//!   unknown fields denied, and serialize back to the same bytes;
//! - the output must agree with `LOG.facts.json`, written by a person from
//!   reading the log, field by field: the independent oracle that keeps the
//!   goldens honest.
//!
//! A log's modification time dates its syslog times that print no year, and
//! a checkout's mtimes are arbitrary: each log's is set first, to when the
//! log was written where its facts say (`mtime`, from the source's date),
//! else to [`CORPUS_MTIME`].

mod util;

use oomctl::model::Episode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use util::{diff, oomctl};

/// The mtime of a corpus log whose facts give none: when the corpus was
/// put together (the lab captures are of 2026-11-23).
const CORPUS_MTIME: &str = "2026-11-28T12:00:00Z";

/// Set `log`'s modification time (to the facts' `mtime` or
/// [`CORPUS_MTIME`]), so that what it dates is the same in every checkout.
fn pin_mtime(log: &Path, facts: Option<&Value>) {
    let when = facts
        .and_then(|f| f.get("mtime"))
        .and_then(Value::as_str)
        .unwrap_or(CORPUS_MTIME);
    let t =
        chrono::DateTime::parse_from_rfc3339(when).unwrap_or_else(|e| panic!("{}: mtime {when}: {e}", log.display()));
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.timestamp() as u64);
    std::fs::File::options()
        .write(true)
        .open(log)
        .and_then(|f| f.set_modified(t))
        .unwrap_or_else(|e| panic!("{}: set mtime: {e}", log.display()));
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", p.display()))
}

#[test]
fn corpus_matches_goldens_and_facts() {
    let bless = std::env::var_os("OOMCTL_BLESS").is_some();
    let logs = util::corpus_logs();
    assert!(logs.len() >= 10, "corpus has only {} logs", logs.len());
    let mut failures = Vec::new();
    for log in &logs {
        let facts: Option<Value> = std::fs::read_to_string(with_suffix(log, ".facts.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        pin_mtime(log, facts.as_ref());
        let out = oomctl(&["analyze", "--format", "jsonl", "-j1", &log.display().to_string()]);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}: exit {:?}\n{}",
            log.display(),
            out.status,
            out.stderr_str()
        );
        let got = out.stdout_str();
        if log.extension().is_some_and(|x| x == "rec") {
            // A recording: replay prints the same episodes as analyze.
            let replayed = oomctl(&["replay", "--format", "jsonl", &log.display().to_string()]);
            if replayed.stdout_str() != got {
                failures.push(format!(
                    "{}: replay differs from analyze\n{}",
                    log.display(),
                    diff(&got, &replayed.stdout_str())
                ));
            }
        }
        let golden = with_suffix(log, ".expected.jsonl");
        if bless {
            std::fs::write(&golden, &got).expect("write golden");
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!(
                    "{}: output differs from golden\n{}",
                    log.display(),
                    diff(&want, &got)
                )),
                Err(_) => failures.push(format!(
                    "{}: no golden {} (run scripts/bless)",
                    log.display(),
                    golden.display()
                )),
            }
        }
        let episodes: Vec<Episode> = got
            .lines()
            .map(|l| {
                let ep: Episode =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: schema: {e}\n{l}", log.display()));
                assert_eq!(
                    serde_json::to_string(&ep).unwrap(),
                    l,
                    "{}: schema round trip",
                    log.display()
                );
                ep
            })
            .collect();
        let facts = with_suffix(log, ".facts.json");
        match std::fs::read_to_string(&facts) {
            Ok(text) => {
                let facts: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", facts.display()));
                for problem in check_facts(&facts, &episodes) {
                    failures.push(format!("{}: {problem}", log.display()));
                }
            }
            Err(_) => failures.push(format!("{}: no facts file", log.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every recording of the corpus, judged over time: `simulate --over-time
/// --margin-ratio 0.05 -f jsonl REC` (a margin wide enough that a lab
/// cgroup crosses it) must print exactly `REC.over-time.expected.jsonl`, and
/// `--sweep` exactly `REC.sweep.expected.jsonl` (`scripts/bless` writes both). Where
/// the facts have `over_time` (read by a person from the samples and the
/// kernel's records), each outcome they list must be there, field by field.
#[test]
fn recordings_pin_their_outcomes_over_time() {
    let bless = std::env::var_os("OOMCTL_BLESS").is_some();
    let recs: Vec<PathBuf> = util::corpus_logs()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "rec"))
        .collect();
    assert!(recs.len() >= 4, "{recs:?}");
    let mut failures = Vec::new();
    for rec in &recs {
        let r = rec.display().to_string();
        for (suffix, args) in [
            (
                ".over-time.expected.jsonl",
                vec!["simulate", "--over-time", "--margin-ratio", "0.05", "-f", "jsonl", &r],
            ),
            (
                ".sweep.expected.jsonl",
                vec!["simulate", "--over-time", "--sweep", "-f", "jsonl", &r],
            ),
        ] {
            let out = oomctl(&args);
            assert!(out.code() <= 1, "{r}: {args:?}: {}", out.stderr_str());
            let got = out.stdout_str();
            let golden = with_suffix(rec, suffix);
            if bless {
                std::fs::write(&golden, &got).expect("write golden");
                continue;
            }
            match std::fs::read_to_string(&golden) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!("{r}: {args:?} differs from {suffix}\n{}", diff(&want, &got))),
                Err(_) => failures.push(format!("{r}: no golden {suffix} (run scripts/bless)")),
            }
            if suffix != ".over-time.expected.jsonl" {
                continue;
            }
            let rows: Vec<Value> = got.lines().map(|l| serde_json::from_str(l).expect("a row")).collect();
            let facts: Option<Value> = std::fs::read_to_string(with_suffix(rec, ".facts.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            let Some(want) = facts.as_ref().and_then(|f| f.get("over_time")) else {
                continue;
            };
            let listed = want["outcomes"].as_array().expect("over_time.outcomes");
            if listed.len() != rows.len() {
                failures.push(format!(
                    "{r}: facts list {} outcomes, simulate gave {}",
                    listed.len(),
                    rows.len()
                ));
            }
            for w in listed {
                let found = rows
                    .iter()
                    .find(|row| row["cgroup"] == w["cgroup"] && row["outcome"] == w["outcome"]);
                let Some(row) = found else {
                    failures.push(format!("{r}: no {} outcome for {}", w["outcome"], w["cgroup"]));
                    continue;
                };
                for (k, v) in w.as_object().expect("an outcome") {
                    let close = match (v.as_f64(), row[k].as_f64()) {
                        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                        _ => *v == row[k],
                    };
                    if !close {
                        failures.push(format!(
                            "{r}: {} {}: {k} is {}, facts say {v}",
                            w["cgroup"], w["outcome"], row[k]
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What every episode's facts must say: the cause, host, wall clock,
/// memcg usage and limit (`null` for a global OOM), task-table rows and
/// victims (`[]` when none was killed).
const REQUIRED: [&str; 6] = ["cause", "host", "wall", "memcg", "tasks", "victims"];

/// Compare what a person read in the log with what oomctl reported.
fn check_facts(facts: &Value, episodes: &[Episode]) -> Vec<String> {
    let mut p = Vec::new();
    let want = facts["episodes"].as_array().cloned().unwrap_or_default();
    if want.len() != episodes.len() {
        p.push(format!("{} episodes, facts say {}", episodes.len(), want.len()));
        return p;
    }
    for (i, (f, e)) in want.iter().zip(episodes).enumerate() {
        // What matters is read from the log for every episode, so none of
        // it can pass unchecked (issue 19).
        for key in REQUIRED {
            if f.get(key).is_none() {
                p.push(format!("episode {i}: the facts do not say `{key}`"));
            }
        }
        if let Some(m) = f.get("memcg").and_then(Value::as_object) {
            for key in ["usage_bytes", "limit_bytes"] {
                if !m.contains_key(key) {
                    p.push(format!("episode {i}: the facts do not say `memcg.{key}`"));
                }
            }
        }
        for (j, v) in f["victims"].as_array().into_iter().flatten().enumerate() {
            if v.get("pid").is_none() || v.get("comm").is_none() {
                p.push(format!("episode {i}: the facts do not say victims[{j}].pid and .comm"));
            }
        }
        let got = serde_json::to_value(e).unwrap();
        let mut check = |what: &str, want: &Value, got: &Value| {
            if want != got
                && !(want.is_f64()
                    && got
                        .as_f64()
                        .zip(want.as_f64())
                        .is_some_and(|(a, b)| (a - b).abs() < 1e-6))
            {
                p.push(format!("episode {i}: {what}: got {got}, facts say {want}"));
            }
        };
        if let Some(w) = f.get("cause") {
            check("diagnosis.cause", w, &got["diagnosis"]["cause"]);
        }
        if let Some(w) = f.get("host") {
            check("host", w, &got["host"]);
        }
        if let Some(w) = f.get("wall") {
            check("time.wall", w, &got["time"]["wall"]);
        }
        if let Some(w) = f.get("wall_year") {
            check("time.wall_year", w, &got["time"]["wall_year"]);
        }
        if f.get("memcg").is_some_and(Value::is_null) {
            check("memcg", &Value::Null, &got["memcg"]);
        }
        if let Some(w) = f.get("pod_uid") {
            check("k8s.pod_uid", w, &got["k8s"]["pod_uid"]);
        }
        if let Some(w) = f.get("qos") {
            check("k8s.qos", w, &got["k8s"]["qos"]);
        }
        if let Some(w) = f.get("container_id") {
            check("container.id", w, &got["container"]["id"]);
        }
        for key in [
            "complete",
            "scope",
            "scope_inferred",
            "selected",
            "manual",
            "constraint",
            "kernel",
            "task_memcg",
            "killer",
            "unit",
        ] {
            if let Some(w) = f.get(key) {
                check(key, w, &got[key]);
            }
        }
        if let Some(t) = f.get("trigger").and_then(Value::as_object) {
            for (k, w) in t {
                check(&format!("trigger.{k}"), w, &got["trigger"][k]);
            }
        }
        if let Some(m) = f.get("memcg").and_then(Value::as_object) {
            for (k, w) in m {
                check(&format!("memcg.{k}"), w, &got["memcg"][k]);
            }
        }
        // The other counters, where the facts read them: a limit at the
        // kernel's "no limit" is null with `unlimited` (issue 15).
        for key in ["memsw", "kmem", "swap"] {
            match f.get(key) {
                Some(Value::Object(c)) => {
                    for (k, w) in c {
                        check(&format!("{key}.{k}"), w, &got[key][k]);
                    }
                }
                Some(Value::Null) => check(key, &Value::Null, &got[key]),
                _ => {}
            }
        }
        if let Some(w) = f.get("tasks") {
            check("tasks (rows)", w, &Value::from(e.tasks.len()));
        }
        if let Some(w) = f.get("uptime_s") {
            check("uptime_s", w, &got["time"]["uptime_s"]);
        }
        for key in ["first_line", "last_line"] {
            if let Some(w) = f.get(key) {
                check(key, w, &got["source"][key]);
            }
        }
        if let Some(w) = f.get("snapshot_times") {
            let times: Vec<Value> = e.snapshots.iter().map(|s| Value::from(s.time.clone())).collect();
            check("snapshots[].time", w, &Value::from(times));
        }
        if let Some(vs) = f.get("victims").and_then(Value::as_array) {
            if vs.len() != e.victims.len() {
                p.push(format!(
                    "episode {i}: {} victims, facts say {}",
                    e.victims.len(),
                    vs.len()
                ));
                continue;
            }
            for (j, v) in vs.iter().enumerate() {
                for (k, w) in v.as_object().into_iter().flatten() {
                    let g = got["victims"][j][k].clone();
                    if *w != g {
                        p.push(format!("episode {i}: victims[{j}].{k}: got {g}, facts say {w}"));
                    }
                }
            }
        }
    }
    p
}
