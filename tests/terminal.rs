//! oomctl as a person sees it: the binary in a pseudo-terminal (util-linux
//! `script`) at 80 and 120 columns. The table is the default there, one
//! line per episode, no line wider than the terminal, coloured unless
//! NO_COLOR says not; with no log given it says how to give one.

mod util;

use std::process::Command;
use unicode_width::UnicodeWidthStr;
use util::need;

/// Where `script` is, or why this machine cannot run these tests.
fn script() -> Result<(), String> {
    match Command::new("script").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("util-linux `script` is not installed (Debian: bsdutils)".to_owned()),
    }
}

/// Run `oomctl ARGS` in a terminal `cols` wide: what the terminal showed
/// (its `\r\n` as `\n`) and the exit status.
fn in_terminal(cols: u16, args: &str, env: &[(&str, &str)]) -> (String, i32) {
    let bin = env!("CARGO_BIN_EXE_oomctl");
    // The variables are set by `env` after `stty`: the shell in between
    // resets COLUMNS to the terminal's width.
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cmd = format!(
        "stty cols {cols} rows 50; exec env -u COLUMNS {} {bin} {args}",
        vars.join(" ")
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (text, out.status.code().unwrap_or(-1))
}

/// `s` without the SGR colour sequences oomctl writes.
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\u{1b}[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('m').map_or(after.len(), |j| j + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Real captures of several kinds: the lab's cgroup v1 OOMs, a Kubernetes
/// pod, kill storms and damaged public pastes.
const INPUTS: &str = "corpus/real corpus/public corpus/vm";

/// Episodes in `INPUTS` as jsonl counts them.
fn episodes() -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl"])
        .args(INPUTS.split(' ').flat_map(|d| {
            std::fs::read_dir(d)
                .expect("corpus dir")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect::<Vec<_>>()
        }))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run oomctl");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn the_table_fits_the_terminal_one_line_per_episode() {
    if need(script()).is_none() {
        return;
    }
    let files: Vec<String> = INPUTS
        .split(' ')
        .flat_map(|d| {
            let mut v: Vec<String> = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d))
                .expect("corpus dir")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .map(|p| {
                    p.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            v.sort();
            v
        })
        .collect();
    let want = episodes();
    assert!(want > 40, "{want} episodes");
    for cols in [80u16, 120] {
        let (text, code) = in_terminal(cols, &format!("analyze {}", files.join(" ")), &[]);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("\u{1b}[1m"), "coloured on a terminal");
        let text = plain(&text);
        for line in text.lines() {
            assert!(line.width() <= usize::from(cols), "{cols} columns: {line:?}");
        }
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TIME "), "{}", lines[0]);
        let rows = lines.iter().skip(1).take_while(|l| !l.is_empty()).count();
        assert_eq!(rows, want, "one line per episode at {cols} columns:\n{text}");
        assert!(text.contains("\nBy workload:\n"), "{text}");
    }
    // The report: wrapped at blanks to the width, every line.
    for cols in [80u16, 120] {
        let (text, code) = in_terminal(cols, &format!("analyze -f report {}", files.join(" ")), &[]);
        assert_eq!(code, 0, "{text}");
        let text = plain(&text);
        for line in text.lines() {
            assert!(line.width() <= usize::from(cols), "report, {cols} columns: {line:?}");
        }
        assert_eq!(text.matches("━━ OOM #").count(), want, "every episode");
    }
    // NO_COLOR and --color never: not one escape.
    let (text, _) = in_terminal(80, "analyze corpus/real/6.18-v1-k8s.dmesg.log", &[("NO_COLOR", "1")]);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let (text, _) = in_terminal(80, "analyze --color never corpus/real/6.18-v1-k8s.dmesg.log", &[]);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    // A narrow pane: 30 columns, table and report.
    for args in ["analyze", "analyze -f report"] {
        let (text, _) = in_terminal(30, &format!("{args} corpus/real/6.18-v1-k8s.dmesg.log"), &[]);
        assert!(plain(&text).lines().all(|l| l.width() <= 30), "{text}");
    }
    // --help wraps to the terminal too.
    for args in ["--help", "analyze --help", "simulate --help", "guard --help"] {
        let (text, _) = in_terminal(80, args, &[]);
        assert!(plain(&text).lines().all(|l| l.width() <= 80), "{args}: {text}");
    }
    // COLUMNS wins over the terminal's width.
    let (text, _) = in_terminal(80, "analyze corpus/real/6.18-v1-k8s.dmesg.log", &[("COLUMNS", "60")]);
    assert!(plain(&text).lines().all(|l| l.width() <= 60), "{text}");
}

#[test]
fn a_terminal_on_stdin_gets_a_hint_not_a_wait() {
    if need(script()).is_none() {
        return;
    }
    for sub in ["analyze", "simulate"] {
        let (text, code) = in_terminal(80, sub, &[]);
        assert_eq!(code, 2, "{text}");
        let hint = format!("oomctl {sub}: give a log file, or pipe one in: dmesg | oomctl {sub}\n");
        assert!(text.starts_with(&hint), "{text}");
        assert!(
            text.contains(&format!("Usage: oomctl {sub} [OPTIONS] [PATH]...")),
            "{text}"
        );
        assert!(text.lines().all(|l| l.width() <= 80), "{text}");
    }
}

#[test]
fn the_group_table_fits_the_terminal() {
    if need(script()).is_none() {
        return;
    }
    for cols in [80u16, 120] {
        for keys in ["pod", "cgroup,cause,comm"] {
            let (text, code) = in_terminal(cols, &format!("analyze --group-by {keys} {INPUTS} 2>/dev/null"), &[]);
            assert_eq!(code, 0, "{text}");
            let text = plain(&text);
            for line in text.lines() {
                assert!(line.width() <= usize::from(cols), "{keys}, {cols} columns: {line:?}");
            }
            assert!(text.lines().next().is_some_and(|l| l.starts_with(" EPIS.")), "{text}");
            assert!(text.contains(" episodes in "), "{text}");
        }
    }
}
