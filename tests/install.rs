//! oomctl installed beside systemd-oomd's oomctl, as the README's
//! "Not systemd's oomctl" says to: the real man-db and bash-completion
//! choose between the two programs' pages and completions, in a
//! temporary tree laid out as a host with both.
//!
//! The stand-ins for systemd's files sit where Debian 12's systemd-oomd
//! package (systemd 252) puts them, under a temporary root:
//! usr/bin/oomctl, usr/share/man/man1/oomctl.1 and
//! share/bash-completion/completions/oomctl, which completes `help dump`
//! as the real one does. Nothing is written outside the temporary tree.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;
use util::{man_db, need, oomctl, TempDir};

/// systemd-oomd's oomctl(1), in brief (the real page's NAME line).
const SYSTEMD_PAGE: &str =
    ".TH OOMCTL 1 \"\" \"systemd 252\" oomctl\n.SH NAME\noomctl \\- Analyze the state stored in systemd-oomd\n";

/// A host with both oomctls: systemd's in `usr/bin` with its page in
/// `usr/share/man`, ours in `cargo/bin` with the pages that `oomctl man
/// --dir` wrote to `cargo/share/man/man1`.
struct Host {
    dir: TempDir,
}

impl Host {
    fn new(tag: &str) -> Host {
        let dir = TempDir::new(tag);
        let theirs = dir.path("usr/bin/oomctl");
        std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
        std::fs::write(&theirs, "#!/bin/sh\necho 'systemd-oomd state'\n").unwrap();
        std::fs::set_permissions(&theirs, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let page = dir.path("usr/share/man/man1/oomctl.1");
        std::fs::create_dir_all(page.parent().unwrap()).unwrap();
        std::fs::write(&page, SYSTEMD_PAGE).unwrap();
        let ours = dir.path("cargo/bin/oomctl");
        std::fs::create_dir_all(ours.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_oomctl"), &ours).unwrap();
        let man1 = dir.path("cargo/share/man/man1");
        let out = oomctl(&["man", "--dir", man1.to_str().unwrap()]);
        assert_eq!(out.code(), 0, "{}", out.stderr_str());
        std::fs::create_dir_all(dir.path("home")).unwrap();
        Host { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path(p)
    }

    /// PATH with `first` of `cargo/bin` and `usr/bin` before the other,
    /// then the real system's.
    fn search_path(&self, ours_first: bool) -> String {
        let (a, b) = (self.path("cargo/bin"), self.path("usr/bin"));
        let (a, b) = if ours_first { (a, b) } else { (b, a) };
        format!("{}:{}:/usr/bin:/bin", a.display(), b.display())
    }

    /// `program args…` with this host's HOME and PATH and no MANPATH (so
    /// that man-db derives it from PATH, as on a fresh login).
    fn run(&self, ours_first: bool, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", self.search_path(ours_first))
            .env("HOME", self.path("home"))
            .env("LC_ALL", "C.UTF-8")
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Only the lines that name files of this host (the real system may
    /// have systemd-oomd's page too).
    fn ours<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let root = self.dir.0.display().to_string();
        text.lines().filter(|l| l.starts_with(&root)).collect()
    }
}

fn shown(p: PathBuf) -> String {
    p.display().to_string()
}

/// `man oomctl` opens the page of the oomctl that the shell runs: man-db
/// searches `BIN/../share/man` of each PATH entry in PATH's order
/// (manpath(5)), so pages written beside ~/.cargo/bin follow the binary.
/// The subcommands' pages are found either way: systemd has none.
#[test]
fn man_opens_the_page_of_the_oomctl_the_shell_runs() {
    if need(man_db()).is_none() {
        return;
    }
    let host = Host::new("install-man");
    let ours = shown(host.path("cargo/share/man/man1/oomctl.1"));
    let theirs = shown(host.path("usr/share/man/man1/oomctl.1"));
    let analyze = shown(host.path("cargo/share/man/man1/oomctl-analyze.1"));
    for (ours_first, runs, page) in [
        (true, shown(host.path("cargo/bin/oomctl")), &ours),
        (false, shown(host.path("usr/bin/oomctl")), &theirs),
    ] {
        assert_eq!(host.run(ours_first, "bash", &["-c", "type -P oomctl"]).trim(), runs);
        assert_eq!(
            host.ours(&host.run(ours_first, "man", &["-w", "oomctl"])),
            [page.as_str()]
        );
        let all = host.run(ours_first, "man", &["-aw", "oomctl"]);
        let want = if ours_first { [&ours, &theirs] } else { [&theirs, &ours] };
        assert_eq!(host.ours(&all), want, "man -aw oomctl lists both");
        assert_eq!(
            host.ours(&host.run(ours_first, "man", &["-w", "oomctl-analyze"])),
            [analyze.as_str()]
        );
    }
    let text = host.run(true, "man", &["oomctl"]);
    assert!(text.contains("OOM-killer episodes"), "{text}");
    assert!(text.contains("It is not the oomctl of systemd-oomd(8)"), "{text}");
}

/// bash-completion's own loader, as a login shell has it.
const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

fn bash_completion() -> Result<(), String> {
    if Path::new(BASH_COMPLETION).is_file() {
        Ok(())
    } else {
        Err(format!("{BASH_COMPLETION} is missing (Debian: bash-completion)"))
    }
}

/// What Tab offers after `oomctl `, with bash-completion loading the
/// `oomctl` completion on demand as an interactive shell does.
fn tab_after_oomctl(host: &Host) -> Vec<String> {
    let script = format!(
        r#"source {BASH_COMPLETION}
if declare -F _comp_load >/dev/null; then _comp_load oomctl; else __load_completion oomctl; fi
spec=$(complete -p oomctl) || exit 3
fn=${{spec#*-F }}; fn=${{fn%% *}}
COMP_WORDS=(oomctl ""); COMP_CWORD=1; COMP_LINE="oomctl "; COMP_POINT=7
"$fn" oomctl "" oomctl
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env_clear()
        .env("PATH", host.search_path(true))
        .env("HOME", host.path("home"))
        // The system's completions: systemd's stand-in alone.
        .env("XDG_DATA_DIRS", host.path("share"))
        .output()
        .expect("run bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// bash-completion picks a completion by the command's name, the user's
/// directory first: ours installed there completes `oomctl` for that user
/// (whose shell runs ours), and systemd's stays for everyone else.
#[test]
fn bash_completes_ours_for_the_user_who_installed_it() {
    if need(bash_completion()).is_none() {
        return;
    }
    let host = Host::new("install-bash");
    let system = host.path("share/bash-completion/completions/oomctl");
    std::fs::create_dir_all(system.parent().unwrap()).unwrap();
    std::fs::write(
        &system,
        "_oomctl() { COMPREPLY=( $(compgen -W 'help dump' -- \"${COMP_WORDS[COMP_CWORD]}\") ); }\n\
         complete -F _oomctl oomctl\n",
    )
    .unwrap();
    assert_eq!(
        tab_after_oomctl(&host),
        ["help", "dump"],
        "systemd's, before ours is installed"
    );
    let user = host.path("home/.local/share/bash-completion/completions/oomctl");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    let script = oomctl(&["completions", "bash"]);
    std::fs::write(&user, &script.stdout).unwrap();
    let offered = tab_after_oomctl(&host);
    for sub in ["analyze", "watch", "man", "completions"] {
        assert!(offered.iter().any(|o| o == sub), "{sub} not offered: {offered:?}");
    }
    assert!(!offered.iter().any(|o| o == "dump"), "{offered:?}");
}
