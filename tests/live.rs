//! The live path on the real machine: a real memcg OOM caused here, seen by
//! `oomctl watch`, recorded, and replayed to the same bytes.
//!
//! Safety (DEVELOPERS.md): the only cgroup touched is one this test creates
//! under its own memory cgroup, with a 32 MiB limit; the only process in it
//! is one this test starts (`tail /dev/zero`, which allocates until the
//! limit). The cgroup is removed at the end. Skips, saying why, where the
//! machine cannot do this (not root, no cgroup-v1 memory controller, no
//! /dev/kmsg).

mod util;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use util::TempDir;

const LIMIT: u64 = 32 << 20;

/// Live tests see every OOM on the machine: run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This process's cgroup-v1 memory cgroup directory, or why not.
fn own_memcg() -> Result<(PathBuf, String), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid != "0" {
        return Err(format!("not root (euid {uid}): cannot create memory cgroups"));
    }
    if std::fs::File::open("/dev/kmsg").is_err() {
        return Err("/dev/kmsg is not readable".to_owned());
    }
    let cg = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
    let path = cg
        .lines()
        .find_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrl, path) = (p.next()?, p.next()?, p.next()?);
            ctrl.split(',').any(|c| c == "memory").then(|| path.to_owned())
        })
        .ok_or("no cgroup-v1 memory controller for this process")?;
    let dir = PathBuf::from(format!("/sys/fs/cgroup/memory{path}"));
    if !dir.join("memory.limit_in_bytes").exists() {
        return Err(format!("{} has no memory.limit_in_bytes", dir.display()));
    }
    Ok((dir, path))
}

/// A child cgroup that removes itself (after killing what is left in it,
/// which can only be the process this test put there).
struct Memcg {
    dir: PathBuf,
    kernel_path: String,
}

impl Memcg {
    fn create(parent: &std::path::Path, parent_path: &str, name: &str) -> Memcg {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).expect("mkdir memcg");
        std::fs::write(dir.join("memory.limit_in_bytes"), LIMIT.to_string()).expect("set limit");
        Memcg {
            dir,
            kernel_path: format!("{}/{name}", parent_path.trim_end_matches('/')),
        }
    }
}

impl Drop for Memcg {
    fn drop(&mut self) {
        for _ in 0..50 {
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("warning: could not remove {}", self.dir.display());
    }
}

fn lines_of(child: &mut Child) -> mpsc::Receiver<(Instant, String)> {
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), l)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Run `tail /dev/zero` in `cg` until the OOM killer kills it; its pid.
fn oom_in(cg: &Memcg) -> u32 {
    let mut hog = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec tail /dev/zero",
            cg.dir.display()
        ))
        .spawn()
        .expect("start the allocator");
    let pid = hog.id();
    let status = hog.wait().expect("allocator ends");
    assert!(!status.success(), "the allocator must be OOM-killed");
    pid
}

fn start_watch(
    args: &[&str],
) -> (
    Child,
    mpsc::Receiver<(Instant, String)>,
    BufReader<std::process::ChildStderr>,
) {
    let mut watch = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .arg("watch")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    // Wait until watch has positioned itself in the buffer.
    let mut err = BufReader::new(watch.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("watch says it is watching");
    assert!(first.contains("watching /dev/kmsg"), "{first}");
    let lines = lines_of(&mut watch);
    (watch, lines, err)
}

fn stop(mut watch: Child) {
    Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .expect("kill");
    assert_eq!(watch.wait().expect("watch exits").code(), Some(0));
}

#[test]
fn restart_with_state_neither_repeats_nor_skips() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (parent, parent_path) = match own_memcg() {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skip: {why}");
            return;
        }
    };
    let d = TempDir::new("state");
    let state = d.path("state.json").display().to_string();
    let cg = Memcg::create(&parent, &parent_path, &format!("oomctl-state-{}", std::process::id()));
    let (watch, lines, _err) = start_watch(&["-f", "jsonl", "--state", &state]);
    let a = oom_in(&cg);
    let (_, first) = lines.recv_timeout(Duration::from_secs(5)).expect("first OOM");
    stop(watch);
    // An OOM while no watcher runs.
    let b = oom_in(&cg);
    let (watch, lines, _err) = start_watch(&["-f", "jsonl", "--state", &state]);
    let (_, second) = lines.recv_timeout(Duration::from_secs(5)).expect("the missed OOM");
    std::thread::sleep(Duration::from_millis(300));
    stop(watch);
    let more: Vec<String> = lines.try_iter().map(|(_, l)| l).collect();
    let pid = |l: &str| serde_json::from_str::<Value>(l).unwrap()["victims"][0]["pid"].clone();
    assert_eq!(pid(&first), a);
    assert_eq!(pid(&second), b, "the OOM during the restart is reported after it");
    assert!(more.is_empty(), "nothing repeated: {more:?}");
}

#[test]
fn watch_sees_a_real_oom_and_replay_repeats_it() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (parent, parent_path) = match own_memcg() {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skip: {why}");
            return;
        }
    };
    let d = TempDir::new("live");
    let rec = d.path("rec.jsonl");
    let rec_arg = rec.display().to_string();
    let (watch, lines, mut err) = start_watch(&["-f", "jsonl", "--record", &rec_arg]);
    let cg = Memcg::create(&parent, &parent_path, &format!("oomctl-test-{}", std::process::id()));
    let pid = oom_in(&cg);
    let killed_at = Instant::now();
    let (seen_at, line) = lines
        .recv_timeout(Duration::from_secs(5))
        .expect("watch reports the OOM");
    let latency = seen_at.saturating_duration_since(killed_at);
    let e: Value = serde_json::from_str(&line).expect("one JSON episode");
    assert_eq!(e["victims"][0]["pid"], pid, "{line}");
    assert_eq!(e["victims"][0]["comm"], "tail");
    assert_eq!(e["memcg"]["path"], cg.kernel_path.as_str());
    assert_eq!(e["memcg"]["limit_bytes"], LIMIT);
    assert_eq!(e["scope"], "memcg");
    assert_eq!(e["complete"], true);
    assert_eq!(e["source"]["file"], "/dev/kmsg");
    assert!(e["time"]["wall"].is_string());
    assert_eq!(
        e["snapshots"][0]["path"],
        cg.kernel_path.as_str(),
        "live snapshot at emit time"
    );
    assert!(latency < Duration::from_secs(1), "reported {latency:?} after the kill");

    // Stop: SIGTERM finishes cleanly; nothing older was reported.
    stop(watch);
    let rest: Vec<String> = lines.try_iter().map(|(_, l)| l).collect();
    assert!(rest.is_empty(), "only this OOM: {rest:?}");
    let mut tail_err = String::new();
    let _ = err.read_to_string(&mut tail_err);

    let replay = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["replay", "-f", "jsonl"])
        .arg(&rec)
        .output()
        .expect("replay");
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&replay.stdout),
        format!("{line}\n"),
        "replay = watch"
    );
    // Other formats replay too.
    let report = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["replay", "-f", "report"])
        .arg(&rec)
        .output()
        .expect("replay report");
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains(&format!("Killed:  tail (pid {pid})")), "{text}");
}
