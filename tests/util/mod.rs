//! Helpers shared by the integration tests: run the real binary, show
//! readable diffs.
#![allow(dead_code)]

pub mod host;
pub mod vm;

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The output of one oomctl run.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            status: o.status,
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

/// Run oomctl with `args` from the package root.
pub fn oomctl(args: &[&str]) -> Run {
    oomctl_env(args, &[])
}

/// [`oomctl`] with environment variables set (`COLUMNS` for the width of
/// the human formats).
pub fn oomctl_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(args)
        // The human formats' width: the default, whatever the shell says.
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .output()
        .expect("run oomctl")
        .into()
}

/// Run oomctl with `stdin` piped in.
pub fn oomctl_stdin(args: &[&str], stdin: &[u8]) -> Run {
    oomctl_stdin_env(args, stdin, &[])
}

/// [`oomctl_stdin`] with environment variables set.
pub fn oomctl_stdin_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(args)
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oomctl");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait oomctl");
    writer.join().expect("writer");
    out.into()
}

/// A line diff of two texts, for assertion messages.
pub fn diff(want: &str, got: &str) -> String {
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                out.push_str(&format!(
                    "line {}:\n  - {}\n  + {}\n",
                    i + 1,
                    a.unwrap_or(&"<none>"),
                    b.unwrap_or(&"<none>")
                ));
            }
        }
    }
    out
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("oomctl-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir temp");
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True when the tests run under CI (`CI=true`, as GitHub Actions, GitLab
/// and `.ci/run` set it). There a test whose real component is missing
/// fails instead of skipping: a skip must never pass for a test.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What a test that needs a real component (a program, root, a cgroup
/// controller) does when it is missing: under CI it fails naming why,
/// elsewhere it prints the reason and the test returns early.
pub fn need<T>(what: Result<T, String>) -> Option<T> {
    match what {
        Ok(v) => Some(v),
        Err(why) if under_ci() => panic!("CI=true and this test cannot run its real component: {why}"),
        Err(why) => {
            eprintln!("skip: {why}");
            None
        }
    }
}

/// man-db's `man` (which formats with groff), for the tests of the man
/// pages: Ok when it runs.
pub fn man_db() -> Result<(), String> {
    match Command::new("man").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("man-db's `man` is not installed (Debian: man-db)".to_owned()),
    }
}

/// The opt-in for tests that cause real OOM kills on this host
/// (`OOMCTL_LIVE_HOST=1`). Unset, `cargo test` causes none: the tests skip
/// with the reason, except under CI, where the variable must say yes
/// (`.ci/run` does) or explicitly no (`0`, a skip that says so).
pub fn host_oom_allowed() -> bool {
    match std::env::var("OOMCTL_LIVE_HOST").as_deref() {
        Ok("1") => true,
        Ok("0") => {
            eprintln!("skip: OOMCTL_LIVE_HOST=0: the host live tests are switched off");
            false
        }
        _ => need::<()>(Err(
            "this test causes real OOM kills on this host: set OOMCTL_LIVE_HOST=1 to run it".to_owned(),
        ))
        .is_some(),
    }
}

/// Wait until `cond` holds, checking every 5 ms, for at most `secs`
/// seconds; panics naming `what` if it never does. Tests wait on the
/// condition they need, never on a guessed sleep.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// `text` with every run of blanks and newlines as one blank: what a
/// wrapped human format says, whatever the width.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every log under corpus/: each file that is not a golden, facts or
/// readme (a directory argument would read those too), sorted.
pub fn corpus_logs() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("corpus")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("corpus dir") {
            let p = e.expect("entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if ![".expected.jsonl", ".facts.json", ".md"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
