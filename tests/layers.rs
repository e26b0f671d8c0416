//! The house stays one-way (ARCHITECTURE.md, "Floors"): each top-level
//! module of the library sits on a floor and may use only modules on lower
//! floors, so no two rooms import each other, however indirectly; and only
//! `live/` reads the running machine.
//!
//! The check reads `src/` as text: every `crate::NAME` path in code (not in
//! comments, not in test code: `tests.rs` files and whatever follows a
//! `#[cfg(test)]` line, which this crate keeps at the end of its files).
//! A new top-level module fails it until it is given a floor here and in
//! ARCHITECTURE.md. The crate root's own items (`crate::COMMIT`, the
//! `crate::diag!` macro) depend on nothing and are not rooms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Floors, ground first. A module may use the modules of lower floors.
const FLOORS: &[&[&str]] = &[
    &["model", "units"],
    &["envelope", "kline", "input", "cgroup", "recording", "filter"],
    &["scan", "order"],
    &["builder"],
    &["k8s"],
    &["diagnose"],
    &["snapshot", "guard", "metrics"],
    &["output", "sampling"],
    &["pipeline"],
    &["analyze", "live"],
    &["simulate"],
];

/// The crate root and the binary's own modules sit above every floor.
const ABOVE_ALL: &[&str] = &["lib", "main", "cli", "man", "systemd_oomctl"];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// `text` with its comments blanked and, with `literals`, the contents of
/// its string and char literals too (newlines kept, every byte offset
/// kept), so that braces and `crate::` inside them do not count.
fn blank(text: &str, literals: bool) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    let literal = |out: &mut String, s: &[u8]| {
        if literals {
            blank(out, s);
        } else {
            out.push_str(&String::from_utf8_lossy(s));
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(rest.len(), |e| e + 4);
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == b'r' && (rest.get(1) == Some(&b'"') || rest.get(1) == Some(&b'#')) && !ident_before(b, i) {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            let end = text[i + body..]
                .find(&close)
                .map_or(rest.len(), |e| body + e + close.len());
            out.push('"');
            literal(&mut out, &rest[1..end.saturating_sub(1).max(1)]);
            out.push('"');
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            out.push('"');
            literal(&mut out, &rest[1..end.saturating_sub(1).max(1)]);
            out.push('"');
            i += end;
        } else if rest[0] == b'\'' && (rest.get(2) == Some(&b'\'') || rest.get(1) == Some(&b'\\')) {
            // A char literal ('{', '\n'), not a lifetime.
            let end = rest[1..].iter().position(|&c| c == b'\'').map_or(1, |e| e + 2);
            literal(&mut out, &rest[..end]);
            i += end;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// The byte ranges of `blanked` (literals and comments blanked, so braces
/// count true) that are test items: the item after each `#[cfg(test)]`, a
/// `mod x;` line or a `{…}` block.
fn test_items(blanked: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = blanked[from..].find("#[cfg(test)]").map(|i| from + i) {
        let after = &blanked[i..];
        let semi = after.find(';').unwrap_or(after.len());
        let brace = after.find('{').unwrap_or(after.len());
        let mut end = after.len();
        if semi < brace {
            end = semi + 1;
        } else {
            let mut depth = 0usize;
            for (k, c) in after.char_indices().skip(brace) {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        out.push(i..i + end);
        from = i + end;
    }
    out
}

/// `text` without the byte ranges `cut`.
fn without(text: &str, cut: &[std::ops::Range<usize>]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in cut {
        out.push_str(&text[at..r.start]);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A file's code with comments and literals blanked and test items cut,
/// and its code with literals kept (comments and test items cut). The
/// blanking keeps every byte offset, so one set of cuts serves both.
fn code_of(text: &str) -> (String, String) {
    let blanked = blank(text, true);
    let tests = test_items(&blanked);
    (without(&blanked, &tests), without(&blank(text, false), &tests))
}

/// The code of a file: without comments, literals and test items.
fn code(text: &str) -> String {
    code_of(text).0
}

/// Every module `code` names as `crate::NAME` (or inside `crate::{…}`),
/// macros (`crate::NAME!`) aside.
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let close = group.find('}').unwrap_or(group.len());
            group[..close].split(',').collect()
        } else {
            vec![rest]
        };
        for n in names {
            let n = n.trim();
            let end = n
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(n.len());
            // Macros and the crate root's own items (`crate::COMMIT`)
            // depend on nothing: they are not rooms.
            if n[end..].starts_with('!') || end == 0 || n.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            out.push(n[..end].to_owned());
        }
    }
    out
}

#[test]
fn imports_run_one_way_and_only_live_reads_the_machine() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let module = module_of(&src, f);
        let text = std::fs::read_to_string(f).expect("read");
        let (code, with_literals) = code_of(&text);
        let rel = f.strip_prefix(&src).unwrap().display().to_string();
        if ABOVE_ALL.contains(&module.as_str()) {
            continue;
        }
        let Some(mine) = floor(&module) else {
            problems.push(format!(
                "{rel}: module `{module}` has no floor (tests/layers.rs, ARCHITECTURE.md)"
            ));
            continue;
        };
        *seen.entry(module.clone()).or_default() += 1;
        for used in uses(&code) {
            if used == module || used == "self" || used == "super" {
                continue;
            }
            match floor(&used) {
                Some(theirs) if theirs < mine => {}
                Some(theirs) => problems.push(format!(
                    "{rel}: `{module}` (floor {mine}) uses `{used}` (floor {theirs}), which is not below it"
                )),
                None => problems.push(format!("{rel}: `{module}` uses `{used}`, which has no floor")),
            }
        }
        // The core takes time, host facts and cgroups from its input.
        if module != "live" {
            for what in ["\"/proc", "\"/dev/kmsg", "SystemTime::now", "Instant::now"] {
                if with_literals.contains(what) {
                    problems.push(format!(
                        "{rel}: `{what}` outside live/: only live/ reads the running machine"
                    ));
                }
            }
        }
    }
    for f in FLOORS.iter().flat_map(|f| f.iter()) {
        if !seen.contains_key(*f) {
            problems.push(format!(
                "floor module `{f}` is not in src/ any more: update tests/layers.rs"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself, on made-up code.
#[test]
fn the_check_sees_paths_groups_and_comments() {
    let c = code(concat!(
        "use crate::{model::Episode, units};\n// crate::live::x\n",
        "let x = crate::scan::scan(); crate::diag!(\"a crate::b\");\n",
        "let u = r#\"{ crate::c\"#; let v = '{'; crate::kline::f(crate::COMMIT)\n",
        "#[cfg(test)]\nmod tests { fn f() { use crate::analyze; let s = \"}\"; } }\n",
        "#[cfg(test)]\nmod tests;\n",
        "fn after() { crate::builder::x() }\n",
    ));
    assert_eq!(uses(&c), ["model", "units", "scan", "kline", "builder"]);
}
