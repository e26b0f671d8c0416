//! Cgroup paths and cgroupfs formats, pure: where the hierarchies are
//! mounted, the kernel's name for a cgroup directory, whole-segment path
//! matching, and the `key value` files (memory.stat, memory.events).
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
