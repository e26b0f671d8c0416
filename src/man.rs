//! Man pages, made from the CLI in cli.rs: oomctl(1) and an
//! oomctl-SUB(1) for every subcommand, so that what `--help` says the
//! pages say. clap_mangen renders them section by section, so that the
//! exit codes stand under EXIT STATUS (man-pages(7)) rather than under
//! clap_mangen's EXTRA, and SEE ALSO names only pages made here.

use crate::cli;
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::io::{self, Write};

/// The top page's name, and the prefix of the others (`oomctl-analyze`).
const TOP: &str = "oomctl";

/// What the top page says of systemd-oomd's oomctl, which shares this
/// program's name and the name of its page (see the README's "Not
/// systemd's oomctl").
const NOT_SYSTEMD: &[&str] = &[
    "This oomctl reads kernel logs. It is not the oomctl of systemd-oomd(8), \
     which shows the state of systemd's userspace OOM killer (oomctl dump) and \
     whose page is also named oomctl(1), in /usr/share/man.",
    "When both are installed, the shell runs the oomctl that comes first in PATH \
     (type -a oomctl lists both), and man oomctl shows the page that comes first \
     in the manual path (man -aw oomctl lists both). Install these pages in a \
     directory of their own beside the binary: for ~/.cargo/bin/oomctl, \
     ~/.cargo/share/man/man1, which man-db searches in the order of PATH.",
    "Typed to this program, oomctl dump says where systemd's oomctl is, and exits 2.",
];

/// The other pages a page's SEE ALSO names, besides oomctl(1).
fn related(sub: &str) -> &'static [&'static str] {
    match sub {
        "analyze" => &["simulate", "snapshot", "replay"],
        "snapshot" => &["analyze", "record"],
        "watch" => &["record", "replay", "analyze"],
        "record" => &["watch", "replay"],
        "replay" => &["watch", "record", "analyze"],
        "simulate" => &["analyze", "guard"],
        "guard" => &["simulate", "watch"],
        _ => &[],
    }
}

/// The CLI as the pages show it: built, so that a subcommand's synopsis
/// reads `oomctl analyze`, and without clap's `help` subcommand, which
/// has no page of its own (`oomctl help SUB` is `oomctl SUB --help`).
fn command() -> clap::Command {
    let mut cmd = cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every page name, the top page first: `oomctl`, `oomctl-analyze`, …
/// Hidden subcommands (`dump`) have none.
pub fn names() -> Vec<String> {
    let root = command();
    std::iter::once(TOP.to_owned())
        .chain(visible(&root).map(|s| format!("{TOP}-{}", s.get_name())))
        .collect()
}

fn visible(root: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    root.get_subcommands().filter(|s| !s.is_hide_set())
}

/// The name of the page `page` asks for: `oomctl`, a subcommand
/// (`analyze`) or its page name (`oomctl-analyze`).
fn resolve(page: &str) -> Result<String, String> {
    let all = names();
    let name = match page {
        TOP => TOP.to_owned(),
        p if p.starts_with("oomctl-") => p.to_owned(),
        p => format!("{TOP}-{p}"),
    };
    if all.contains(&name) {
        Ok(name)
    } else {
        Err(format!("man: no page {page:?}: give one of {}", all.join(", ")))
    }
}

/// The page `page` asks for (see [`resolve`]), rendered as roff.
pub fn render(page: &str) -> Result<Vec<u8>, String> {
    let name = resolve(page)?;
    let root = command();
    let sub = name
        .strip_prefix("oomctl-")
        .and_then(|s| visible(&root).find(|c| c.get_name() == s));
    page_roff(&root, sub).map_err(|e| e.to_string())
}

/// One page. `sub` is None for the top page.
fn page_roff(root: &clap::Command, sub: Option<&clap::Command>) -> io::Result<Vec<u8>> {
    let cmd = sub.unwrap_or(root);
    let name = match sub {
        Some(s) => format!("{TOP}-{}", s.get_name()),
        None => TOP.to_owned(),
    };
    let version = root.get_version().unwrap_or_default();
    // The commit's date, never the clock's: one build, one page. roff
    // drops an empty argument, which would shift the ones after it.
    let date = match env!("OOMCTL_COMMIT_DATE") {
        "" => "\"\"",
        d => d,
    };
    let man = Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .date(date)
        .source(format!("{TOP} {version}"))
        .manual("User Commands");
    // Each of clap_mangen's section renderers writes roff's preamble (the
    // apostrophe string); the page keeps the first.
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    let preamble = out[..out.windows(4).position(|w| w == b".TH ").unwrap_or(0)].to_vec();
    // Option and page names are not to be hyphenated, nor lines stretched
    // to fit them: no hyphenation, left-adjusted, from the title on.
    let mut sections: Vec<Vec<u8>> = vec![b".nh\n.ad l\n".to_vec()];
    let mut section = |render: &dyn Fn(&mut dyn Write) -> io::Result<()>| -> io::Result<()> {
        let mut s = Vec::new();
        render(&mut s)?;
        sections.push(s);
        Ok(())
    };
    section(&|w| man.render_name_section(w))?;
    section(&|w| man.render_synopsis_section(w))?;
    section(&|w| man.render_description_section(w))?;
    section(&|w| man.render_options_section(w))?;
    if sub.is_none() {
        section(&|w| man.render_subcommands_section(w))?;
    }
    // after_help carries only the exit statuses (cli::exit_statuses), said
    // here under their own heading: clap_mangen's EXTRA is not rendered.
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, what) in cli::exit_statuses(sub.map(|s| s.get_name())) {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(*what)]);
    }
    if sub.is_none() {
        roff.control("SH", ["NOTES"]);
        for (i, para) in NOT_SYSTEMD.iter().enumerate() {
            if i > 0 {
                roff.control("PP", []);
            }
            roff.text([roman(*para)]);
        }
    }
    let see_also: Vec<String> = match sub {
        None => visible(root).map(|s| format!("{TOP}-{}", s.get_name())).collect(),
        Some(s) => std::iter::once(TOP.to_owned())
            .chain(related(s.get_name()).iter().map(|r| format!("{TOP}-{r}")))
            .collect(),
    };
    roff.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for (i, page) in see_also.iter().enumerate() {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(page.as_str()));
        refs.push(roman("(1)"));
    }
    roff.text(refs);
    section(&|w| roff.to_writer(w))?;
    for s in sections {
        out.extend_from_slice(s.strip_prefix(preamble.as_slice()).unwrap_or(&s));
    }
    Ok(out)
}

/// `oomctl man`: print the page asked for (the top page by default), or
/// with `--dir` write the pages as `NAME.1` files and print their paths.
pub fn run(a: cli::ManArgs) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    let printed = match a.dir {
        None => {
            let page = render(a.page.as_deref().unwrap_or(TOP))?;
            stdout.write_all(&page).and_then(|()| stdout.flush())
        }
        Some(dir) => {
            let pages = match a.page {
                Some(p) => vec![p],
                None => names(),
            };
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut written = Vec::new();
            for page in pages {
                let path = dir.join(format!("{}.1", resolve(&page)?));
                std::fs::write(&path, render(&page)?).map_err(|e| format!("{}: {e}", path.display()))?;
                written.push(path);
            }
            written
                .iter()
                .try_for_each(|p| writeln!(stdout, "{}", p.display()))
                .and_then(|()| stdout.flush())
        }
    };
    match printed {
        // A reader that went away (`| head`) is not an error.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand the pages name in SEE ALSO exists: a renamed
    /// subcommand fails here, not in a reader's `man`.
    #[test]
    fn related_pages_are_subcommands() {
        let root = command();
        for sub in visible(&root) {
            for r in related(sub.get_name()) {
                assert!(
                    visible(&root).any(|s| s.get_name() == *r),
                    "{} names {r}",
                    sub.get_name()
                );
            }
        }
    }

    #[test]
    fn pages_are_named_and_found_both_ways() {
        let names = names();
        assert_eq!(names[0], "oomctl");
        assert!(names.iter().any(|n| n == "oomctl-analyze"));
        assert!(
            !names.iter().any(|n| n == "oomctl-dump" || n == "oomctl-help"),
            "{names:?}"
        );
        assert_eq!(render("analyze"), render("oomctl-analyze"));
        let e = render("dump").unwrap_err();
        assert!(e.contains("no page \"dump\"") && e.contains("oomctl-analyze"), "{e}");
    }
}
