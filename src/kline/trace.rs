//! Stack frames of the call trace a report prints after its `CPU:` line.
//! Where the report lost its header and its `oom-kill:` line, the frames
//! still say that this was an OOM and whether a memory cgroup's limit or the
//! whole machine ran out.
//!
//! Frames come in every architecture's and era's form:
//! - `dump_stack_lvl+0x4a/0x63` (x86 4.16+, inside `<TASK>`),
//! - ` [<ffffffff8163a4e0>] dump_stack+0x19/0x1b` (x86 2.6–4.15, i386),
//! - ` [<ffffffff81183a0c>] ? oom_kill_process+0x...` (an unreliable `? `),
//! - ` <ffffffff8015a4c4>{out_of_memory+356}` (x86_64 2.6.9),
//! - arm64's ` dump_backtrace+0x0/0x1d0` after `Call trace:` (also with
//!   `[<ffff…>] `), and `func+0x10/0x20 [module]` for modules;
//! - compiler suffixes on the name: `oom_kill_process.cold+0xb/0x10`,
//!   `out_of_memory.part.0+0x…`.

/// What a frame says about the OOM it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// The OOM killer itself (`out_of_memory`, `oom_kill_process`,
    /// `dump_header`): an OOM, of either scope.
    Oom,
    /// A memory cgroup's OOM (`mem_cgroup_out_of_memory`,
    /// `mem_cgroup_oom_synchronize`).
    MemcgOom,
    /// A charge against a memory cgroup (`try_charge`, `try_charge_memcg`,
    /// `obj_cgroup_charge*`, …): memcg scope, but no OOM by itself.
    MemcgCharge,
    /// The page allocator's own OOM entry (`__alloc_pages_may_oom`,
    /// `pagefault_out_of_memory`): an OOM, global unless a memcg frame says
    /// otherwise.
    GlobalOom,
    /// The allocator's slow path (`__alloc_pages_slowpath`): global scope,
    /// but no OOM by itself (allocation-failure warnings print it too).
    GlobalAlloc,
    /// A filesystem's own function (`xfs_file_buffered_write`,
    /// `ext4_da_write_begin`, …): the allocation came through its path.
    Filesystem(&'static str),
    /// Any other function.
    Other,
}

/// Filesystems by the prefix of their functions, as the schema names them
/// (`filesystem`). Stacking ones (overlayfs, ecryptfs) are not listed: the
/// filesystem that matters is the one below, which the trace shows too.
const FILESYSTEMS: [(&str, &str); 14] = [
    ("xfs_", "xfs"),
    ("ext4_", "ext4"),
    ("ext3_", "ext3"),
    ("ext2_", "ext2"),
    ("btrfs_", "btrfs"),
    ("f2fs_", "f2fs"),
    ("nfs_", "nfs"),
    ("nfs4_", "nfs"),
    ("fuse_", "fuse"),
    ("ceph_", "ceph"),
    ("gfs2_", "gfs2"),
    ("ocfs2_", "ocfs2"),
    ("zpl_", "zfs"),
    ("cifs_", "cifs"),
];

impl FrameKind {
    /// True if the frame alone shows that an OOM happened.
    pub fn is_oom(self) -> bool {
        matches!(self, FrameKind::Oom | FrameKind::MemcgOom | FrameKind::GlobalOom)
    }
}

/// The function a frame line names, if it is a frame.
pub fn frame_function(t: &str) -> Option<&str> {
    // Every form has a `+` before its offset.
    memchr::memchr(b'+', t.as_bytes())?;
    let mut s = t.trim_start();
    // `[<ffffffff8163a4e0>] ` (and the arm64 form), then an unreliable `? `.
    if let Some(r) = s.strip_prefix("[<") {
        let end = r.find(">]")?;
        if !is_hex(&r[..end]) {
            return None;
        }
        s = r[end + 2..].trim_start();
    }
    if let Some(r) = s.strip_prefix("? ") {
        s = r.trim_start();
    }
    // x86_64 2.6.9: `<ffffffff8015a4c4>{out_of_memory+356}`.
    if let Some(r) = s.strip_prefix('<') {
        let end = r.find(">{")?;
        if !is_hex(&r[..end]) {
            return None;
        }
        let inner = &r[end + 2..];
        let plus = inner.find('+')?;
        return valid_name(&inner[..plus]);
    }
    let plus = s.find("+0x")?;
    // `+0xOFF/0xLEN`: both hex.
    let (off, len) = s[plus + 3..].split_once("/0x")?;
    let len = len.split([' ', '\t']).next()?;
    if !is_hex(off) || !is_hex(len) {
        return None;
    }
    valid_name(&s[..plus])
}

/// The function of a frame in the form nearly every frame has since 2.6.2x:
/// `name+0xOFF/0xLEN`, after an optional `? `, before an optional
/// ` [module]`; None for any other text (then ask [`frame_function`]).
/// Such a line holds no blank but the module's, and no `:` or `=`, so it
/// can be no other kind of line: [`super::classify`] takes it first.
pub fn plain_frame(t: &str) -> Option<&str> {
    let s = t.strip_prefix("? ").unwrap_or(t);
    let b = s.as_bytes();
    let name_end = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.'))?;
    let r = s[name_end..].strip_prefix("+0x")?;
    let off = r.bytes().take_while(u8::is_ascii_hexdigit).count();
    let r = r[off..].strip_prefix("/0x")?;
    let len = r.bytes().take_while(u8::is_ascii_hexdigit).count();
    let module = &r[len..];
    let module_ok = module.is_empty()
        || module
            .strip_prefix(" [")
            .and_then(|m| m.strip_suffix(']'))
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'));
    if off == 0 || len == 0 || !module_ok {
        return None;
    }
    valid_name(&s[..name_end])
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A C identifier, optionally with compiler suffixes (`.cold`, `.isra.0`).
fn valid_name(n: &str) -> Option<&str> {
    let ok =
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') && !n.starts_with('.');
    ok.then_some(n)
}

/// What the frame naming `function` says (its compiler suffixes ignored).
pub fn frame_kind(function: &str) -> FrameKind {
    // (A byte loop: memchr's setup costs more than a name is long.)
    let base = function
        .bytes()
        .position(|b| b == b'.')
        .map_or(function, |i| &function[..i]);
    match base {
        "out_of_memory"
        | "oom_kill_process"
        | "__oom_kill_process"
        | "dump_header"
        | "select_bad_process"
        | "oom_kill_memcg_member" => FrameKind::Oom,
        "mem_cgroup_out_of_memory" | "mem_cgroup_oom_synchronize" | "mem_cgroup_oom" | "mem_cgroup_handle_oom" => {
            FrameKind::MemcgOom
        }
        "try_charge"
        | "try_charge_memcg"
        | "__mem_cgroup_try_charge"
        | "mem_cgroup_try_charge"
        | "mem_cgroup_charge"
        | "__mem_cgroup_charge"
        | "mem_cgroup_charge_common"
        | "mem_cgroup_cache_charge"
        | "mem_cgroup_newpage_charge"
        | "charge_memcg"
        | "obj_cgroup_charge"
        | "obj_cgroup_charge_pages"
        | "__memcg_kmem_charge"
        | "__memcg_kmem_charge_page"
        | "memcg_kmem_charge"
        | "memcg_kmem_charge_memcg" => FrameKind::MemcgCharge,
        "__alloc_pages_may_oom" | "pagefault_out_of_memory" => FrameKind::GlobalOom,
        // The page allocator's entry points, where the slow path was
        // inlined (4.x on some arches): a memcg charge under an allocation
        // shows its memcg frames before these (the trace runs inward out).
        "__alloc_pages_slowpath" | "__alloc_pages_nodemask" | "__alloc_pages" | "__alloc_pages_noprof" => {
            FrameKind::GlobalAlloc
        }
        _ => FILESYSTEMS
            .iter()
            .find(|(prefix, _)| base.starts_with(prefix))
            .map_or(FrameKind::Other, |&(_, fs)| FrameKind::Filesystem(fs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filesystem_frame_names_its_filesystem() {
        assert_eq!(frame_kind("xfs_file_buffered_write"), FrameKind::Filesystem("xfs"));
        assert_eq!(frame_kind("ext4_da_write_begin.cold"), FrameKind::Filesystem("ext4"));
        assert_eq!(frame_kind("nfs4_write_begin"), FrameKind::Filesystem("nfs"));
        assert_eq!(frame_kind("zpl_iter_write"), FrameKind::Filesystem("zfs"));
        assert_eq!(frame_kind("ovl_write_iter"), FrameKind::Other);
        assert_eq!(frame_kind("xfsx"), FrameKind::Other);
        assert_eq!(frame_kind("iomap_write_begin"), FrameKind::Other);
    }

    #[test]
    fn frames_of_every_form() {
        let cases = [
            ("dump_stack_lvl+0x4a/0x63", "dump_stack_lvl"),
            (" oom_kill_process.cold+0xb/0x10", "oom_kill_process.cold"),
            (" [<ffffffff8163a4e0>] dump_stack+0x19/0x1b", "dump_stack"),
            (
                " [<ffffffff81183a0c>] ? mem_cgroup_out_of_memory+0x2c/0x1a0",
                "mem_cgroup_out_of_memory",
            ),
            (" ? __alloc_pages_slowpath+0x9f1/0xc30", "__alloc_pages_slowpath"),
            (" <ffffffff8015a4c4>{out_of_memory+356}", "out_of_memory"),
            (" [<c0150f8b>] out_of_memory+0x1a/0x130", "out_of_memory"),
            (" dump_backtrace+0x0/0x1d0", "dump_backtrace"),
            ("[<ffff000008087f1c>] dump_backtrace+0x0/0x1d0", "dump_backtrace"),
            ("xfs_buf_get_map+0x10/0x20 [xfs]", "xfs_buf_get_map"),
        ];
        for (line, name) in cases {
            assert_eq!(frame_function(line), Some(name), "{line}");
        }
        for not in [
            "Call Trace:",
            "RIP: 0010:foo+0x1/0x2",
            "a+b/c",
            "total-vm:1234kB",
            "x+0xZZ/0x10",
            "Killed process 1 (a+0x1/0x2)",
        ] {
            assert_eq!(frame_function(not), None, "{not}");
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(frame_kind("oom_kill_process.cold"), FrameKind::Oom);
        assert_eq!(frame_kind("mem_cgroup_out_of_memory"), FrameKind::MemcgOom);
        assert_eq!(frame_kind("try_charge_memcg"), FrameKind::MemcgCharge);
        assert_eq!(frame_kind("obj_cgroup_charge_pages"), FrameKind::MemcgCharge);
        assert_eq!(frame_kind("pagefault_out_of_memory"), FrameKind::GlobalOom);
        assert_eq!(frame_kind("__alloc_pages_slowpath.constprop.0"), FrameKind::GlobalAlloc);
        assert_eq!(frame_kind("dump_stack_lvl"), FrameKind::Other);
        assert!(FrameKind::MemcgOom.is_oom() && !FrameKind::MemcgCharge.is_oom());
    }
}
