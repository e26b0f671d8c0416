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
