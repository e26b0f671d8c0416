//! The `analyze` command as a user meets it: exit codes, every output
//! format, stdin, gzip, directories, parallel runs, hostile input.

mod util;

use oomctl::model::Episode;
use std::io::Write;
use util::{oomctl, oomctl_stdin, oomctl_stdin_env, TempDir};

// A memcg OOM captured in this project's lab (kernel 6.18.44, cgroup v1),
// stack trimmed, with unrelated lines around it.
const REPORT: &str = "\
[ 5630.000001] EXT4-fs (vda): mounted filesystem r/w without journal.
[ 5636.239402] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 5636.239422] CPU: 1 UID: 0 PID: 1887 Comm: python3 Not tainted 6.18.44-fc-v769 #1 PREEMPT(none) 
[ 5636.239431] Call Trace:
[ 5636.239453]  <TASK>
[ 5636.239462]  dump_stack_lvl+0x59/0x90
[ 5636.239683]  </TASK>
[ 5636.239684] memory: usage 32768kB, limit 32768kB, failcnt 19
[ 5636.239701] memory+swap: usage 32768kB, limit 9007199254740988kB, failcnt 0
[ 5636.239703] kmem: usage 64kB, limit 9007199254740988kB, failcnt 0
[ 5636.239704] Memory cgroup stats for /process_api/442c08a392b2a2bb7f469f721f58bc64/oomctl-probe:
[ 5636.239729] cache 0
[ 5636.239731] rss 33488896
[ 5636.239783] Tasks state (memory values in pages):
[ 5636.239790] [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
[ 5636.239792] [   1887]     0  1887    12365    11564     9888     1676         0   143360        0             0 python3
[ 5636.239797] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/process_api/442c08a392b2a2bb7f469f721f58bc64/oomctl-probe,task_memcg=/process_api/442c08a392b2a2bb7f469f721f58bc64/oomctl-probe,task=python3,pid=1887,uid=0
[ 5636.239815] Memory cgroup out of memory: Killed process 1887 (python3) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0
[ 5640.000000] EXT4-fs (vda): re-mounted.
";

fn write(dir: &TempDir, name: &str, data: &[u8]) -> String {
    let p = dir.path(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

fn episodes(stdout: &str) -> Vec<Episode> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl episode"))
        .collect()
}

#[test]
fn exit_codes_follow_the_documented_contract() {
    let d = TempDir::new("exit");
    let with = write(&d, "with.log", REPORT.as_bytes());
    let without = write(&d, "without.log", b"[    1.0] nothing here\n");
    assert_eq!(oomctl(&["analyze", "--format", "jsonl", &with]).code(), 0);
    let none = oomctl(&["analyze", "--format", "jsonl", &without]);
    assert_eq!(none.code(), 1);
    assert!(none.stdout.is_empty());
    let missing = oomctl(&["analyze", "--format", "jsonl", &with, "/nonexistent/kern.log"]);
    assert_eq!(
        missing.code(),
        2,
        "an unreadable input is an error even when others had episodes"
    );
    assert!(
        missing.stderr_str().contains("/nonexistent/kern.log"),
        "{}",
        missing.stderr_str()
    );
    assert_eq!(
        episodes(&missing.stdout_str()).len(),
        1,
        "readable inputs are still reported"
    );
    let bad = oomctl(&["analyze", "--page-size", "1000", &with]);
    assert_eq!(bad.code(), 2);
    assert!(bad.stderr_str().contains("--page-size"));
    let help = oomctl(&["analyze", "--help"]).stdout_str();
    assert!(
        help.contains(
            "Exit status:\n  0  at least one OOM episode was found\n  1  no OOM episode was found\n  2  an error"
        ),
        "{help}"
    );
}

#[test]
fn jsonl_fields_of_a_real_report() {
    let out = oomctl_stdin(&["analyze", "--format", "jsonl"], REPORT.as_bytes());
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let eps = episodes(&out.stdout_str());
    assert_eq!(eps.len(), 1);
    let e = &eps[0];
    assert_eq!(e.source.file, "-");
    assert_eq!((e.source.first_line, e.source.last_line), (2, 18));
    assert_eq!(e.time.uptime_s, Some(5636.239402));
    assert_eq!(e.victims[0].anon_rss_bytes, Some(39552 * 1024));
    assert_eq!(e.memcg.as_ref().unwrap().limit_bytes, Some(32 << 20));
}

#[test]
fn json_document_and_csv() {
    let out = oomctl_stdin(&["analyze", "--format", "json"], REPORT.as_bytes());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["episodes"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["episodes"], 1);
    assert_eq!(doc["summary"]["by_scope"]["memcg"], 1);
    let empty = oomctl_stdin(&["analyze", "--format", "json"], b"nothing\n");
    let doc: serde_json::Value = serde_json::from_slice(&empty.stdout).expect("valid even when empty");
    assert_eq!(doc["episodes"].as_array().unwrap().len(), 0);

    // A hostile process name: a spreadsheet formula and a terminal escape.
    let hostile = REPORT.replace("(python3)", "(=cmd|' /C calc'!A0\u{1b}[2J)");
    let out = oomctl_stdin(&["analyze", "--format", "csv"], hostile.as_bytes());
    let text = out.stdout_str();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let row = rdr.records().next().unwrap().unwrap();
    let comm = &row[headers.iter().position(|h| h == "victim_comm").unwrap()];
    assert!(comm.starts_with("'="), "formula guarded: {comm}");
    assert!(!text.contains('\u{1b}'), "no raw ESC in CSV");
    let adj = &row[headers.iter().position(|h| h == "oom_score_adj").unwrap()];
    assert_eq!(adj, "0");
}

#[test]
fn table_is_safe_for_terminals() {
    let hostile = REPORT.replace("(python3)", "(evil\u{1b}]0;pwned\u{7})");
    let out = oomctl_stdin_env(
        &["analyze", "--format", "table"],
        hostile.as_bytes(),
        &[("COLUMNS", "160")],
    );
    let text = out.stdout_str();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text}");
    assert!(text.contains("evil\\x1b]0;pwned\\x07"), "{text}");
    assert!(text.contains("1 episode (1 memcg), 0 incomplete, in 1 file"), "{text}");
    let row = text.lines().nth(1).expect("a row under the header");
    assert_eq!(row.matches(" 32M ").count(), 2, "usage and limit: {text}");
    // `--color always` colours it, still without a byte of the log raw.
    let coloured = oomctl_stdin(
        &["analyze", "--format", "table", "--color", "always"],
        hostile.as_bytes(),
    );
    let text = coloured.stdout_str();
    assert!(text.contains("\u{1b}[31manon\u{1b}[0m"), "{text}");
    assert!(!text.contains('\u{7}') && !text.contains("\u{1b}]"), "{text}");
}

#[test]
fn gzip_directories_and_parallel_runs_agree() {
    let d = TempDir::new("multi");
    std::fs::create_dir_all(d.path("logs/sub")).unwrap();
    let mut files = Vec::new();
    for i in 0..6 {
        // Distinct reports: different pids and times.
        let r = REPORT
            .replace("1887", &format!("{}", 2000 + i))
            .replace("5636.", &format!("{}.", 7000 + i));
        files.push(write(&d, &format!("logs/sub/k{i}.log"), r.as_bytes()));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(REPORT.as_bytes()).unwrap();
    write(&d, "logs/kern.log.2.gz", &gz.finish().unwrap());
    let dir = d.path("logs").display().to_string();
    let serial = oomctl(&["analyze", "--format", "jsonl", "-j1", &dir]);
    let parallel = oomctl(&["analyze", "--format", "jsonl", "-j4", &dir]);
    assert_eq!(serial.code(), 0, "{}", serial.stderr_str());
    assert_eq!(serial.stdout, parallel.stdout, "-j1 and -j4 must print the same bytes");
    let eps = episodes(&serial.stdout_str());
    assert_eq!(eps.len(), 7);
    assert!(
        eps[0].source.file.ends_with("kern.log.2.gz"),
        "sorted walk: {}",
        eps[0].source.file
    );
    assert_eq!(eps[0].victims[0].pid, 1887);
}

#[test]
fn the_same_report_twice_counts_once() {
    let d = TempDir::new("dup");
    let a = write(&d, "dmesg.txt", REPORT.as_bytes());
    let b = write(&d, "dmesg-again.txt", REPORT.as_bytes());
    let out = oomctl(&["analyze", "--format", "json", &a, &b]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["episodes"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["duplicates"], 1);
    let twice = format!("{REPORT}{REPORT}");
    let out = oomctl_stdin(&["analyze", "--format", "jsonl"], twice.as_bytes());
    assert_eq!(episodes(&out.stdout_str()).len(), 1);
}

#[test]
fn huge_lines_and_binary_noise_are_survived() {
    let mut data = Vec::new();
    data.extend(std::iter::repeat_n(b'x', 3 << 20));
    data.extend_from_slice(b" oom emory\n");
    data.extend((0..=255u8).cycle().take(100_000));
    data.push(b'\n');
    data.extend_from_slice(REPORT.as_bytes());
    let out = oomctl_stdin(&["analyze", "--format", "jsonl"], &data);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert_eq!(episodes(&out.stdout_str()).len(), 1);
    assert!(out.stderr_str().contains("longer than"), "{}", out.stderr_str());
}

#[test]
fn malformed_oom_lines_are_reported_not_fatal() {
    let broken = REPORT.replace("Killed process 1887 (python3)", "Killed process 1887 (python3");
    let out = oomctl_stdin(&["analyze", "--format", "jsonl"], broken.as_bytes());
    assert_eq!(out.code(), 0);
    let eps = episodes(&out.stdout_str());
    assert_eq!(eps.len(), 1);
    assert!(!eps[0].complete, "no parsable kill line");
    assert_eq!(eps[0].malformed.len(), 1);
    assert_eq!(eps[0].malformed[0].line, 18);
}

#[test]
fn packaging_completions_man_and_version() {
    let v = oomctl(&["--version"]).stdout_str();
    assert!(v.starts_with(&format!("oomctl {} (", env!("CARGO_PKG_VERSION"))), "{v}");
    for shell in ["bash", "zsh", "fish"] {
        let out = oomctl(&["completions", shell]);
        assert_eq!(out.code(), 0);
        let text = out.stdout_str();
        for sub in ["analyze", "watch", "replay", "simulate", "guard", "snapshot"] {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let man = oomctl(&["man"]).stdout_str();
    assert!(man.contains(".TH OOMCTL 1 "), "{man}");
    assert!(
        man.contains("oomctl\\-analyze(1)") && man.contains(".SH \"EXIT STATUS\""),
        "{man}"
    );
    assert_eq!(oomctl(&["completions", "nosuchshell"]).code(), 2);
}

/// `oomctl dump` is systemd-oomd's oomctl's command (systemd 252's
/// oomctl(1): `oomctl [OPTIONS...] {COMMAND}`, COMMAND `dump`). Typed to
/// this oomctl, it says which program this is and where systemd's is,
/// with any arguments after it, and exits 2; nothing offers it.
#[test]
fn systemds_dump_says_which_oomctl_this_is() {
    let systemds = ["/usr/bin/oomctl", "/bin/oomctl"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file());
    for args in [&["dump"][..], &["dump", "--no-pager"], &["--color", "never", "dump"]] {
        let out = oomctl(args);
        assert_eq!(out.code(), 2, "{args:?}");
        assert!(out.stdout.is_empty());
        let err = out.stderr_str();
        assert!(err.contains("dump is a command of systemd-oomd's oomctl"), "{err}");
        assert!(err.contains("oomctl the OOM-log analyzer"), "{err}");
        assert!(
            err.contains(&format!("installed as {}", env!("CARGO_BIN_EXE_oomctl"))),
            "{err}"
        );
        match systemds {
            Some(p) => assert!(
                err.contains(&format!("systemd's oomctl is {p}: run it by its path")),
                "{err}"
            ),
            None => assert!(err.contains("not at /usr/bin/oomctl or /bin/oomctl"), "{err}"),
        }
    }
    // A typo is still clap's, with its suggestion.
    let typo = oomctl(&["analyse"]);
    assert_eq!(typo.code(), 2);
    assert!(
        typo.stderr_str().contains("unrecognized subcommand 'analyse'"),
        "{}",
        typo.stderr_str()
    );
    assert!(!oomctl(&["--help"]).stdout_str().contains("\n  dump"));
    for shell in ["bash", "zsh", "fish"] {
        let text = oomctl(&["completions", shell]).stdout_str();
        assert!(!text.contains("dump"), "{shell} completions offer dump");
    }
}

#[test]
fn report_events_and_otel_are_safe_for_terminals_and_parsers() {
    let hostile = REPORT.replace("(python3)", "(ev\u{1b}]0;x\u{7}il)");
    for f in ["report", "events", "otel", "prom"] {
        let out = oomctl_stdin(&["analyze", "--format", f], hostile.as_bytes());
        let text = out.stdout_str();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{f}: {text}");
        if f == "report" || f == "events" {
            assert!(text.contains("ev\\x1b]0;x\\x07il"), "{f}: {text}");
        }
    }
    // Events lines keep five tab-separated fields whatever the names hold.
    let tabs = REPORT.replace("(python3)", "(a\tb)");
    let ev = oomctl_stdin(&["analyze", "--format", "events"], tabs.as_bytes()).stdout_str();
    assert!(ev.lines().all(|l| l.split('\t').count() == 5), "{ev}");
}

/// A recording torn by a crash, or with records lost to overruns: analyze
/// and replay both report what is there and say what was lost.
#[test]
fn torn_and_lossy_recordings_are_read_and_the_loss_reported() {
    let dir = TempDir::new("torn");
    let rec = std::fs::read_to_string("corpus/recordings/6.18-v1-multi.rec").unwrap();
    // Cut inside the second report's task table, mid-line.
    let cut = rec.rfind("[  20508]     0 205").expect("second task table") + 10;
    let torn = write(&dir, "torn.rec", &rec.as_bytes()[..cut]);
    // Records lost between the two reports.
    let second = rec.find("{\"t\":\"record\",\"r\":\"4,36841,").expect("second report");
    let lossy = format!("{}{{\"t\":\"lost\",\"n\":7}}\n{}", &rec[..second], &rec[second..]);
    let lossy = write(&dir, "lossy.rec", lossy.as_bytes());
    for cmd in ["analyze", "replay"] {
        let out = oomctl(&[cmd, "--format", "jsonl", &torn]);
        assert_eq!(out.code(), 0, "{cmd}: {}", out.stderr_str());
        let eps = episodes(&out.stdout_str());
        assert_eq!(eps.len(), 2, "{cmd}");
        assert!(
            eps[0].complete && !eps[1].complete,
            "{cmd}: the cut report is incomplete"
        );
        assert!(
            out.stderr_str().contains("last line was torn"),
            "{cmd}: {}",
            out.stderr_str()
        );

        let out = oomctl(&[cmd, "--format", "jsonl", &lossy]);
        assert_eq!(episodes(&out.stdout_str()).len(), 2, "{cmd}");
        assert!(
            out.stderr_str()
                .contains("7 kernel log records were lost to ring-buffer overruns"),
            "{cmd}: {}",
            out.stderr_str()
        );
    }
}

/// The table is written a row per episode as each comes, under one header,
/// so a huge input holds no rows in memory; the groups and the summary come
/// once, at the end, and no line is wider than the width.
#[test]
fn table_streams_one_line_per_episode() {
    let mut log = String::new();
    for i in 0..2500u32 {
        log.push_str(&format!(
            "[{}.000000] p{i} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n",
            100 + i * 20
        ));
    }
    let out = oomctl_stdin(&["analyze", "--format", "table"], log.as_bytes()).stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(out.matches("TIME ").count(), 1, "one header");
    assert!(lines[1].starts_with("100.000s "), "{}", lines[1]);
    assert!(lines[2500].starts_with("50080.000s "), "{}", lines[2500]);
    assert!(
        lines[2501].is_empty() && lines[2502] == "By workload:",
        "{}",
        lines[2502]
    );
    assert!(out.contains("  2500 × unknown in (no cgroup in the log)"), "{out}");
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.ends_with("in 1 file; no duplicates; 0 malformed lines"),
        "summary last"
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "80 columns");
}

/// A selection whose kill line is not in the log names the process the
/// kernel chose in every human format, and as `selected` in JSON.
#[test]
fn a_lone_selection_is_shown_in_every_format() {
    let line = b"[ 5.0] Memory cgroup out of memory: Kill process 25169 (hyperkube) score 2109 or sacrifice child\n";
    let jsonl = oomctl_stdin(&["analyze", "--format", "jsonl"], line);
    let eps = episodes(&jsonl.stdout_str());
    let s = eps[0].selected.as_ref().expect("selected");
    assert_eq!((s.pid, s.comm.as_str(), s.score), (25169, "hyperkube", Some(2109)));
    assert!(eps[0].victims.is_empty());
    let report = oomctl_stdin(&["analyze", "--format", "report"], line).stdout_str();
    assert!(
        util::words(&report).contains("it had chosen hyperkube (25169), score 2109"),
        "{report}"
    );
    let table = oomctl_stdin(&["analyze", "--format", "table"], line).stdout_str();
    assert!(table.contains(" (hyperkube) "), "{table}");
    let events = oomctl_stdin(&["analyze", "--format", "events"], line).stdout_str();
    assert!(events.contains("selected process hyperkube, pid: 25169"), "{events}");
}

/// Issue 15: the kernel's "no limit" (here the memory limit, in a v1 OOM
/// at the memory+swap limit) is said in every format, never written as the
/// kernel's huge number, which JSON consumers round.
#[test]
fn no_limit_is_said_in_every_format() {
    let report = REPORT
        .replace(
            "memory: usage 32768kB, limit 32768kB, failcnt 19",
            "memory: usage 32768kB, limit 9007199254740988kB, failcnt 0",
        )
        .replace(
            "memory+swap: usage 32768kB, limit 9007199254740988kB, failcnt 0",
            "memory+swap: usage 32768kB, limit 32768kB, failcnt 19",
        );
    let huge = |f: &str, text: &str| {
        let digits = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(digits < 16, "{f}: a number JSON consumers round: {text}");
        assert!(!text.contains("e+18") && !text.contains("PiB"), "{f}: {text}");
    };
    let jsonl = oomctl_stdin(&["analyze", "--format", "jsonl"], report.as_bytes()).stdout_str();
    huge("jsonl", &jsonl);
    let e = &episodes(&jsonl)[0];
    let m = e.memcg.as_ref().unwrap();
    assert_eq!((m.limit_bytes, m.unlimited), (None, true));
    let memsw = e.memsw.unwrap();
    assert_eq!((memsw.limit_bytes, memsw.unlimited), (Some(32 << 20), false));
    let kmem = e.kmem.unwrap();
    assert_eq!((kmem.limit_bytes, kmem.unlimited), (None, true));
    let ev = &e.diagnosis.as_ref().unwrap().evidence;
    assert_eq!((ev.limit_bytes, ev.unlimited), (None, true));

    let csv = oomctl_stdin(&["analyze", "--format", "csv"], report.as_bytes()).stdout_str();
    huge("csv", &csv);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let row = rdr.records().next().unwrap().unwrap();
    let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(
        (cell("limit_bytes"), cell("unlimited")),
        (String::new(), "true".to_owned())
    );

    for (f, said) in [
        ("table", "  32M     ∞ "),
        ("report", "usage 32.0 MiB, no limit"),
        ("events", "usage 32.0 MiB with no limit"),
        ("otel", "\"oom.unlimited\":true"),
        ("prom", "oomctl_oom_kills_total"),
    ] {
        let text = oomctl_stdin(&["analyze", "--format", f], report.as_bytes()).stdout_str();
        huge(f, &text);
        assert!(text.contains(said), "{f}: {text}");
    }
    let otel = oomctl_stdin(&["analyze", "--format", "otel"], report.as_bytes()).stdout_str();
    assert!(!otel.contains("oom.limit_bytes"), "{otel}");

    let sim = oomctl_stdin(&["simulate", "--format", "csv"], report.as_bytes()).stdout_str();
    huge("simulate csv", &sim);
    assert!(sim.lines().next().unwrap().ends_with(",unlimited"), "{sim}");
    assert!(sim.lines().nth(1).unwrap().ends_with(",true"), "{sim}");
    let sim = oomctl_stdin(&["simulate", "--format", "table"], report.as_bytes()).stdout_str();
    assert!(sim.lines().nth(1).is_some_and(|l| l.contains(" 32M     ∞ ")), "{sim}");
}
