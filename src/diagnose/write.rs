//! What a report says about how a write-cache OOM came about (seed 004,
//! issue 20): the allocation that failed (a page-cache write: `__GFP_WRITE`,
//! without `__GFP_FS` under a filesystem's lock), the filesystem whose write
//! path the trace shows, the kernel release and the cgroup version, and
//! what each implies for the fix.
//!
//! Measured in the VM lab (corpus/vm/6.1-*-writecache.*, Debian 6.1, XFS at
//! 64 KiB/s): on cgroup v1 a buffered writer is OOM-killed in a 32 MiB
//! memcg whose page cache is all under writeback; on v2, per-cgroup
//! writeback throttles it in balance_dirty_pages and no OOM comes.

use crate::model::Episode;

/// The trigger's decoded flags say the allocation was for a page-cache
/// write: None where the kernel printed no flags (before 4.5 only the mask,
/// whose bits moved between releases).
pub fn page_cache_write(ep: &Episode) -> Option<bool> {
    let t = ep.trigger.as_ref()?;
    if t.gfp_flags.is_empty() {
        return None;
    }
    Some(t.gfp_flags.iter().any(|f| f == "__GFP_WRITE"))
}

/// The allocation could not enter the filesystem (`GFP_NOFS`, or flags
/// without `__GFP_FS`): reclaim could not wait for its writeback.
fn nofs(ep: &Episode) -> bool {
    ep.trigger
        .as_ref()
        .is_some_and(|t| t.gfp_flags.iter().any(|f| f == "GFP_NOFS" || f == "GFP_NOIO"))
}

/// `major.minor` of the report's kernel release (`6.1.0-48-amd64` → 6.1).
pub fn release(ep: &Episode) -> Option<(u32, u32)> {
    let k = ep.kernel.as_deref()?;
    let mut it = k.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The clause the summary adds: what failed and where, or None when the
/// report does not show it.
pub fn clause(ep: &Episode) -> Option<String> {
    let write = page_cache_write(ep) == Some(true);
    let fs = ep.filesystem.as_deref();
    match (write, fs) {
        (false, None) => None,
        (true, fs) => {
            let flags = if nofs(ep) {
                "GFP_NOFS|__GFP_WRITE"
            } else {
                "__GFP_WRITE"
            };
            let through = fs.map_or(String::new(), |f| format!(" through {f}"));
            Some(format!(
                "the allocation that failed was a page-cache write ({flags}){through}"
            ))
        }
        (false, Some(f)) => Some(format!("the allocation came through {f}")),
    }
}

/// Advice for a write-cache OOM, for this report's cgroup version
/// (`version`) and kernel; `limit`: a memcg's, which can be raised (a
/// machine has none).
pub fn advice(ep: &Episode, version: Option<u8>, limit: bool) -> Vec<String> {
    let mut a = vec![
        "Write with O_DIRECT or sync in bounded chunks in the writer (qemu-img: -t none or -t directsync instead of \
         writeback; dd: oflag=direct)."
            .to_owned(),
    ];
    match version {
        Some(1) => {
            a.push(
                "cgroup v1 limits dirty pages only machine-wide (vm.dirty_*), not per cgroup: lower vm.dirty_bytes and \
                 vm.dirty_background_bytes so writeback starts sooner, or move to cgroup v2, whose writeback is \
                 throttled per cgroup (balance_dirty_pages) instead of ending in an OOM."
                    .to_owned(),
            );
            // 81a70c21d917, merged for 6.0.
            let fixed = release(ep).map(|r| r >= (6, 0));
            a.push(match fixed {
                Some(true) => {
                    "This kernel has the upstream fix \"mm/cgroup/reclaim: Fix dirty pages throttling on cgroup \
                     v1\": a v1 memcg still OOMs when nearly all of its cache is under writeback, i.e. the disk is \
                     much slower than the writer; give the writer a faster disk or an I/O limit upstream of it."
                        .to_owned()
                }
                Some(false) => {
                    "Kernels before 6.0 lack the upstream fix \"mm/cgroup/reclaim: Fix dirty pages throttling \
                     on cgroup v1\" (some distributions backported it): v1 memcgs OOM on dirty cache far more easily \
                     there; a newer kernel or cgroup v2 removes most of these OOMs."
                        .to_owned()
                }
                None => {
                    "Kernels without the upstream fix \"mm/cgroup/reclaim: Fix dirty pages throttling on cgroup v1\" \
                     (6.0) OOM on dirty cache in v1 memcgs far more easily."
                        .to_owned()
                }
            });
        }
        Some(_) => a.push(
            "cgroup v2 throttles a cgroup's writers as its dirty pages grow (balance_dirty_pages), so an OOM here \
             means the cache could not be written back at all in time: check the device (io.max, io.pressure) and \
             lower vm.dirty_bytes."
                .to_owned(),
        ),
        None if !limit => a.push(
            "Lower the dirty thresholds (vm.dirty_bytes / vm.dirty_background_bytes) so writeback starts sooner."
                .to_owned(),
        ),
        None => a.push(
            "Lower the dirty thresholds (vm.dirty_bytes / vm.dirty_background_bytes) so writeback starts sooner, or \
             use cgroup v2, whose writeback is throttled per cgroup."
                .to_owned(),
        ),
    }
    if limit {
        a.push(
            "Raise the limit only as a stopgap: the cache grows to any limit while the disk is slower than the writer."
                .to_owned(),
        );
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Text, Trigger};

    fn ep(flags: &[&str], fs: Option<&str>, kernel: &str) -> Episode {
        Episode {
            trigger: Some(Trigger {
                gfp_flags: flags.iter().map(|f| Text::new(f)).collect(),
                ..Trigger::default()
            }),
            filesystem: fs.map(Text::new),
            kernel: Some(Text::new(kernel)),
            ..Episode::default()
        }
    }

    #[test]
    fn the_clause_names_the_write_and_its_filesystem() {
        let lab = ep(
            &[
                "GFP_NOFS",
                "__GFP_HIGHMEM",
                "__GFP_HARDWALL",
                "__GFP_MOVABLE",
                "__GFP_WRITE",
            ],
            Some("xfs"),
            "6.1.0-48-amd64",
        );
        assert_eq!(page_cache_write(&lab), Some(true));
        assert_eq!(
            clause(&lab).as_deref(),
            Some("the allocation that failed was a page-cache write (GFP_NOFS|__GFP_WRITE) through xfs")
        );
        assert_eq!(page_cache_write(&ep(&["GFP_KERNEL"], None, "5.4")), Some(false));
        assert_eq!(clause(&ep(&["GFP_KERNEL"], None, "5.4")), None);
        assert_eq!(page_cache_write(&ep(&[], Some("ext4"), "3.10")), None);
        assert_eq!(
            clause(&ep(&[], Some("ext4"), "3.10")).as_deref(),
            Some("the allocation came through ext4")
        );
    }

    #[test]
    fn the_advice_fits_the_cgroup_version_and_the_kernel() {
        let new = ep(&[], None, "6.1.0-48-amd64");
        let old = ep(&[], None, "4.19.0-27-amd64");
        assert_eq!(release(&new), Some((6, 1)));
        assert_eq!(release(&old), Some((4, 19)));
        assert!(advice(&new, Some(1), true)
            .iter()
            .any(|a| a.starts_with("This kernel has the upstream fix")));
        assert!(advice(&old, Some(1), true)
            .iter()
            .any(|a| a.starts_with("Kernels before 6.0 lack")));
        assert!(advice(&new, Some(2), true)
            .iter()
            .any(|a| a.contains("balance_dirty_pages")));
        assert!(!advice(&new, Some(2), true).iter().any(|a| a.contains("upstream fix")));
        assert!(advice(&new, None, true)[0].contains("O_DIRECT"));
        // A machine: no limit to raise.
        assert!(!advice(&new, None, false).iter().any(|a| a.contains("Raise the limit")));
    }
}
