//! `oomctl dump`: a command of systemd-oomd's oomctl, a different program
//! that shares this one's name (Debian's and Ubuntu's systemd-oomd
//! package installs it as /usr/bin/oomctl; Ubuntu and Fedora desktops
//! have it by default). Fingers that type `oomctl dump` expect
//! systemd-oomd's state: they get told which oomctl this is and where
//! systemd's is.

use std::path::{Path, PathBuf};

/// Where systemd-oomd's oomctl is installed: /usr/bin, or /bin on a
/// system whose /usr is not merged.
pub const SYSTEMD_PATHS: [&str; 2] = ["/usr/bin/oomctl", "/bin/oomctl"];

/// The first of `candidates` that is a file other than this program
/// (`me`, canonical): /bin is often a link to /usr/bin, and this program
/// may itself be installed as /usr/bin/oomctl.
pub fn find_other(candidates: &[&Path], me: Option<&Path>) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|c| match std::fs::canonicalize(c) {
            Ok(real) => real.is_file() && Some(real.as_path()) != me,
            Err(_) => false,
        })
        .map(|c| c.to_path_buf())
}

/// What `oomctl dump` says: this program is `me`, systemd's is `other`
/// (None: at none of `searched`).
pub fn message(me: Option<&Path>, other: Option<&Path>, searched: &[&Path]) -> String {
    let me = me.map_or(String::new(), |p| format!(", installed as {}", p.display()));
    let mut s = format!(
        "oomctl: dump is a command of systemd-oomd's oomctl, which shows the state of\n\
         systemd's userspace OOM killer. This is another program of the same name:\n\
         oomctl the OOM-log analyzer, which rebuilds OOM-kill episodes from kernel\n\
         logs (oomctl --help){me}.\n"
    );
    match other {
        Some(p) => s.push_str(&format!(
            "systemd's oomctl is {0}: run it by its path: {0} dump\n",
            p.display()
        )),
        None => {
            let paths: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
            s.push_str(&format!(
                "systemd's oomctl is not installed here (not at {}):\n\
                 it comes with systemd-oomd (on Debian and Ubuntu, the systemd-oomd package).\n",
                paths.join(" or ")
            ));
        }
    }
    s
}

/// `oomctl dump`'s message for this host.
pub fn dump_message() -> String {
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let searched: Vec<&Path> = SYSTEMD_PATHS.iter().map(Path::new).collect();
    let other = find_other(&searched, me.as_deref());
    message(me.as_deref(), other.as_deref(), &searched)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A candidate that is this program under another name (a link, or
    /// /bin → /usr/bin) is not systemd's; a missing one is skipped.
    #[test]
    fn finds_the_first_other_oomctl() {
        let dir = std::env::temp_dir().join(format!("oomctl-systemd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let me = dir.join("ours");
        let link = dir.join("link-to-ours");
        let theirs = dir.join("theirs");
        std::fs::write(&me, b"").unwrap();
        std::fs::write(&theirs, b"").unwrap();
        std::os::unix::fs::symlink(&me, &link).unwrap();
        let me_real = std::fs::canonicalize(&me).unwrap();
        let missing = dir.join("missing");
        let got = find_other(&[&missing, &link, &me, &theirs], Some(&me_real));
        assert_eq!(got.as_deref(), Some(theirs.as_path()));
        assert_eq!(find_other(&[&missing, &link], Some(&me_real)), None);
        // A directory named oomctl is no program.
        assert_eq!(find_other(&[&dir], Some(&me_real)), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn says_which_oomctl_and_where_systemds_is() {
        let me = Path::new("/home/u/.cargo/bin/oomctl");
        let usr = Path::new("/usr/bin/oomctl");
        let bin = Path::new("/bin/oomctl");
        let found = message(Some(me), Some(usr), &[usr, bin]);
        assert!(found.contains("installed as /home/u/.cargo/bin/oomctl."), "{found}");
        assert!(found.contains("systemd's oomctl is /usr/bin/oomctl: run it by its path: /usr/bin/oomctl dump"));
        let missing = message(Some(me), None, &[usr, bin]);
        assert!(
            missing.contains("not installed here (not at /usr/bin/oomctl or /bin/oomctl):"),
            "{missing}"
        );
        for text in [found, missing] {
            assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        }
    }
}
