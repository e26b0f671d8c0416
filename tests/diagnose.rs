//! Diagnosis, attribution and their outputs end to end: the binary on the
//! seed documents and on small reports, with `--pods` and `--snapshots`.

mod util;

use serde_json::Value;
use util::{oomctl, oomctl_stdin, TempDir};

const SEED_004: &str = "corpus/articles/seed-004-cdi-importer.rst";
const SEED_002: &str = "corpus/articles/seed-002-oom-guard.md.txt";

fn episodes(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect()
}

#[test]
fn seed_004_is_write_cache_in_every_format() {
    let out = oomctl(&["analyze", "-f", "jsonl", SEED_004]);
    let eps = episodes(&out.stdout_str());
    assert_eq!(eps.len(), 1);
    let e = &eps[0];
    assert_eq!(e["victims"][0]["pid"], 18524);
    assert_eq!(e["memcg"]["usage_bytes"], 585_936u64 * 1024);
    assert_eq!(e["memcg"]["limit_bytes"], 585_936u64 * 1024);
    assert_eq!(e["diagnosis"]["cause"], "write_cache");
    assert_eq!(
        e["diagnosis"]["evidence"]["unattributed_bytes"],
        599_998_464u64 - 41_529_344
    );
    assert_eq!(e["k8s"]["pod_uid"], "6b212546-f5dd-4fdf-bcc7-72a686638102");
    assert_eq!(e["k8s"]["qos"], "burstable");

    let report = oomctl(&["analyze", "-f", "report", SEED_004]).stdout_str();
    assert!(report.contains("Why:     [write_cache]"), "{report}");
    assert!(report.contains("cdi-importer  ← killed"), "{report}");
    assert!(report.contains("qemu-img"), "{report}");
    assert!(report.contains("O_DIRECT"), "{report}");

    let table = oomctl(&["analyze", "-f", "table", SEED_004]).stdout_str();
    assert!(table.contains("write_cache"), "{table}");

    let csv_text = oomctl(&["analyze", "-f", "csv", SEED_004]).stdout_str();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let row = rdr.records().next().unwrap().unwrap();
    let col = |name: &str| row[h.iter().position(|x| x == name).unwrap()].to_owned();
    assert_eq!(col("cause"), "write_cache");
    assert_eq!(col("pod_uid"), "6b212546-f5dd-4fdf-bcc7-72a686638102");
    assert_eq!(col("killer"), "kernel");
}

#[test]
fn pods_file_names_pod_and_container() {
    let d = TempDir::new("pods");
    let pods = d.path("pods.json");
    std::fs::write(
        &pods,
        r#"{"kind":"List","items":[{"metadata":{"name":"importer-disk-0","namespace":"vms","uid":"6b212546-f5dd-4fdf-bcc7-72a686638102"},"status":{"containerStatuses":[{"name":"importer","containerID":"containerd://ea887b1c9c5c8e734ac798fedd2bf5d39c0b7ce5ad961027dfc1ca138a23a2e8"}]}}]}"#,
    )
    .unwrap();
    let p = pods.display().to_string();
    let out = oomctl(&["analyze", "-f", "jsonl", "--pods", &p, SEED_004]);
    let e = &episodes(&out.stdout_str())[0];
    assert_eq!(e["k8s"]["namespace"], "vms");
    assert_eq!(e["k8s"]["pod"], "importer-disk-0");
    assert_eq!(e["k8s"]["container_name"], "importer");
    let events = oomctl(&["analyze", "-f", "events", "--pods", &p, SEED_004]).stdout_str();
    let fields: Vec<&str> = events.trim_end().split('\t').collect();
    assert_eq!(fields[1..4], ["Warning", "OOMKilled", "pod/vms/importer-disk-0"]);
    assert!(fields[4]
        .starts_with("container importer (ea887b1c9c5c): Memory cgroup OOM, victim process: cdi-importer, pid: 18524"));
    // A bad pods file is an error, not silently ignored.
    std::fs::write(&pods, "{}").unwrap();
    let out = oomctl(&["analyze", "--pods", &p, SEED_004]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr_str().contains("--pods"), "{}", out.stderr_str());
}

#[test]
fn seed_002_guard_event_is_an_episode() {
    let out = oomctl(&["analyze", "-f", "jsonl", SEED_002]);
    let eps = episodes(&out.stdout_str());
    assert_eq!(eps.len(), 1);
    let e = &eps[0];
    assert_eq!(e["killer"], "oom_guard");
    assert_eq!(e["victims"][0]["pid"], 16481);
    assert_eq!(e["victims"][0]["comm"], "fakeOOM");
    assert_eq!(e["memcg"]["usage_bytes"], 206_483_456u64);
    assert_eq!(e["memcg"]["limit_bytes"], 209_715_200u64);
    assert_eq!(e["snapshots"][0]["guard"]["threshold_bytes"], 205_520_896u64);
    assert_eq!(e["diagnosis"]["cause"], "anon");
    let events = oomctl(&["analyze", "-f", "events", SEED_002]).stdout_str();
    assert!(
        events.contains("\tOomGuardKillContainer\tpod/3d6329e5-455f-11e9-a7e5-06925242d7ea\t"),
        "{events}"
    );

    // The same event given with --snapshots and no log is an episode too.
    let d = TempDir::new("guard");
    let ev = d.path("event.txt");
    let line = std::fs::read_to_string(SEED_002)
        .unwrap()
        .lines()
        .find(|l| l.contains("oomcgroup"))
        .unwrap()
        .to_owned();
    std::fs::write(&ev, line).unwrap();
    let out = oomctl_stdin(
        &["analyze", "-f", "jsonl", "--snapshots", &ev.display().to_string()],
        b"",
    );
    let eps = episodes(&out.stdout_str());
    assert_eq!(eps.len(), 1, "{}", out.stderr_str());
    assert_eq!(eps[0]["killer"], "oom_guard");
    assert_eq!(out.code(), 0);
}

/// A memcg report without stats (like seed 004) whose cgroup was copied out
/// of cgroupfs before it vanished: the snapshot's memory.stat decides.
#[test]
fn cgroup_snapshot_stands_in_for_missing_stats() {
    let report = "\
[100.000001] memory: usage 102400kB, limit 102400kB, failcnt 9
[100.000002] Memory cgroup stats for /kubepods/pod6b212546-f5dd-4fdf-bcc7-72a686638102:
[100.000003] Tasks state (memory values in pages):
[100.000004] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[100.000005] [    200]     0   200    20000    12800   100000        0           999 writer
[100.000006] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,oom_memcg=/kubepods/pod6b212546-f5dd-4fdf-bcc7-72a686638102,task_memcg=/kubepods/pod6b212546-f5dd-4fdf-bcc7-72a686638102,task=writer,pid=200,uid=0
[100.000007] Memory cgroup out of memory: Killed process 200 (writer) total-vm:80000kB, anon-rss:51200kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:97kB oom_score_adj:999
";
    let d = TempDir::new("snap");
    let cg = d.path("copy/kubepods/pod6b212546-f5dd-4fdf-bcc7-72a686638102");
    std::fs::create_dir_all(&cg).unwrap();
    std::fs::write(cg.join("memory.usage_in_bytes"), "104857600\n").unwrap();
    std::fs::write(cg.join("memory.limit_in_bytes"), "104857600\n").unwrap();
    let mib = 1u64 << 20;
    std::fs::write(
        cg.join("memory.stat"),
        format!(
            "cache {}\nrss {}\nshmem 0\ndirty {}\nwriteback {}\ntotal_cache {}\ntotal_rss {}\ntotal_dirty {}\ntotal_writeback {}\n",
            50 * mib,
            50 * mib,
            30 * mib,
            5 * mib,
            50 * mib,
            50 * mib,
            30 * mib,
            5 * mib
        ),
    )
    .unwrap();
    let copy = d.path("copy").display().to_string();
    let without = oomctl_stdin(&["analyze", "-f", "jsonl"], report.as_bytes());
    let e = &episodes(&without.stdout_str())[0];
    assert_eq!(e["diagnosis"]["evidence"]["source"], "task_table");
    let with = oomctl_stdin(&["analyze", "-f", "jsonl", "--snapshots", &copy], report.as_bytes());
    let e = &episodes(&with.stdout_str())[0];
    assert_eq!(e["diagnosis"]["evidence"]["source"], "snapshot", "{e}");
    assert_eq!(e["diagnosis"]["cause"], "write_cache");
    assert_eq!(e["diagnosis"]["evidence"]["dirty_bytes"], 30 * mib);
    assert_eq!(e["snapshots"][0]["origin"], "dir");
    // The old name, --cgroup, still joins, and says which flag to use.
    let old = oomctl_stdin(&["analyze", "-f", "jsonl", "--cgroup", &copy], report.as_bytes());
    assert_eq!(old.stdout_str(), with.stdout_str());
    let warned: Vec<_> = old
        .stderr_str()
        .lines()
        .filter(|l| l.contains("--cgroup"))
        .map(str::to_owned)
        .collect();
    assert_eq!(warned.len(), 1, "{}", old.stderr_str());
    assert!(
        warned[0].contains("deprecated") && warned[0].contains("--snapshots"),
        "{}",
        warned[0]
    );
    assert!(!with.stderr_str().contains("deprecated"), "{}", with.stderr_str());
    // A --snapshots path that is not one is an error that names the flag.
    let bad = oomctl_stdin(
        &["analyze", "--snapshots", &d.path("nothing").display().to_string()],
        b"",
    );
    assert_eq!(bad.code(), 2);
    assert!(bad.stderr_str().contains("--snapshots "), "{}", bad.stderr_str());
}

#[test]
fn snapshot_of_a_live_cgroup() {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok().and_then(|t| {
        t.lines()
            .find(|l| l.split(':').nth(1).is_some_and(|c| c.split(',').any(|c| c == "memory")))
            .map(str::to_owned)
    });
    let Some(own) = util::need(own.ok_or_else(|| "no cgroup-v1 memory controller for this process".to_owned())) else {
        return;
    };
    let path = own.splitn(3, ':').nth(2).unwrap().to_owned();
    let out = oomctl(&["snapshot", "--count", "2", "--interval", "0.05", &path]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let snaps: Vec<Value> = episodes(&out.stdout_str());
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0]["path"], path.as_str());
    assert_eq!(snaps[0]["origin"], "live");
    assert!(snaps[0]["usage_bytes"].as_u64().unwrap() > 0);
    assert!(snaps[0]["stat"].as_object().unwrap().contains_key("rss"));
    assert!(snaps[0]["swappiness"].is_u64(), "v1's own files too");
    let me = std::process::id();
    assert!(
        snaps[0]["processes"].as_array().unwrap().iter().any(|p| p["pid"] == me),
        "the test process is in its own cgroup"
    );
    assert_eq!(oomctl(&["snapshot", "/no/such/cgroup"]).code(), 2);
}

/// Issue 18's cases in corpus/causes and corpus/public, end to end: the
/// cause, and the words of the summary and advice that make it fit.
#[test]
fn issue_18_causes_and_fitting_advice() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (log, cause, in the summary, in the advice)
        (
            "corpus/causes/5.4-grep-kill-line-only-anon.log",
            "anon",
            "by its kill line's anon-rss",
            "cgroup v1 has no memory.high",
        ),
        (
            "corpus/causes/5.10-grep-kill-line-only-shmem.log",
            "shmem",
            "95% of its 8.0 GiB usage was the victim's shmem-rss (by the kill line alone",
            "tmpfs",
        ),
        (
            "corpus/causes/4.19-v1-memsw-limit-swap-full.log",
            "memsw",
            "The memory+swap limit was the one hit",
            "memory.memsw.limit_in_bytes",
        ),
        (
            "corpus/causes/5.4-global-mlocked-unevictable.log",
            "unevictable",
            "60% of its 8.0 GiB of RAM",
            "RLIMIT_MEMLOCK",
        ),
        (
            "corpus/causes/5.10-v2-memcg-mlocked-unevictable.log",
            "unevictable",
            "3.0 GiB, 75% of its 4.0 GiB usage",
            "Size the limit for the locked memory",
        ),
        (
            "corpus/vm/6.1-v2-shrink.dmesg.log",
            "limit_lowered",
            "sh (94), a task outside the cgroup",
            "memory.reclaim",
        ),
        (
            "corpus/kernels/6.6-mempolicy.log",
            "constrained",
            "42% of its 64.1 GiB of RAM",
            "numactl --preferred",
        ),
        (
            "corpus/causes/5.0-memcg-printed-constraint-none.log",
            "anon",
            "filled the cgroup's memory",
            "raise the limit above that plateau",
        ),
        (
            "corpus/causes/5.10-node-allocatable-kubepods-slice.log",
            "anon",
            "the pods' (node allocatable) memory",
            "eviction thresholds",
        ),
        (
            "corpus/causes/5.4-global-swap-exhausted.log",
            "anon",
            "it also had 8.0 GiB in swap, and swap was exhausted (free swap 0 B of 8.0 GiB)",
            "give the machine more memory",
        ),
        (
            // Its Mem-Info summary is above the paste: the node line's
            // counters stand in (16440 of 30720 kB unevictable, ramfs).
            "corpus/public/riscv-4.18-boot-ramfs-no-killable-panic.log",
            "unevictable",
            "No process could be killed",
            "vm.panic_on_oom is not the reason",
        ),
    ];
    for (log, cause, summary, advice) in cases {
        let out = oomctl(&["analyze", "-f", "jsonl", log]);
        let eps = episodes(&out.stdout_str());
        let d = &eps[0]["diagnosis"];
        assert_eq!(d["cause"], *cause, "{log}: {d}");
        assert!(
            d["summary"].as_str().unwrap().contains(summary),
            "{log}: {}",
            d["summary"]
        );
        let advice_text = d["advice"].to_string();
        assert!(advice_text.contains(advice), "{log}: {advice_text}");
        // memory.high only where the report shows cgroup v2.
        if !log.contains("v2") {
            assert!(!advice_text.contains("Set memory.high"), "{log}: {advice_text}");
        }
    }
    let out = oomctl(&[
        "analyze",
        "-f",
        "jsonl",
        "corpus/public/riscv-4.18-boot-ramfs-no-killable-panic.log",
    ]);
    let e = &episodes(&out.stdout_str())[0];
    assert_eq!(e["no_killable"], true);
    assert!(!e["diagnosis"]["advice"].to_string().contains("vm.panic_on_oom is set"));
}
