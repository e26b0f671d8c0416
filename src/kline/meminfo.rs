//! Lines of the `Mem-Info:` block that `show_mem` prints for a global OOM:
//! the system counters (`active_anon:N inactive_anon:N …`, in pages, spread
//! over several continuation lines), the per-node and per-zone lines, the
//! buddy lists and the page/swap totals.

use super::num::{all, kb_bytes, u64_dec};

/// What one Mem-Info line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemInfoLine<'a> {
    /// `key:pages` pairs of the system counters.
    Counters(Vec<(&'a str, u64)>),
    /// `N total pagecache pages`
    Pagecache(u64),
    /// `N pages RAM`
    PagesRam(u64),
    /// `Free swap  = NkB` (bytes)
    FreeSwap(u64),
    /// `Total swap = NkB` (bytes)
    TotalSwap(u64),
    /// Node, zone, buddy and other lines that belong to the block.
    Other,
}

/// Classify a line met inside a Mem-Info block; None when the line is not
/// part of the block (which ends it).
pub fn parse_mem_info_line(t: &str) -> Option<MemInfoLine<'_>> {
    let t = t.trim();
    // 2.6/3.x print per-cpu pagesets: `Node 0 DMA per-cpu:`, `CPU    0: hi:  186, btch:  31 usd:  30`.
    let per_cpu = t.starts_with("CPU") && t.contains(" hi:");
    if per_cpu || t.starts_with("Node ") || t.starts_with("lowmem_reserve[]:") || t.starts_with("Swap cache stats:") {
        return Some(MemInfoLine::Other);
    }
    if let Some(v) = t.strip_prefix("Free swap") {
        return Some(MemInfoLine::FreeSwap(all(
            kb_bytes,
            v.trim_start().strip_prefix('=')?.trim(),
        )?));
    }
    if let Some(v) = t.strip_prefix("Total swap") {
        return Some(MemInfoLine::TotalSwap(all(
            kb_bytes,
            v.trim_start().strip_prefix('=')?.trim(),
        )?));
    }
    if let Some((n, what)) = t.split_once(' ') {
        if let Some(n) = all(u64_dec, n) {
            return Some(match what {
                "total pagecache pages" => MemInfoLine::Pagecache(n),
                "pages RAM" => MemInfoLine::PagesRam(n),
                w if w.starts_with("pages ") => MemInfoLine::Other,
                _ => return None,
            });
        }
    }
    let mut pairs = Vec::new();
    for tok in t.split_whitespace() {
        let (key, value) = tok.split_once(':')?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return None;
        }
        pairs.push((key, all(u64_dec, value)?));
    }
    (!pairs.is_empty()).then_some(MemInfoLine::Counters(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_info_lines() {
        // 2.6.32 (RHEL 6) per-cpu pageset lines belong to the block.
        assert_eq!(
            parse_mem_info_line("CPU    0: hi:  186, btch:  31 usd: 164"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(parse_mem_info_line("1203 pages shared"), Some(MemInfoLine::Other));
        // 5.4 show_mem output (Ubuntu 20.04).
        assert_eq!(
            parse_mem_info_line("active_anon:1935364 inactive_anon:10234 isolated_anon:0"),
            Some(MemInfoLine::Counters(vec![
                ("active_anon", 1935364),
                ("inactive_anon", 10234),
                ("isolated_anon", 0)
            ]))
        );
        assert_eq!(
            parse_mem_info_line(" free:21389 free_pcp:62 free_cma:0").map(|l| matches!(l, MemInfoLine::Counters(_))),
            Some(true)
        );
        assert_eq!(
            parse_mem_info_line("Node 0 DMA free:15908kB min:132kB"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(
            parse_mem_info_line("Node 0 DMA32: 3*4kB (UM) 2*8kB (M) = 28kB"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(
            parse_mem_info_line("lowmem_reserve[]: 0 2967 7940 7940"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(
            parse_mem_info_line("12345 total pagecache pages"),
            Some(MemInfoLine::Pagecache(12345))
        );
        assert_eq!(
            parse_mem_info_line("2097022 pages RAM"),
            Some(MemInfoLine::PagesRam(2097022))
        );
        assert_eq!(
            parse_mem_info_line("0 pages HighMem/MovableOnly"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(parse_mem_info_line("Free swap  = 0kB"), Some(MemInfoLine::FreeSwap(0)));
        assert_eq!(
            parse_mem_info_line("Total swap = 2097148kB"),
            Some(MemInfoLine::TotalSwap(2097148 * 1024))
        );
        assert_eq!(parse_mem_info_line("Tasks state (memory values in pages):"), None);
        assert_eq!(parse_mem_info_line("[ pid ]   uid  tgid total_vm      rss"), None);
    }
}
