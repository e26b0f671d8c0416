//! Cgroup paths and cgroupfs formats, pure: where the hierarchies are
//! mounted, the kernel's name for a cgroup directory, whole-segment path
//! matching, and the `key value` files (memory.stat, memory.events) and
//! limit files (`max`, or v1's huge number, is no limit).
//! Reading them from the running machine is `crate::live`'s; a directory
//! copied out of cgroupfs is `crate::snapshot`'s.

use crate::model::Text;
use std::collections::BTreeMap;
use std::path::Path;

/// Where cgroup v1's memory controller and cgroup v2 are mounted.
pub const V1_ROOT: &str = "/sys/fs/cgroup/memory";
pub const V2_ROOT: &str = "/sys/fs/cgroup";

/// `key value` lines (memory.stat, memory.events, memory.oom_control).
pub fn parse_kv(text: &str) -> BTreeMap<Text, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(' ')?;
            Some((Text::new(k), v.trim().parse().ok()?))
        })
        .collect()
}

/// `memory.stat` as the schema holds it: `key value` lines, a `*_limit`
/// key null at the kernel's "no limit" (`units::stat_value`).
pub fn parse_stat(text: &str) -> BTreeMap<Text, Option<u64>> {
    text.lines().filter_map(|l| stat_pair(l.trim(), ' ')).collect()
}

/// One `key value` of memory.stat, or of oom-guard's `stats` (`key
/// value|…`, where oomctl writes `max` for a limit at no limit).
pub fn stat_pair(kv: &str, sep: char) -> Option<(Text, Option<u64>)> {
    let (k, v) = kv.split_once(sep)?;
    let v = match v.trim() {
        "max" if k.ends_with("_limit") => None,
        v => crate::units::stat_value(k, v.parse().ok()?),
    };
    Some((Text::new(k), v))
}

/// Stats as oom-guard's events write them, `key value|` each; a limit at
/// no limit is `max`, as cgroup v2 writes it.
pub fn stats_line(stats: &BTreeMap<Text, Option<u64>>) -> String {
    stats
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k} {v}|"),
            None => format!("{k} max|"),
        })
        .collect()
}

/// A memory limit file (`memory.max`, `memory.limit_in_bytes`, …) as the
/// schema holds it: `(limit_bytes, unlimited)`; v2 writes `max` for no
/// limit, v1 the kernel's huge number (`units::is_unlimited`).
pub fn parse_limit(text: &str) -> (Option<u64>, bool) {
    match text.trim() {
        "max" => (None, true),
        t => t.parse().map_or((None, false), crate::units::limit),
    }
}

/// The kernel's name for a cgroup directory: its path below the controller
/// root, or for a copied directory, the path as given minus any cgroupfs root.
pub fn kernel_path(dir: &Path) -> String {
    let s = dir.to_string_lossy();
    let s = s.trim_end_matches('/');
    for root in [V1_ROOT, V2_ROOT] {
        if let Some(rest) = s.strip_prefix(root) {
            if rest.is_empty() {
                return "/".to_owned();
            }
            if rest.starts_with('/') {
                return rest.to_owned();
            }
        }
    }
    if s.starts_with('/') {
        s.to_owned()
    } else {
        format!("/{s}")
    }
}

/// True if two kernel cgroup paths name the same cgroup: equal, or one is
/// the other below a different root (a copied directory, a custom root),
/// compared whole segment by whole segment.
pub fn same_cgroup(a: &str, b: &str) -> bool {
    let sa: Vec<&str> = a.split('/').filter(|s| !s.is_empty()).collect();
    let sb: Vec<&str> = b.split('/').filter(|s| !s.is_empty()).collect();
    let n = sa.len().min(sb.len());
    n > 0 && sa[sa.len() - n..] == sb[sb.len() - n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_files_say_no_limit_as_max_or_a_huge_number() {
        // v2 memory.max and v1 memory.limit_in_bytes (6.18, 4K pages) of an
        // unlimited cgroup; a 96 MiB one; a file that could not be read.
        assert_eq!(parse_limit("max\n"), (None, true));
        assert_eq!(parse_limit("9223372036854771712\n"), (None, true));
        assert_eq!(parse_limit("100663296\n"), (Some(100663296), false));
        assert_eq!(parse_limit(""), (None, false));
    }

    #[test]
    fn stats_keep_counts_and_null_a_limit_at_no_limit() {
        // memory.stat of corpus/recordings (6.18, cgroup v1), in part.
        let s =
            parse_stat("cache 0\nhierarchical_memory_limit 100663296\nhierarchical_memsw_limit 9223372036854771712\n");
        assert_eq!(s["hierarchical_memory_limit"], Some(100663296));
        assert_eq!(s["hierarchical_memsw_limit"], None);
        let line = stats_line(&s);
        assert_eq!(
            line,
            "cache 0|hierarchical_memory_limit 100663296|hierarchical_memsw_limit max|"
        );
        let back: BTreeMap<Text, Option<u64>> = line.split('|').filter_map(|kv| stat_pair(kv, ' ')).collect();
        assert_eq!(back, s, "oom-guard's stats line reads back");
    }
}
