//! `oomctl simulate`: the guard's policy on recorded episodes, end to end.

mod util;

use serde_json::Value;
use util::oomctl;

#[test]
fn simulate_per_episode_and_sweep() {
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

    let s = oomctl(&["simulate", "--sweep", "-f", "json", "--sweep-ratios", "0.01,0.1", log]);
    let rows: Value = serde_json::from_str(&s.stdout_str()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4, "2 ratios × 2 policies");
    assert_eq!(rows[0]["memcg_episodes"], 1);
    assert_eq!(rows[0]["acted"], 1);
    assert_eq!(rows[0]["median_margin_bytes"], (2048u64 << 20) / 100);
    assert_eq!(rows[1]["median_margin_bytes"], 30u64 << 20);

    // Bad settings are refused.
    assert_eq!(oomctl(&["simulate", "--margin-ratio", "2", log]).code(), 2);
    assert_eq!(
        oomctl(&["simulate", "--min-margin", "9", "--max-margin", "1", log]).code(),
        2
    );
}
