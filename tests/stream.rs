//! Live inputs through the real binary: a pipe whose writer keeps it open
//! gets each episode printed once it is complete, and `--follow` reads a
//! file as `tail -F` does (appends, rotation, truncation, a file that does
//! not exist yet). Timing is checked with generous deadlines: an episode
//! is printed about half a second after its report (the grace), and a test
//! only fails if it takes more than [`DEADLINE`].

mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use util::TempDir;

/// Longest wait for an episode the test expects.
const DEADLINE: Duration = Duration::from_secs(3);

/// Reports of five kernels (corpus/kernels), one episode each, all
/// different reports (none a second capture of another).
const REPORTS: [&str; 5] = [
    "corpus/kernels/4.19-debian10-memcg.log",
    "corpus/kernels/5.0-ubuntu-hwe-memcg.log",
    "corpus/kernels/5.10-cgroup2-containerd.log",
    "corpus/kernels/3.10-centos7-k8s-memcg.log",
    "corpus/kernels/2.6.32-rhel6-global.log",
];

fn report(i: usize) -> Vec<u8> {
    std::fs::read(REPORTS[i]).expect("corpus report")
}

/// oomctl running with its stdout read line by line on a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str], stdin: Stdio) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oomctl"))
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run oomctl");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { return };
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Running { child, lines }
    }

    /// The next line of output, which must come within [`DEADLINE`].
    fn next(&self, what: &str) -> String {
        let t = Instant::now();
        match self.lines.recv_timeout(DEADLINE) {
            Ok(l) => l,
            Err(_) => panic!("{what}: no episode within {DEADLINE:?} (waited {:?})", t.elapsed()),
        }
    }

    /// No further line within `d`.
    fn silent(&self, d: Duration, what: &str) {
        if let Ok(l) = self.lines.recv_timeout(d) {
            panic!("{what}: unexpected output {l}");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The episode's `source.first_line`, to tell episodes apart.
fn first_line(episode: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(episode).expect("a JSON line");
    v["source"]["first_line"].as_u64().expect("first_line")
}

/// `(cat report; sleep)`: the writer keeps the pipe open (up to 30 s)
/// after a report; its episode must be printed within the deadline, not
/// at the end, and so must the next one. Closing the pipe then ends the
/// run with the episodes a file of the same bytes gives.
#[test]
fn a_piped_episode_is_printed_while_the_pipe_stays_open() {
    let mut run = Running::start(&["analyze", "-f", "jsonl", "--year", "2024"], Stdio::piped());
    let mut stdin = run.child.stdin.take().expect("stdin");
    let opened = Instant::now();
    stdin.write_all(&report(0)).unwrap();
    stdin.flush().unwrap();
    let first = run.next("first report");
    stdin.write_all(&report(1)).unwrap();
    stdin.flush().unwrap();
    let second = run.next("second report");
    assert!(
        opened.elapsed() < Duration::from_secs(30),
        "printed before the writer ended"
    );
    drop(stdin);
    let status = run.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let d = TempDir::new("stream-pipe");
    let file = d.path("k.log");
    std::fs::write(&file, [report(0), report(1)].concat()).unwrap();
    let want = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl", "--year", "2024", "-"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        format!("{first}\n{second}\n"),
        String::from_utf8(want.stdout).unwrap(),
        "the episodes of the same bytes read from a file"
    );
}

/// A report cut before its kill line is not printed at the grace: it
/// waits for its kill (up to the watch's 10 s).
#[test]
fn a_report_waiting_for_its_kill_is_not_printed_at_the_grace() {
    let text = String::from_utf8(report(0)).unwrap();
    let kill = text.find("Killed process").expect("a kill line");
    let start = text[..kill].rfind('\n').map_or(0, |i| i + 1);
    let mut run = Running::start(&["analyze", "-f", "jsonl"], Stdio::piped());
    let mut stdin = run.child.stdin.take().expect("stdin");
    stdin.write_all(&text.as_bytes()[..start]).unwrap();
    stdin.flush().unwrap();
    run.silent(Duration::from_millis(1500), "a report without its kill");
    stdin.write_all(&text.as_bytes()[start..]).unwrap();
    stdin.flush().unwrap();
    let ep = run.next("the report with its kill");
    assert!(ep.contains("\"victims\":[{"), "{ep}");
}

/// `--follow`: a file created after the start, appended to, rotated
/// (renamed, a new file at the path), truncated and written again,
/// removed and created again: every report is printed once, as it comes.
#[test]
fn follow_reads_appends_rotations_and_truncations() {
    let d = TempDir::new("stream-follow");
    let log = d.path("kern.log");
    let run = Running::start(
        &["analyze", "-f", "jsonl", "--follow", &log.display().to_string()],
        Stdio::null(),
    );
    run.silent(Duration::from_millis(500), "nothing there yet");

    std::fs::write(&log, report(0)).unwrap();
    let created = run.next("the file created");

    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&report(1)).unwrap();
    drop(f);
    let appended = run.next("lines appended");
    assert!(first_line(&appended) > first_line(&created));

    std::fs::rename(&log, d.path("kern.log.1")).unwrap();
    std::fs::write(&log, report(2)).unwrap();
    let rotated = run.next("a new file after a rotation");
    assert!(first_line(&rotated) > first_line(&appended), "line numbers go on");

    // Truncated (copytruncate) and written again, shorter than what was
    // read (3554 bytes after 4702): seen as a truncation whenever the
    // follower looks, and read again from the start.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&log, report(3)).unwrap();
    run.next("the file written again after a truncation");

    std::fs::remove_file(&log).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&log, report(4)).unwrap();
    run.next("the file created again");
    run.silent(Duration::from_millis(800), "every report once");
}

/// Lines appended to a followed file while a report is open are read with
/// it: a report written in two pieces is one episode.
#[test]
fn follow_joins_a_report_written_in_two_pieces() {
    let d = TempDir::new("stream-follow-pieces");
    let log = d.path("kern.log");
    let text = report(0);
    let half = text.len() / 2;
    let cut = half + text[half..].iter().position(|b| *b == b'\n').unwrap() + 1;
    std::fs::write(&log, &text[..cut]).unwrap();
    let run = Running::start(
        &["analyze", "-f", "jsonl", "--follow", &log.display().to_string()],
        Stdio::null(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&text[cut..]).unwrap();
    drop(f);
    let ep = run.next("the report");
    let want = util::oomctl(&["analyze", "-f", "jsonl", &log.display().to_string()]);
    assert_eq!(
        format!("{ep}\n"),
        want.stdout_str(),
        "one episode, as the file gives it"
    );
}

/// SIGTERM ends `--follow` as a file's end does: the report still open
/// is finished and `-f json` closes with its summary.
#[test]
fn a_signal_ends_follow_with_the_summary() {
    let d = TempDir::new("stream-follow-stop");
    let log = d.path("kern.log");
    std::fs::write(&log, report(0)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "json", "--follow", &log.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oomctl");
    std::thread::sleep(Duration::from_millis(1000));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("--follow did not end within {DEADLINE:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a whole JSON document");
    assert_eq!(v["summary"]["episodes"], 1);
}
