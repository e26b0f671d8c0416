//! The man pages as a packager installs them and a reader opens them:
//! `oomctl man --dir` writes one page per subcommand; each has the
//! sections man-pages(7) asks of a command, says what `--help` says of the
//! exit codes, names only pages that exist, and man-db formats it without
//! a groff warning.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;
use util::{man_db, need, oomctl, TempDir};

/// The subcommands `oomctl --help` lists (clap's `help` aside): each must
/// have a page.
fn subcommands() -> Vec<String> {
    let help = oomctl(&["--help"]).stdout_str();
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect()
}

/// `oomctl man --dir DIR`: the paths it printed, which it wrote.
fn write_pages(dir: &Path) -> Vec<PathBuf> {
    let out = oomctl(&["man", "--dir", dir.to_str().expect("UTF-8 temp dir")]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let paths: Vec<PathBuf> = out.stdout_str().lines().map(PathBuf::from).collect();
    for p in &paths {
        assert!(p.is_file(), "{} printed but not written", p.display());
    }
    paths
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("read page")
}

/// The section headings of a page, in order.
fn sections(roff: &str) -> Vec<String> {
    roff.lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .map(|h| h.trim_matches('"').to_owned())
        .collect()
}

/// The roff lines of section `name`.
fn section<'a>(roff: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = roff
        .lines()
        .skip_while(|l| l.strip_prefix(".SH ").map(|h| h.trim_matches('"')) != Some(name));
    lines.next();
    lines.take_while(|l| !l.starts_with(".SH ")).collect()
}

/// roff text as a reader sees it: dashes, apostrophes and fonts undone.
fn plain(s: &str) -> String {
    s.replace("\\-", "-")
        .replace("\\*(Aq", "'")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
}

/// Every `oomctl…(1)` a page names, in reading order.
fn page_refs(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("(1)") {
        let name: String = rest[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if name.starts_with("oomctl") {
            refs.push(name);
        }
        rest = &rest[i + 3..];
    }
    refs
}

#[test]
fn every_subcommand_has_a_page_with_the_sections_of_a_command() {
    let dir = TempDir::new("man-pages");
    let paths = write_pages(&dir.0);
    let subs = subcommands();
    assert!(subs.len() >= 9 && subs.contains(&"analyze".to_owned()), "{subs:?}");
    let mut want = vec![dir.path("oomctl.1")];
    want.extend(subs.iter().map(|s| dir.path(&format!("oomctl-{s}.1"))));
    assert_eq!(paths, want);
    for (page, sub) in paths.iter().zip(std::iter::once(None).chain(subs.iter().map(Some))) {
        let roff = read(page);
        let name = match sub {
            Some(s) => format!("oomctl-{s}"),
            None => "oomctl".to_owned(),
        };
        assert!(
            roff.contains(&format!("\n.TH {} 1 ", name.to_uppercase())),
            "{name}: {roff}"
        );
        // man-pages(7)'s order; a subcommand's page lists no subcommands.
        let mut order = vec!["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS"];
        if sub.is_none() {
            order.push("SUBCOMMANDS");
        }
        order.push("EXIT STATUS");
        if sub.is_none() {
            order.push("NOTES");
        }
        order.push("SEE ALSO");
        assert_eq!(sections(&roff), order, "{name}");
        let title = plain(section(&roff, "NAME").join(" ").trim());
        assert!(title.starts_with(&format!("{name} - ")), "{name}: NAME {title:?}");
        let synopsis = plain(&section(&roff, "SYNOPSIS").join(" "));
        let bin = name.replacen('-', " ", 1);
        assert!(synopsis.starts_with(&bin), "{name}: SYNOPSIS {synopsis:?}");
        // Printed, each page is the file written, by either of its names.
        let asks: Vec<Vec<&str>> = match sub {
            None => vec![vec!["man"], vec!["man", "oomctl"]],
            Some(s) => vec![vec!["man", s], vec!["man", &name]],
        };
        for args in asks {
            let out = oomctl(&args);
            assert_eq!(out.code(), 0, "{args:?}");
            assert_eq!(out.stdout_str(), roff, "oomctl {args:?}");
        }
    }
    // One page alone, into a directory made for it.
    let one = TempDir::new("man-one");
    let sub = one.path("share/man/man1");
    let out = oomctl(&["man", "analyze", "--dir", sub.to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert_eq!(
        out.stdout_str().trim(),
        sub.join("oomctl-analyze.1").display().to_string()
    );
    assert_eq!(read(&sub.join("oomctl-analyze.1")), read(&dir.path("oomctl-analyze.1")));
}

#[test]
fn exit_status_sections_say_what_help_says() {
    let dir = TempDir::new("man-exit");
    let paths = write_pages(&dir.0);
    for (page, sub) in paths
        .iter()
        .zip(std::iter::once(None).chain(subcommands().into_iter().map(Some)))
    {
        let mut args = sub.iter().map(String::as_str).collect::<Vec<_>>();
        args.push("--help");
        let help = oomctl(&args).stdout_str();
        let from_help: Vec<(String, String)> = help
            .lines()
            .skip_while(|l| *l != "Exit status:")
            .skip(1)
            .filter_map(|l| {
                let (code, what) = l.trim_start().split_once("  ")?;
                Some((code.to_owned(), what.to_owned()))
            })
            .collect();
        assert!(
            from_help.iter().any(|(c, _)| c == "0") && from_help.iter().any(|(c, _)| c == "2"),
            "{args:?}: {help}"
        );
        // .TP / \fBcode\fR / what, per status.
        let roff = read(page);
        let lines = section(&roff, "EXIT STATUS");
        let from_page: Vec<(String, String)> = lines
            .chunks(3)
            .map(|c| {
                assert_eq!(c[0], ".TP", "{}", page.display());
                (plain(c[1]), plain(c[2]))
            })
            .collect();
        assert_eq!(from_page, from_help, "{}", page.display());
    }
}

#[test]
fn pages_name_only_pages_that_exist() {
    let dir = TempDir::new("man-refs");
    let paths = write_pages(&dir.0);
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for page in &paths {
        let roff = read(page);
        let see_also = page_refs(&plain(&section(&roff, "SEE ALSO").join("\n")));
        assert!(!see_also.is_empty(), "{}: SEE ALSO names no page", page.display());
        // oomctl(1) names systemd's page too, in NOTES: only `oomctl-…`
        // and SEE ALSO's `oomctl` must be ours.
        for r in page_refs(&plain(&roff))
            .iter()
            .filter(|r| r.starts_with("oomctl-"))
            .chain(&see_also)
        {
            assert!(names.contains(r), "{} names {r}(1), which is not made", page.display());
        }
    }
    let top = plain(&section(&read(&paths[0]), "SEE ALSO").join("\n"));
    assert_eq!(page_refs(&top), names[1..], "oomctl(1) names every other page");
}

#[test]
fn an_unknown_page_is_an_error_naming_the_pages() {
    for page in ["nosuch", "oomctl-nosuch", "help", "dump"] {
        let out = oomctl(&["man", page]);
        assert_eq!(out.code(), 2, "{page}");
        assert!(out.stdout.is_empty());
        let err = out.stderr_str();
        assert!(
            err.contains(&format!("no page \"{page}\"")) && err.contains("oomctl-analyze"),
            "{err}"
        );
    }
    let file = TempDir::new("man-notdir");
    std::fs::write(file.path("f"), b"").unwrap();
    let out = oomctl(&["man", "--dir", file.path("f").to_str().unwrap()]);
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr_str().contains(&file.path("f").display().to_string()),
        "{}",
        out.stderr_str()
    );
}

/// `man` as a reader on an 80-column terminal runs it, groff's warnings on.
fn man(args: &[&str], env: &[(&str, &str)]) -> util::Run {
    Command::new("man")
        .args(args)
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .envs(env.iter().copied())
        .output()
        .expect("run man")
        .into()
}

#[test]
fn man_formats_every_page_without_a_warning() {
    if need(man_db()).is_none() {
        return;
    }
    let dir = TempDir::new("man-format");
    for page in write_pages(&dir.0) {
        let out = man(&["--warnings=all", "-l", page.to_str().unwrap()], &[]);
        assert_eq!(out.code(), 0, "{}: {}", page.display(), out.stderr_str());
        assert_eq!(out.stderr_str(), "", "{}: groff warned", page.display());
        let text = out.stdout_str();
        assert!(text.contains("EXIT STATUS") && text.contains("SEE ALSO"), "{text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{}: wider than 80: {line:?}",
                page.display()
            );
        }
    }
}
