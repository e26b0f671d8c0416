//! Inputs as a user hands them over: recordings gzipped or not (and files
//! that are not recordings), forced log containers, and the year of
//! syslog times that print none.

mod util;

use std::io::Write;
use util::{oomctl, oomctl_stdin, TempDir};

/// The real recording in the corpus (6.18, cgroup v1, two OOMs).
const RECORDING: &str = "corpus/recordings/6.18-v1-multi.rec";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn replay_reads_a_gzipped_recording_as_analyze_does() {
    let d = TempDir::new("replay-gz");
    let rec = std::fs::read(RECORDING).unwrap();
    let gz = d.path("multi.rec.gz");
    std::fs::write(&gz, gzip(&rec)).unwrap();
    let plain = oomctl(&["replay", "--format", "jsonl", RECORDING]);
    assert_eq!(plain.code(), 0, "{}", plain.stderr_str());
    let gzipped = oomctl(&["replay", "--format", "jsonl", &gz.display().to_string()]);
    assert_eq!(gzipped.code(), 0, "{}", gzipped.stderr_str());
    assert_eq!(
        gzipped.stdout_str(),
        plain.stdout_str(),
        "the same episodes, byte for byte"
    );
    assert!(gzipped.stderr.is_empty(), "{}", gzipped.stderr_str());
    let piped = oomctl_stdin(&["replay", "--format", "jsonl", "-"], &gzip(&rec));
    assert_eq!(piped.code(), 0, "{}", piped.stderr_str());
    assert_eq!(piped.stdout_str(), plain.stdout_str(), "`-` reads standard input");
}

/// A gzipped recording cut short (a copy stopped mid-way) replays what
/// came before the cut, as analyze reads a cut gzip log, with a warning.
#[test]
fn replay_of_a_cut_gzip_keeps_what_came_before() {
    let d = TempDir::new("replay-gz-cut");
    let rec = std::fs::read(RECORDING).unwrap();
    let gz = gzip(&rec);
    let cut = d.path("cut.rec.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let out = oomctl(&["replay", "--format", "jsonl", &cut.display().to_string()]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    // The episodes before the cut (the one it cuts through, incomplete).
    assert!(out.stdout_str().lines().count() >= 1, "{}", out.stdout_str());
    assert!(
        out.stderr_str().contains("reading stopped early"),
        "{}",
        out.stderr_str()
    );
}

/// What replay says of a file that is not a recording: the file, that it
/// is not one, what a recording starts with, exit 2 and nothing on stdout.
#[test]
fn replay_says_when_a_file_is_not_a_recording() {
    let d = TempDir::new("replay-not");
    let dmesg = "corpus/real/6.18-v1-anon.dmesg.log";
    let cases: Vec<(String, &str)> = vec![
        (dmesg.to_owned(), "its first line is not JSON"),
        (write(&d, "empty.rec", b""), "it is empty"),
        (
            write(&d, "other.json", b"{\"kind\":\"Pod\"}\n{\"kind\":\"Pod\"}\n"),
            "its first line is JSON but not",
        ),
        (
            write(&d, "noise.bin", &[0xff, 0xfe, 0x00, 0x9c, b'\n', 0x80]),
            "its first line is not text",
        ),
        (
            write(&d, "log.gz", &gzip(b"[ 1.000000] hello\n")),
            "its first line is not JSON",
        ),
        (
            write(&d, "torn-header.rec", b"{\"t\":\"header\",\"version\":1,\"sou"),
            "it ends inside its header line",
        ),
    ];
    for (path, what) in cases {
        let out = oomctl(&["replay", "--format", "jsonl", &path]);
        let err = out.stderr_str();
        assert_eq!(out.code(), 2, "{path}: {err}");
        assert!(out.stdout.is_empty(), "{path}");
        assert!(
            err.starts_with(&format!("oomctl: error: {path}: not an oomctl recording: {what}")),
            "{path}: {err}"
        );
        assert!(err.contains("{\"t\":\"header\",\"version\":3,…}"), "{path}: {err}");
        assert_eq!(err.lines().count(), 1, "{path}: one line: {err}");
    }
    let out = oomctl(&["replay", dmesg]);
    assert!(
        out.stderr_str()
            .contains(&format!("A kernel log is read by `oomctl analyze {dmesg}`")),
        "{}",
        out.stderr_str()
    );

    // A recording damaged in the middle names the line and what belongs there.
    let rec = std::fs::read_to_string(RECORDING).unwrap();
    let mut lines: Vec<&str> = rec.lines().collect();
    lines[3] = "{\"t\":\"recrod\",\"r\":\"4,1,2,-;x\"}";
    let bad = write(&d, "bad.rec", (lines.join("\n") + "\n").as_bytes());
    let out = oomctl(&["replay", &bad]);
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr_str().starts_with(&format!(
            "oomctl: error: {bad}:4: not a recording entry (a JSON object whose \"t\" is header, record,"
        )),
        "{}",
        out.stderr_str()
    );
    let missing = oomctl(&["replay", "/nonexistent/oom.rec"]);
    assert_eq!(missing.code(), 2);
    assert!(
        missing.stderr_str().contains("/nonexistent/oom.rec: No such file"),
        "{}",
        missing.stderr_str()
    );
}

fn write(dir: &TempDir, name: &str, data: &[u8]) -> String {
    let p = dir.path(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

/// The lab's capture in every container (corpus/real, corpus/containers).
const FORMS: [(&str, &str); 5] = [
    ("dmesg", "corpus/real/6.18-v1-anon.dmesg.log"),
    ("kmsg", "corpus/real/6.18-v1-anon.kmsg.log"),
    ("syslog", "corpus/containers/kern.log"),
    ("journal-json", "corpus/containers/journalctl-k.json"),
    ("fluent-bit", "corpus/containers/fluent-bit-kmsg.jsonl"),
];

/// `--input-format` forces: every line is read as that container. A file
/// in the form is read as without the flag; a file of another form is read
/// line by line as bare messages (no time from any other container's
/// stamp), and a warning at the end counts those lines, names the first,
/// what it reads as and what to do.
#[test]
fn a_forced_input_format_reads_every_line_as_that_container() {
    for (forced, own) in FORMS {
        let auto = oomctl(&["analyze", "-f", "jsonl", own]);
        let same = oomctl(&["analyze", "-f", "jsonl", "--input-format", forced, own]);
        assert_eq!(same.stdout_str(), auto.stdout_str(), "{forced} on its own form");
        assert!(
            !same.stderr_str().contains("--input-format"),
            "{forced}: {}",
            same.stderr_str()
        );
        for (other, file) in FORMS.iter().filter(|(f, _)| *f != forced) {
            let out = oomctl(&["analyze", "-f", "jsonl", "--input-format", forced, file]);
            let err = out.stderr_str();
            assert!(out.code() <= 1, "{forced} on {other}: {err}");
            for ep in out.stdout_str().lines() {
                let ep: serde_json::Value = serde_json::from_str(ep).unwrap();
                for t in ["uptime_s", "wall", "seq"] {
                    assert!(
                        ep["time"][t].is_null(),
                        "{forced} on {other}: no {other} stamp read: {}",
                        ep["time"]
                    );
                }
            }
            let warning = err
                .lines()
                .find(|l| l.contains("--input-format"))
                .unwrap_or_else(|| panic!("{forced} on {other}: no warning: {err}"));
            assert!(
                warning.starts_with(&format!("oomctl: warning: {file}: ")),
                "{forced} on {other}: {warning}"
            );
            assert!(
                warning.contains(&format!(
                    ", the form --input-format {forced} forces (the first is line "
                )),
                "{forced} on {other}: {warning}"
            );
            assert!(
                warning.contains(&format!(", which reads as {other})")),
                "{forced} on {other}: {warning}"
            );
            assert!(
                warning.ends_with("Leave out --input-format to detect the container line by line"),
                "{warning}"
            );
        }
    }
    // The count and the first line, exactly: 79 lines of one report, all read.
    let out = oomctl(&["analyze", "-f", "jsonl", "--input-format", "kmsg", FORMS[0].1]);
    assert!(
        out.stderr_str().contains(": 79 lines that oomctl read are not kmsg records (`PRIO,SEQ,USEC,FLAGS;message`), the form --input-format kmsg forces (the first is line 1, which reads as dmesg)"),
        "{}",
        out.stderr_str()
    );
    // plain takes every line as it is: nothing to warn about.
    let out = oomctl(&["analyze", "-f", "jsonl", "--input-format", "plain", FORMS[2].1]);
    assert!(!out.stderr_str().contains("--input-format"), "{}", out.stderr_str());
}

/// The lab's kern.log (two memcg OOMs a second apart, Nov 23 11:16:17 and
/// :18) moved to New Year's Eve: the first report on Dec 31, the second on
/// Jan 1.
fn new_years_kern_log() -> String {
    std::fs::read_to_string("corpus/containers/kern.log")
        .unwrap()
        .replace("Nov 23 11:16:15", "Dec 31 23:59:58")
        .replace("Nov 23 11:16:17", "Dec 31 23:59:59")
        .replace("Nov 23 11:16:18", "Jan  1 00:00:00")
        .replace("Nov 23 11:16:19", "Jan  1 00:00:01")
}

/// Set a file's modification time (RFC 3339).
fn set_mtime(path: &str, when: &str) {
    let t = chrono::DateTime::parse_from_rfc3339(when).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.timestamp() as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// Each episode's `time.wall` and `time.wall_year`.
fn walls(stdout: &str) -> Vec<(serde_json::Value, serde_json::Value)> {
    stdout
        .lines()
        .map(|l| {
            let ep: serde_json::Value = serde_json::from_str(l).unwrap();
            (ep["time"]["wall"].clone(), ep["time"]["wall_year"].clone())
        })
        .collect()
}

fn pair(wall: &str, how: &str) -> (serde_json::Value, serde_json::Value) {
    (wall.into(), how.into())
}

/// A year-less syslog time is dated by the file's mtime (the latest year
/// not after it, across the new year), `--year` wins, and the output says
/// which; a pipe has no mtime: the wall clock stays null and a warning
/// says why and what to do; standard input redirected from the file has
/// its mtime.
#[test]
fn syslog_times_without_a_year_are_dated_by_the_files_mtime() {
    let d = TempDir::new("year-mtime");
    let log = write(&d, "kern.log", new_years_kern_log().as_bytes());
    set_mtime(&log, "2026-01-02T08:00:00Z");
    let out = oomctl(&["analyze", "-f", "jsonl", &log]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert!(out.stderr.is_empty(), "{}", out.stderr_str());
    assert_eq!(
        walls(&out.stdout_str()),
        [
            pair("2025-12-31T23:59:59", "inferred_mtime"),
            pair("2026-01-01T00:00:00", "inferred_mtime")
        ]
    );
    // Every machine format says it: CSV in its column after `unlimited`.
    let csv = oomctl(&["analyze", "-f", "csv", &log]).stdout_str();
    let mut rows = csv.lines();
    assert!(rows
        .next()
        .unwrap()
        .ends_with(",printed,unlimited,wall_year,filesystem"));
    assert!(rows.next().unwrap().ends_with(",report,false,inferred_mtime,"), "{csv}");

    let bad = oomctl(&["analyze", "-f", "jsonl", "--year", "20190", &log]);
    assert_eq!(bad.code(), 2);
    assert_eq!(
        bad.stderr_str(),
        "oomctl: error: --year 20190: expected a year from 1 to 9999\n"
    );
    let given = oomctl(&["analyze", "-f", "jsonl", "--year", "2019", &log]);
    assert_eq!(
        walls(&given.stdout_str()),
        [
            pair("2019-12-31T23:59:59", "given"),
            pair("2019-01-01T00:00:00", "given")
        ]
    );

    let text = new_years_kern_log();
    let piped = oomctl_stdin(&["analyze", "-f", "jsonl"], text.as_bytes());
    assert_eq!(piped.code(), 0);
    assert_eq!(
        walls(&piped.stdout_str()),
        vec![(serde_json::Value::Null, serde_json::Value::Null); 2]
    );
    assert_eq!(
        piped.stderr_str(),
        "oomctl: warning: -: 2 episodes have no wall clock: syslog prints no year, and a pipe has no modification time to infer it from. Give --year YEAR\n"
    );
    let piped = oomctl_stdin(&["analyze", "-f", "jsonl", "--year", "2019"], text.as_bytes());
    assert!(piped.stderr.is_empty(), "{}", piped.stderr_str());
    assert_eq!(walls(&piped.stdout_str())[0], pair("2019-12-31T23:59:59", "given"));

    let redirected = std::process::Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl"])
        .stdin(std::fs::File::open(&log).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(redirected.stdout)
            .unwrap()
            .replace("\"file\":\"-\"", &format!("\"file\":\"{log}\"")),
        out.stdout_str(),
        "`< kern.log` is dated as kern.log"
    );
}

/// A date a line printed dates the year-less times after it, over the
/// mtime, and carries on across the new year. (The first report as
/// short-iso lines, the second as classic syslog: as a central rsyslog
/// writes a host that sends RFC 3339 beside one that does not.)
#[test]
fn a_date_printed_before_dates_the_syslog_times_after_it() {
    let d = TempDir::new("year-line");
    let text = new_years_kern_log().replace("Dec 31 23:59:59 ", "2020-12-31T23:59:59+0000 ");
    let log = write(&d, "mixed.log", text.as_bytes());
    set_mtime(&log, "2026-06-01T00:00:00Z");
    let out = oomctl(&["analyze", "-f", "jsonl", &log]);
    assert_eq!(
        walls(&out.stdout_str()),
        [
            (serde_json::Value::from("2020-12-31T23:59:59Z"), serde_json::Value::Null),
            pair("2021-01-01T00:00:00", "inferred_line")
        ]
    );
}

/// Each input is dated by its own mtime, the same with one worker or two.
#[test]
fn each_input_is_dated_by_its_own_mtime_serially_and_in_parallel() {
    let d = TempDir::new("year-parallel");
    let mut paths = Vec::new();
    for (i, when) in ["2026-01-02T00:00:00Z", "2031-01-02T00:00:00Z", "2024-03-01T00:00:00Z"]
        .iter()
        .enumerate()
    {
        // Other pids: the same report in two files would be one capture.
        let text = new_years_kern_log()
            .replace("7593", &format!("{}", 8000 + i))
            .replace("7594", &format!("{}", 9000 + i));
        let p = write(&d, &format!("kern.log.{i}"), text.as_bytes());
        set_mtime(&p, when);
        paths.push(p);
    }
    let args = |j: &'static str| {
        let mut a = vec!["analyze", "-f", "jsonl", j];
        a.extend(paths.iter().map(String::as_str));
        a
    };
    let serial = oomctl(&args("-j1"));
    let parallel = oomctl(&args("-j2"));
    assert_eq!(serial.stdout, parallel.stdout, "-j1 and -j2 print the same bytes");
    let years: Vec<String> = walls(&serial.stdout_str())
        .iter()
        .map(|(w, _)| w.as_str().unwrap()[..4].to_owned())
        .collect();
    // Oldest first (issue 16): the files are ordered by their dated times.
    assert_eq!(years, ["2023", "2024", "2025", "2026", "2030", "2031"]);
}
