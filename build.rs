//! Records the git commit for `--version` and the build_info metric, and
//! its date for the man pages' title line (a date from the source, not the
//! clock: the same commit makes the same pages).
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=OOMCTL_COMMIT={commit}");
    let date = git(&["log", "-1", "--format=%cs", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=OOMCTL_COMMIT_DATE={date}");
    // Where git keeps HEAD and the branch it names: `.git/…` in a clone,
    // the main repository's `.git/worktrees/NAME/HEAD` and `.git/refs/…` in
    // a worktree (whose `.git` is a file). A path that does not exist would
    // make cargo rerun this script, and rebuild the crate, on every build.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for p in ["HEAD", branch.as_deref().unwrap_or("HEAD"), "packed-refs"] {
        match git(&["rev-parse", "--git-path", p]) {
            Some(path) if std::path::Path::new(&path).exists() => println!("cargo:rerun-if-changed={path}"),
            _ => {}
        }
    }
    // Outside a git checkout: depend on nothing that changes.
    println!("cargo:rerun-if-changed=build.rs");
}
