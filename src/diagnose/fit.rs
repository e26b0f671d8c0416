//! What the report shows of the machine, so that summaries and advice fit
//! it: whose limit ran out (the machine's, the pods' node-allocatable
//! cgroup, or one cgroup's), why a panic happened, the kernel's era, and
//! the state of swap.

use super::memcg_oom;
use crate::model::Episode;
use crate::units::human_bytes;

/// Whose memory ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// A global OOM: the machine's; there is no limit to raise.
    Machine,
    /// The node-allocatable cgroup of all pods (`/kubepods`,
    /// `/kubepods.slice`, or a QoS level below it): what kubelet leaves the
    /// pods together; the fix is per-pod limits and eviction thresholds.
    Pods,
    /// One cgroup's limit.
    Cgroup,
}

/// Whose memory ran out in this episode.
pub fn whose(ep: &Episode) -> Whose {
    if !memcg_oom(ep) {
        return Whose::Machine;
    }
    match ep.memcg.as_ref().and_then(|m| m.path.as_deref()) {
        Some(p) if is_node_allocatable(p) => Whose::Pods,
        _ => Whose::Cgroup,
    }
}

/// True for kubelet's node-allocatable cgroup and its QoS levels: cgroups
/// that hold every pod (of a QoS class), not one pod.
fn is_node_allocatable(path: &str) -> bool {
    let segs: Vec<&str> = path
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let Some(at) = segs
        .iter()
        .position(|s| matches!(*s, "kubepods" | "kubepods.slice" | "kubelet-kubepods.slice"))
    else {
        return false;
    };
    match &segs[at + 1..] {
        [] => true,
        [qos] => matches!(
            *qos,
            "burstable"
                | "besteffort"
                | "kubepods-burstable.slice"
                | "kubepods-besteffort.slice"
                | "kubelet-kubepods-burstable.slice"
                | "kubelet-kubepods-besteffort.slice"
        ),
        _ => false,
    }
}

/// The advice for an OOM of the node-allocatable cgroup.
pub fn pods_advice() -> Vec<String> {
    vec![
        "This is the cgroup of all pods on the node (node allocatable), not one pod: give every pod a memory limit (and requests near it), so that the one that grows is killed alone inside its own.".to_owned(),
        "Set kubelet's eviction thresholds (--eviction-hard / --eviction-soft memory.available) high enough, and --kube-reserved/--system-reserved right, so kubelet evicts pods before the kernel kills in the pods' cgroup.".to_owned(),
    ]
}

/// The episode ended without a kill because nothing could be killed: the
/// `Out of memory and no killable processes...` line, or the panic it
/// becomes on a global OOM.
pub fn no_killable(ep: &Episode) -> bool {
    ep.no_killable || ep.panic.as_deref().is_some_and(|p| p.contains("no killable process"))
}

/// What the panic says of itself, and what to do about it.
pub fn panic_advice(panic: &str) -> String {
    if panic.contains("panic_on_oom") {
        "vm.panic_on_oom is set: the machine reboots on every OOM; set it to 0 unless a reboot is really wanted."
            .to_owned()
    } else if panic.contains("no killable process") {
        "The kernel panicked because no process could be killed (vm.panic_on_oom is not the reason): leave it processes it may kill, not every one at oom_score_adj -1000; early in boot, with no processes yet, the kernel and its initramfs do not fit in RAM.".to_owned()
    } else if panic.contains("deadlocked on memory") {
        "The kernel found itself deadlocked on memory (its OOM victims could not exit): look for tasks stuck in D state holding memory, and for a kernel update.".to_owned()
    } else {
        format!("The kernel panicked on this OOM ({panic}): its own message says why.")
    }
}

/// The kernel release's major and minor numbers (`4.19.0-25-amd64`).
pub fn release(ep: &Episode) -> Option<(u32, u32)> {
    let k = ep.kernel.as_deref()?;
    let mut it = k.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// cgroup v2's memory controller came with Linux 4.5: an older kernel's
/// memcg OOM is of cgroup v1.
pub fn before_cgroup_v2(ep: &Episode) -> bool {
    release(ep).is_some_and(|r| r < (4, 5))
}

/// True when the report splits this task's RSS into anonymous, file and
/// shared memory: a 6.8+ task row, or the victim's kill line.
pub fn rss_split(ep: &Episode, pid: u32) -> bool {
    ep.tasks.iter().any(|t| t.pid == pid && t.rss_anon_bytes.is_some())
        || ep.victims.iter().any(|v| v.pid == pid && v.anon_rss_bytes.is_some())
}

/// Free swap at or below this share of total swap counts as exhausted.
pub const SWAP_EXHAUSTED: f64 = 0.02;

/// What the report shows of swap, when it matters for the cause: the top
/// task's swapped-out memory (its task row's swapents) and whether swap
/// was exhausted (Mem-Info's free swap, or cgroup v1's memory+swap or v2's
/// swap counter at its limit).
pub fn swap_note(ep: &Episode, pid: u32) -> Option<String> {
    let swapped = ep
        .tasks
        .iter()
        .find(|t| t.pid == pid)
        .and_then(|t| t.swap_bytes)
        .filter(|&s| s > 0);
    let exhausted = swap_exhausted(ep);
    match (swapped, exhausted) {
        (Some(s), Some(why)) => Some(format!(
            "it also had {} in swap, and swap was exhausted ({why})",
            human_bytes(s)
        )),
        (Some(s), None) => Some(format!("it also had {} in swap", human_bytes(s))),
        (None, Some(why)) => Some(format!("swap was exhausted ({why})")),
        (None, None) => None,
    }
}

/// Why swap counts as exhausted, in the report's own numbers.
pub fn swap_exhausted(ep: &Episode) -> Option<String> {
    if let Some(mi) = &ep.mem_info {
        if let (Some(free), Some(total)) = (mi.free_swap_bytes, mi.total_swap_bytes) {
            if total > 0 && (free as f64) <= SWAP_EXHAUSTED * total as f64 {
                return Some(format!("free swap {} of {}", human_bytes(free), human_bytes(total)));
            }
        }
    }
    for (name, c) in [("swap", ep.swap), ("memory+swap", ep.memsw)] {
        if let Some(c) = c {
            if c.limit_bytes.is_some_and(|l| l > 0 && c.usage_bytes >= l) {
                // A v1 memory+swap counter is only swap exhausted when it
                // holds more than memory alone.
                let memory = ep.memcg.as_ref().and_then(|m| m.usage_bytes).unwrap_or(0);
                if name == "memory+swap" && c.usage_bytes <= memory {
                    continue;
                }
                return Some(format!(
                    "{name} usage {} at its limit {}",
                    human_bytes(c.usage_bytes),
                    human_bytes(c.limit_bytes.unwrap_or(0))
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_allocatable_paths() {
        for p in [
            "/kubepods",
            "/kubepods.slice",
            "/kubepods/burstable",
            "/kubepods.slice/kubepods-besteffort.slice",
            "/kubelet.slice/kubelet-kubepods.slice",
        ] {
            assert!(is_node_allocatable(p), "{p}");
        }
        for p in [
            "/kubepods/burstable/pod1c7e4a90-5b2d-11ea-8f3c-0a58ac1f0e21",
            "/kubepods/pod1c7e4a90-5b2d-11ea-8f3c-0a58ac1f0e21",
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1c7e.slice",
            "/system.slice/kubelet.service",
            "/",
        ] {
            assert!(!is_node_allocatable(p), "{p}");
        }
    }

    #[test]
    fn releases() {
        let mut e = Episode {
            kernel: Some("3.10.0-1160.el7.x86_64".into()),
            ..Episode::default()
        };
        assert_eq!(release(&e), Some((3, 10)));
        assert!(before_cgroup_v2(&e));
        e.kernel = Some("4.5.0".into());
        assert!(!before_cgroup_v2(&e));
        e.kernel = None;
        assert!(!before_cgroup_v2(&e));
    }
}
