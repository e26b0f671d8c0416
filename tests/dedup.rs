//! De-duplication merges only what is really one capture (issue 19): the
//! same host (or both unknown), the same boot where both captures say, the
//! same time to the log's resolution, the same cgroups and the same
//! victims. Each case is built from a real capture in corpus/ and names
//! what makes the two reports different (or the same).

mod util;

use serde_json::Value;
use util::oomctl_stdin;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).expect("corpus file")
}

/// Episodes and the summary of `analyze -f json` over `input`.
fn analyze(input: &str) -> (Vec<Value>, Value, String) {
    let run = oomctl_stdin(&["analyze", "-f", "json"], input.as_bytes());
    assert!(run.code() <= 1, "{}", run.stderr_str());
    let v: Value = serde_json::from_str(&run.stdout_str()).expect("one JSON document");
    (
        v["episodes"].as_array().expect("episodes").clone(),
        v["summary"].clone(),
        run.stderr_str(),
    )
}

/// The report's lines with every `[uptime]` moved by `delta_us`.
fn shift_uptime(text: &str, delta_us: u64) -> String {
    text.lines()
        .map(|l| {
            let Some(rest) = l.strip_prefix('[') else {
                return l.to_owned();
            };
            let (ts, msg) = rest.split_once(']').expect("stamped");
            let (s, us) = ts.trim().split_once('.').expect("seconds.micros");
            let t = s.parse::<u64>().unwrap() * 1_000_000 + us.parse::<u64>().unwrap() + delta_us;
            format!("[{:>5}.{:06}]{msg}\n", t / 1_000_000, t % 1_000_000)
        })
        .collect()
}

const ANON: &str = "corpus/real/6.18-v1-anon.dmesg.log";

#[test]
fn one_report_captured_twice_is_one_episode_and_counted() {
    let a = read(ANON);
    let (eps, summary, _) = analyze(&format!("{a}{a}"));
    assert_eq!(eps.len(), 1);
    assert_eq!(summary["duplicates"], 1, "{summary}");
    let table = oomctl_stdin(&["analyze", "-f", "table"], format!("{a}{a}").as_bytes());
    // The summary is wrapped to the width: read it as words.
    let words = table.stdout_str().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("1 duplicate report skipped (second captures: same host, boot, time, cgroups and victims)"),
        "{}",
        table.stdout_str()
    );
    let report = oomctl_stdin(&["analyze", "-f", "report"], format!("{a}{a}").as_bytes());
    assert!(report.stdout_str().contains("1 duplicate report skipped"));
}

#[test]
fn the_same_report_from_two_hosts_is_two_episodes() {
    let one = read("corpus/containers/kern.log");
    let two = one.replace(" lab-node-1 ", " lab-node-2 ");
    let n = analyze(&one).0.len();
    assert_eq!(n, 2, "the capture holds two reports");
    let (eps, summary, _) = analyze(&format!("{one}{two}"));
    assert_eq!(eps.len(), 2 * n, "one after the other");
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(eps[0]["host"], "lab-node-1");
    assert_eq!(eps[n]["host"], "lab-node-2");
    // Interleaved line by line, as a central syslog receives them.
    let mixed: String = one
        .lines()
        .zip(two.lines())
        .map(|(a, b)| format!("{a}\n{b}\n"))
        .collect();
    let (eps, summary, _) = analyze(&mixed);
    assert_eq!(eps.len(), 2 * n, "interleaved");
    assert_eq!(summary["duplicates"], 0);
    assert_ne!(eps[0]["host"], eps[1]["host"]);
}

#[test]
fn the_same_victim_line_in_another_cgroup_20_ms_later_is_two_episodes() {
    let a = read(ANON);
    let b = shift_uptime(&a, 20_000)
        .replace("oomctl-lab-7528/anon", "oomctl-lab-7528/other")
        .replace("failcnt 59", "failcnt 60");
    let (eps, summary, _) = analyze(&format!("{a}{b}"));
    assert_eq!(eps.len(), 2);
    assert_eq!(summary["duplicates"], 0);
    // The same victim line and the same cgroup 20 ms later is another
    // report too: the time differs at the log's resolution.
    let (eps, _, _) = analyze(&format!("{a}{}", shift_uptime(&a, 20_000)));
    assert_eq!(eps.len(), 2, "20 ms apart");
}

#[test]
fn the_same_report_74_minutes_later_in_dmesg_t_is_two_episodes() {
    let a = read("corpus/real/6.18-v1-anon.dmesg-T.log");
    assert!(a.contains(" 11:16:"), "the capture's minute");
    let b = a.replace(" 11:16:", " 12:30:");
    let (eps, summary, _) = analyze(&format!("{a}{b}"));
    assert_eq!(eps.len(), 2);
    assert_eq!(summary["duplicates"], 0);
    let (eps, summary, _) = analyze(&format!("{a}{a}"));
    assert_eq!(
        (eps.len(), summary["duplicates"].as_u64()),
        (1, Some(1)),
        "the same second"
    );
}

#[test]
fn boots_differ_only_where_both_captures_name_them() {
    let j = read("corpus/containers/journalctl-k.json");
    let boot = "8d2f4c6a0b1e4f3a9c7d5e2b1a0f9e8d";
    assert!(j.contains(boot));
    let other_boot = j.replace(boot, "0000000000000000000000000000beef");
    let n = analyze(&j).0.len();
    let (eps, _, _) = analyze(&format!("{j}{other_boot}"));
    assert_eq!(eps.len(), 2 * n, "the same uptimes in two boots");
    let (eps, summary, _) = analyze(&format!("{j}{j}"));
    assert_eq!(
        (eps.len() as u64, summary["duplicates"].as_u64()),
        (n as u64, Some(n as u64))
    );
    // The same reports through kmsg, which names no boot: second captures.
    let no_boot: String = j
        .lines()
        .map(|l| l.replace(&format!(",\"_BOOT_ID\":\"{boot}\""), "") + "\n")
        .collect();
    assert!(!no_boot.contains("_BOOT_ID"));
    let (eps, _, _) = analyze(&format!("{j}{no_boot}"));
    assert_eq!(
        eps.len(),
        n,
        "where one capture does not say, the boot does not part them"
    );
}

#[test]
fn a_kill_line_repeated_inside_one_report_is_read_once_and_said() {
    let a = read(ANON);
    let kill = a.lines().find(|l| l.contains("Killed process")).unwrap();
    // The same kill line, stamped a microsecond later (a second capture).
    let again = shift_uptime(kill, 1);
    let (eps, summary, err) = analyze(&format!("{a}{again}"));
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["victims"].as_array().unwrap().len(), 1);
    assert_eq!(summary["duplicate_lines"], 1);
    assert!(
        err.contains(":80: kill line of pid 7569 (python3) repeated inside one report: read once"),
        "{err}"
    );
    // The same pid with other figures is another kill: a report whose
    // header was lost, not a repeat.
    let other = again.replace("anon-rss:32512kB", "anon-rss:30000kB");
    let (eps, _, _) = analyze(&format!("{a}{other}"));
    assert_eq!(eps.len(), 2);
}

/// From a review of the rules above: each way they used to merge two
/// reports, or keep a cut capture apart.
mod review {
    use super::*;

    /// A memcg with nothing killable (every task at -1000) gets a whole
    /// report per retry, several a second; at a second's resolution, with no
    /// victim, only their figures tell them apart.
    #[test]
    fn two_no_kill_reports_in_one_second_with_other_figures_stay_two() {
        let report = |anon: u64, rss: u64| {
            [
                "java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-1000".to_owned(),
                "CPU: 0 PID: 7569 Comm: java Not tainted 6.1.0-13-amd64 #1 Debian 6.1.55-1".to_owned(),
                "memory: usage 32768kB, limit 32768kB, failcnt 0".to_owned(),
                "Memory cgroup stats for /lab/a:".to_owned(),
                format!("anon {anon}"),
                "file 0".to_owned(),
                "Tasks state (memory values in pages):".to_owned(),
                "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name".to_owned(),
                format!("[   7569]     0  7569    10824 {rss:>8}   131072        0         -1000 java"),
                "Out of memory and no killable processes...".to_owned(),
            ]
            .iter()
            .map(|l| format!("Nov 22 10:00:20 node1 kernel: {l}\n"))
            .collect::<String>()
        };
        let a = report(33_000_000, 8000);
        let (eps, summary, _) = analyze(&format!("{a}{}", report(32_000_000, 7800)));
        assert_eq!((eps.len(), summary["duplicates"].as_u64()), (2, Some(0)));
        let (eps, summary, _) = analyze(&format!("{a}{a}"));
        assert_eq!(
            (eps.len(), summary["duplicates"].as_u64()),
            (1, Some(1)),
            "the same one twice"
        );
    }

    /// A capture that names no boot matches both boots' captures of the
    /// same uptimes, but must not join them to each other.
    #[test]
    fn a_capture_without_boot_does_not_join_two_boots() {
        let j = read("corpus/containers/journalctl-k.json");
        let boot = "8d2f4c6a0b1e4f3a9c7d5e2b1a0f9e8d";
        let no_boot: String = j
            .lines()
            .map(|l| l.replace(&format!(",\"_BOOT_ID\":\"{boot}\""), "") + "\n")
            .collect();
        let other = j.replace(boot, "0000000000000000000000000000beef");
        let n = analyze(&j).0.len();
        let (eps, summary, _) = analyze(&format!("{no_boot}{j}{other}"));
        assert_eq!(eps.len(), 2 * n, "two boots, each reported");
        assert_eq!(summary["duplicates"], n as u64);
    }

    /// One capture cut short (its first 31 lines lost), before or after
    /// the whole one: the same kill at the same microsecond, one report.
    #[test]
    fn a_cut_capture_is_a_second_capture_in_either_order() {
        let a = read(ANON);
        let cut: String = a.lines().skip(31).map(|l| format!("{l}\n")).collect();
        for input in [format!("{cut}{a}"), format!("{a}{cut}")] {
            let (eps, summary, _) = analyze(&input);
            assert_eq!((eps.len(), summary["duplicates"].as_u64()), (1, Some(1)));
        }
    }

    /// The same kill line 300 s later is no repeat inside one report: a
    /// report whose header was lost.
    #[test]
    fn the_same_kill_line_much_later_is_another_report() {
        let a = read(ANON);
        let kill = a.lines().find(|l| l.contains("Killed process")).unwrap();
        let (eps, summary, err) = analyze(&format!("{a}{}", shift_uptime(kill, 300_000_000)));
        assert_eq!(eps.len(), 2);
        assert_eq!(summary["duplicate_lines"], 0);
        assert!(!err.contains("repeated"), "{err}");
    }

    /// memory.oom.group kills every member, the first victim again if its
    /// memory is not yet gone (its figures then differ): one episode.
    #[test]
    fn a_group_kill_revisiting_its_first_victim_is_one_episode() {
        let g = read("corpus/kernels/6.1-group-kill.log");
        let skip = "Memory cgroup out of memory: OOM victim 5512 (gunicorn) is already exiting. Skip killing the task";
        assert!(g.contains(skip));
        let again = g.replace(
            skip,
            "Memory cgroup out of memory: Killed process 5512 (gunicorn) total-vm:1420480kB, anon-rss:600000kB, file-rss:11644kB, shmem-rss:0kB, UID:998 pgtables:2492kB oom_score_adj:0",
        );
        let (eps, _, _) = analyze(&again);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0]["victims"].as_array().unwrap().len(), 3);
    }
}
