//! Lines of the `Mem-Info:` block that `show_mem` prints for a global OOM:
//! the system counters (`active_anon:N inactive_anon:N …`, in pages, spread
//! over several continuation lines), the per-node and per-zone lines, the
//! buddy lists and the page/swap totals.
//!
//! Every layout from 2.6.18 on: the counters as `active_anon:N …` (2.6.31+),
//! `Active_anon:N active_file:N …` (2.6.28–2.6.30) or `Active:N inactive:N …`
//! (before 2.6.28, LRU lists not split by kind); zone lines and buddy lists
//! with `Node N ` (kernels built with NUMA) or without it; the buddy lists
//! with or without their migrate-type letters (`(UME)`, 3.x+).

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
    /// A zone's line: `[Node N ]NAME free:NkB min:NkB low:NkB high:NkB …`.
    Zone(ZoneLine<'a>),
    /// `lowmem_reserve[]: N N …` (pages), after its zone's line.
    LowmemReserve(Vec<u64>),
    /// A zone's buddy lists: `[Node N ]NAME: C*SkB [(UME)] … = NkB`.
    Buddy(BuddyLine<'a>),
    /// A node's counters (4.8+): `Node N active_anon:NkB inactive_anon:NkB
    /// … unevictable:NkB … all_unreclaimable? no`, in bytes. Where the
    /// system counters were cut from a paste, the nodes' sum stands in.
    NodeCounters(Vec<(&'a str, u64)>),
    /// `Node N hugepages_total=N hugepages_free=N hugepages_surp=N
    /// hugepages_size=NkB`: (total, free) in bytes.
    Hugepages(u64, u64),
    /// Node, per-cpu and other lines that belong to the block.
    Other,
}

/// A node's hugetlb line (after `Node N `): total and free, in bytes.
fn hugepages(rest: &str) -> Option<(u64, u64)> {
    if !rest.starts_with("hugepages_total=") {
        return None;
    }
    let field = |k: &str| {
        rest.split_whitespace()
            .find_map(|t| t.strip_prefix(k)?.strip_prefix('='))
    };
    let total: u64 = all(u64_dec, field("hugepages_total")?)?;
    let free: u64 = all(u64_dec, field("hugepages_free")?)?;
    let size = all(kb_bytes, field("hugepages_size")?)?;
    Some((total.saturating_mul(size), free.saturating_mul(size)))
}

/// The `key:NkB` pairs of a node's counter line (after `Node N `): None
/// unless it has `active_anon:` and at least three pairs.
fn node_counters(rest: &str) -> Option<Vec<(&str, u64)>> {
    if !rest.starts_with("active_anon:") {
        return None;
    }
    let mut pairs = Vec::new();
    for tok in rest.split_whitespace().take(64) {
        let Some((key, value)) = tok.split_once(':') else {
            continue;
        };
        let simple = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if let (true, Some(b)) = (simple, all(kb_bytes, value)) {
            pairs.push((key, b));
        }
    }
    (pairs.len() >= 3).then_some(pairs)
}

/// What a zone's line says (values in bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneLine<'a> {
    /// `Node N`; None on a kernel built without NUMA.
    pub node: Option<u32>,
    /// `DMA`, `DMA32`, `Normal`, `HighMem`, `Movable`, …
    pub name: &'a str,
    pub free: Option<u64>,
    pub min: Option<u64>,
    pub low: Option<u64>,
    pub high: Option<u64>,
    /// `managed:` (3.11+), else `present:`.
    pub managed: Option<u64>,
}

/// A zone's free blocks by order: (count, block size in bytes), smallest
/// block first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuddyLine<'a> {
    pub node: Option<u32>,
    pub name: &'a str,
    pub blocks: Vec<(u64, u64)>,
}

/// Most entries a `lowmem_reserve[]` line holds (MAX_NR_ZONES is 6 at
/// most); a longer line is read as the block's, its numbers not kept.
pub const MAX_RESERVE_ENTRIES: usize = 16;
/// Most block sizes a buddy list holds (MAX_ORDER is 11 on most kernels,
/// up to 14 on some arm64 configurations); a longer line is not one.
pub const MAX_BUDDY_ORDERS: usize = 32;

/// `Node N ` before a zone's name; the rest of the line.
fn node_prefix(t: &str) -> (Option<u32>, &str) {
    if let Some(rest) = t.strip_prefix("Node ") {
        if let Some((n, rest)) = rest.split_once(' ') {
            if let Ok(n) = n.parse::<u32>() {
                return (Some(n), rest.trim_start());
            }
        }
    }
    (None, t)
}

/// A zone's name as the kernel spells it: a capital letter, then letters
/// and digits (`DMA32`, `Normal`, `HighMem`).
fn zone_name(n: &str) -> bool {
    n.len() <= 16
        && n.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
        && n.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `NAME free:NkB min:NkB …` (after the node).
fn zone_line(node: Option<u32>, t: &str) -> Option<ZoneLine<'_>> {
    let (name, rest) = t.split_once(' ')?;
    if !zone_name(name) || !rest.trim_start().starts_with("free:") {
        return None;
    }
    let mut z = ZoneLine {
        node,
        name,
        ..ZoneLine::default()
    };
    let mut present = None;
    for tok in rest.split_whitespace() {
        let Some((k, v)) = tok.split_once(':') else { continue };
        let slot = match k {
            "free" => &mut z.free,
            "min" => &mut z.min,
            "low" => &mut z.low,
            "high" => &mut z.high,
            "managed" => &mut z.managed,
            "present" => &mut present,
            _ => continue,
        };
        *slot = all(kb_bytes, v);
    }
    z.managed = z.managed.or(present);
    z.free.is_some().then_some(z)
}

/// `NAME: C*SkB (UME) C*SkB … = NkB` (after the node).
fn buddy_line(node: Option<u32>, t: &str) -> Option<BuddyLine<'_>> {
    let (name, rest) = t.split_once(": ")?;
    if !zone_name(name) {
        return None;
    }
    let mut blocks = Vec::new();
    let mut toks = rest.split_whitespace();
    while let Some(tok) = toks.next() {
        if tok.starts_with('(') && tok.ends_with(')') {
            // The migrate types that have blocks of this size.
            continue;
        }
        if tok == "=" {
            all(kb_bytes, toks.next()?)?;
            break;
        }
        let (count, size) = tok.split_once('*')?;
        if blocks.len() == MAX_BUDDY_ORDERS {
            return None;
        }
        blocks.push((all(u64_dec, count)?, all(kb_bytes, size)?));
    }
    (!blocks.is_empty()).then_some(BuddyLine { node, name, blocks })
}

/// The counters' keys as the kernel printed them before 2.6.31, in the
/// lower case of the later ones: `Active_anon` (2.6.28–2.6.30), `Active`
/// (before 2.6.28: anon and file on one list).
fn counter_key(key: &str) -> Option<&str> {
    match key {
        "Active_anon" => Some("active_anon"),
        "Active" => Some("active"),
        k if !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => Some(k),
        _ => None,
    }
}

/// True for the line that begins the block's counters, whatever the era:
/// where a paste lost its `Mem-Info:` line (or starts here), this is where
/// the block begins.
pub fn starts_counters(t: &str) -> bool {
    let t = t.trim();
    if t.starts_with("Node ") && t.contains(" active_anon:") {
        return matches!(parse_mem_info_line(t), Some(MemInfoLine::NodeCounters(_)));
    }
    (t.starts_with("active_anon:") || t.starts_with("Active_anon:") || t.starts_with("Active:"))
        && matches!(parse_mem_info_line(t), Some(MemInfoLine::Counters(_)))
}

/// Classify a line met inside a Mem-Info block; None when the line is not
/// part of the block (which ends it).
pub fn parse_mem_info_line(t: &str) -> Option<MemInfoLine<'_>> {
    let t = t.trim();
    // 2.6/3.x print per-cpu pagesets: `Node 0 DMA per-cpu:`, `CPU    0: hi:  186, btch:  31 usd:  30`
    // (2.6.18: `CPU    0: Hot: hi:  186, btch:  31 usd:  30   Cold: hi: …`;
    // 2.6.9: `cpu 0 hot: low 62, high 186, batch 31 used:30`).
    let per_cpu = (t.starts_with("CPU") && t.contains(" hi:"))
        || (t.starts_with("cpu ") && (t.contains(" hot:") || t.contains(" cold:")))
        || t.ends_with(" per-cpu:")
        || t.ends_with(" per-cpu: empty");
    // 2.6.18's `Swap cache: add N, delete N, find N/N, race N+N`, later
    // `Swap cache stats: …`.
    if per_cpu || t.starts_with("Swap cache:") || t.starts_with("Swap cache stats:") || t.starts_with("Free pages:") {
        return Some(MemInfoLine::Other);
    }
    if let Some(r) = t.strip_prefix("lowmem_reserve[]:") {
        let pages: Option<Vec<u64>> = r
            .split_whitespace()
            .take(MAX_RESERVE_ENTRIES + 1)
            .map(|n| all(u64_dec, n))
            .collect();
        return Some(match pages {
            Some(p) if p.len() <= MAX_RESERVE_ENTRIES => MemInfoLine::LowmemReserve(p),
            _ => MemInfoLine::Other,
        });
    }
    let (node, rest) = node_prefix(t);
    if let Some(z) = zone_line(node, rest) {
        return Some(MemInfoLine::Zone(z));
    }
    if let Some(b) = buddy_line(node, rest) {
        return Some(MemInfoLine::Buddy(b));
    }
    // 2.6.18 prints an unpopulated zone's buddy list as `Normal: empty`.
    if node.is_some() {
        if let Some(pairs) = node_counters(rest) {
            return Some(MemInfoLine::NodeCounters(pairs));
        }
        if let Some((total, free)) = hugepages(rest) {
            return Some(MemInfoLine::Hugepages(total, free));
        }
    }
    if node.is_some() || t.starts_with("Node ") || rest.strip_suffix(": empty").is_some_and(zone_name) {
        // The per-node counters (4.8+), hugepages, and the like.
        return Some(MemInfoLine::Other);
    }
    if let Some(v) = t.strip_prefix("Free swap") {
        // `Free swap  = NkB`; 2.6.18's x86_64 show_mem: `Free swap:   NkB`.
        let v = v.trim_start();
        let v = v.strip_prefix('=').or_else(|| v.strip_prefix(':'))?;
        return Some(MemInfoLine::FreeSwap(all(kb_bytes, v.trim())?));
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
                // `pages of RAM`: 2.6 arch show_mem (x86_64, i386).
                "pages RAM" | "pages of RAM" => MemInfoLine::PagesRam(n),
                // `pages reserved`, `reserved pages`, `pages shared`, …
                w if w.starts_with("pages ") || w.ends_with(" pages") => MemInfoLine::Other,
                _ => return None,
            });
        }
    }
    let mut pairs = Vec::new();
    for tok in t.split_whitespace() {
        let (key, value) = tok.split_once(':')?;
        pairs.push((counter_key(key)?, all(u64_dec, value)?));
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
        assert!(matches!(
            parse_mem_info_line("Node 0 DMA free:15908kB min:132kB"),
            Some(MemInfoLine::Zone(_))
        ));
        assert!(matches!(
            parse_mem_info_line("Node 0 DMA32: 3*4kB (UM) 2*8kB (M) = 28kB"),
            Some(MemInfoLine::Buddy(_))
        ));
        assert_eq!(
            parse_mem_info_line("lowmem_reserve[]: 0 2967 7940 7940"),
            Some(MemInfoLine::LowmemReserve(vec![0, 2967, 7940, 7940]))
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

    #[test]
    fn zone_lines_with_and_without_node() {
        // 6.8 (Ubuntu 24.04), NUMA build.
        let z = parse_mem_info_line(
            "Node 0 DMA32 free:412348kB boost:0kB min:3600kB low:5424kB high:7248kB reserved_highatomic:0KB active_anon:1231208kB present:2080636kB managed:1965112kB mlocked:0kB",
        );
        assert_eq!(
            z,
            Some(MemInfoLine::Zone(ZoneLine {
                node: Some(0),
                name: "DMA32",
                free: Some(412348 * 1024),
                min: Some(3600 * 1024),
                low: Some(5424 * 1024),
                high: Some(7248 * 1024),
                managed: Some(1965112 * 1024),
            }))
        );
        // Built without NUMA (mm/page_alloc.c show_node() prints nothing),
        // 2.6.32 fields: `present:` only, `all_unreclaimable? yes`.
        let z = parse_mem_info_line(
            "DMA free:15908kB min:20kB low:24kB high:28kB active_anon:0kB present:15652kB pages_scanned:0 all_unreclaimable? yes",
        );
        assert_eq!(
            z,
            Some(MemInfoLine::Zone(ZoneLine {
                node: None,
                name: "DMA",
                free: Some(15908 * 1024),
                min: Some(20 * 1024),
                low: Some(24 * 1024),
                high: Some(28 * 1024),
                managed: Some(15652 * 1024),
            }))
        );
        // 2.6.18's layout (`active:`/`inactive:` per zone), HighMem on i386.
        assert!(matches!(
            parse_mem_info_line("HighMem free:1012kB min:128kB low:160kB high:192kB active:1200kB inactive:800kB present:131008kB pages_scanned:0 all_unreclaimable? no"),
            Some(MemInfoLine::Zone(ZoneLine { name: "HighMem", node: None, .. }))
        ));
        // A node's counters (4.8+), in bytes; the flags and parenthesised
        // keys are left out.
        assert_eq!(
            parse_mem_info_line(
                "Node 0 active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB \
                 unevictable:16440kB isolated(anon):0kB mapped:0kB dirty:0kB all_unreclaimable? no"
            ),
            Some(MemInfoLine::NodeCounters(vec![
                ("active_anon", 0),
                ("inactive_anon", 0),
                ("active_file", 0),
                ("inactive_file", 0),
                ("unevictable", 16440 * 1024),
                ("mapped", 0),
                ("dirty", 0),
            ]))
        );
        assert!(starts_counters(
            "Node 1 active_anon:4kB inactive_anon:8kB active_file:0kB"
        ));
        assert_eq!(
            parse_mem_info_line(
                "Node 0 hugepages_total=1024 hugepages_free=1000 hugepages_surp=0 hugepages_size=2048kB"
            ),
            Some(MemInfoLine::Hugepages(1024 * 2048 * 1024, 1000 * 2048 * 1024))
        );
        assert_eq!(
            parse_mem_info_line("Node 0 hugepages_total=1 hugepages_free=x hugepages_surp=0 hugepages_size=2048kB"),
            Some(MemInfoLine::Other)
        );
        // The per-node counters (4.8+) and per-cpu headers are no zone.
        assert_eq!(
            parse_mem_info_line("Node 0 active_anon:10943656kB inactive_anon:716152kB all_unreclaimable? no"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(parse_mem_info_line("DMA per-cpu:"), Some(MemInfoLine::Other));
        assert_eq!(parse_mem_info_line("Normal per-cpu:"), Some(MemInfoLine::Other));
        // A zone line cut before its free: is not a zone.
        assert_eq!(parse_mem_info_line("DMA32 min:3600kB"), None);
        assert_eq!(parse_mem_info_line("DMA free:abckB min:1kB"), None);
    }

    #[test]
    fn buddy_lists_every_shape() {
        // 3.x+ with migrate types, NUMA.
        assert_eq!(
            parse_mem_info_line("Node 0 DMA32: 16*4kB (U) 0*8kB 3*16kB (UME) = 112kB"),
            Some(MemInfoLine::Buddy(BuddyLine {
                node: Some(0),
                name: "DMA32",
                blocks: vec![(16, 4096), (0, 8192), (3, 16384)],
            }))
        );
        // Without NUMA, without types (2.6.32).
        assert_eq!(
            parse_mem_info_line("Normal: 12*4kB 1*8kB 0*16kB = 56kB"),
            Some(MemInfoLine::Buddy(BuddyLine {
                node: None,
                name: "Normal",
                blocks: vec![(12, 4096), (1, 8192), (0, 16384)],
            }))
        );
        // arm64 with 64 kB pages: the first size is the page.
        assert!(matches!(
            parse_mem_info_line("Node 0 DMA: 3*64kB (M) 1*128kB = 320kB"),
            Some(MemInfoLine::Buddy(BuddyLine { blocks, .. })) if blocks[0] == (3, 65536)
        ));
        // Bounded: more sizes than any kernel has is no buddy list.
        let long = format!("Normal: {}= 0kB", "0*4kB ".repeat(MAX_BUDDY_ORDERS + 1));
        assert_eq!(parse_mem_info_line(&long), None);
        let most = format!("Normal: {}= 0kB", "0*4kB ".repeat(MAX_BUDDY_ORDERS));
        assert!(matches!(parse_mem_info_line(&most), Some(MemInfoLine::Buddy(_))));
        // Cut or garbled.
        assert_eq!(parse_mem_info_line("Normal: 12*4kB x*8kB = 56kB"), None);
        assert_eq!(parse_mem_info_line("Normal: = 0kB"), None);
        assert_eq!(parse_mem_info_line("Normal: 12*4kB ="), None);
    }

    #[test]
    fn lowmem_reserve() {
        assert_eq!(
            parse_mem_info_line("lowmem_reserve[]: 0 1919 16028 0 0"),
            Some(MemInfoLine::LowmemReserve(vec![0, 1919, 16028, 0, 0]))
        );
        // Garbled numbers: still the block's, nothing read.
        assert_eq!(parse_mem_info_line("lowmem_reserve[]: 0 x"), Some(MemInfoLine::Other));
        // Bounded: a hostile line of numbers keeps none of them.
        let long = format!("lowmem_reserve[]:{}", " 1".repeat(MAX_RESERVE_ENTRIES + 1));
        assert_eq!(parse_mem_info_line(&long), Some(MemInfoLine::Other));
        let most = format!("lowmem_reserve[]:{}", " 1".repeat(MAX_RESERVE_ENTRIES));
        assert!(
            matches!(parse_mem_info_line(&most), Some(MemInfoLine::LowmemReserve(p)) if p.len() == MAX_RESERVE_ENTRIES)
        );
    }

    #[test]
    fn counters_of_every_era() {
        // 2.6.28-2.6.30 (mm/page_alloc.c show_free_areas): capital first key.
        assert_eq!(
            parse_mem_info_line("Active_anon:120 active_file:30 inactive_anon:40"),
            Some(MemInfoLine::Counters(vec![
                ("active_anon", 120),
                ("active_file", 30),
                ("inactive_anon", 40)
            ]))
        );
        // 2.6.18-2.6.27: anon and file on one list.
        assert_eq!(
            parse_mem_info_line("Active:1000 inactive:500 dirty:10 writeback:0 unstable:0"),
            Some(MemInfoLine::Counters(vec![
                ("active", 1000),
                ("inactive", 500),
                ("dirty", 10),
                ("writeback", 0),
                ("unstable", 0)
            ]))
        );
        assert_eq!(
            parse_mem_info_line(" free:21 slab:5 mapped:3 pagetables:2 bounce:0")
                .map(|l| matches!(l, MemInfoLine::Counters(_))),
            Some(true)
        );
        // Other capitals are not counters.
        assert_eq!(parse_mem_info_line("Inactive:5"), None);
        assert!(starts_counters(
            "Active:1000 inactive:500 dirty:10 writeback:0 unstable:0"
        ));
        assert!(starts_counters(
            "active_anon:1935364 inactive_anon:10234 isolated_anon:0"
        ));
        assert!(starts_counters("Active_anon:120 active_file:30 inactive_anon:40"));
        assert!(!starts_counters(" active_file:1 inactive_file:2"));
        assert!(!starts_counters("active_anon: lots"));
        // 2.6 arch show_mem totals.
        assert_eq!(
            parse_mem_info_line("1048576 pages of RAM"),
            Some(MemInfoLine::PagesRam(1048576))
        );
        assert_eq!(parse_mem_info_line("8139 reserved pages"), Some(MemInfoLine::Other));
        assert_eq!(
            parse_mem_info_line("Free swap:       2031608kB"),
            Some(MemInfoLine::FreeSwap(2031608 * 1024))
        );
        assert_eq!(
            parse_mem_info_line("Free pages:       43060kB (1012kB HighMem)"),
            Some(MemInfoLine::Other)
        );
        assert_eq!(
            parse_mem_info_line("CPU    0: Hot: hi:  186, btch:  31 usd:  30   Cold: hi:   62, btch:  15 usd:  56"),
            Some(MemInfoLine::Other)
        );
        // 2.6.18 (Debian Etch, x86_64) lines around the zones, with and
        // without a node.
        for l in [
            "cpu 0 hot: high 186, batch 31 used:153",
            "Node 0 Normal per-cpu: empty",
            "HighMem per-cpu: empty",
            "Normal: empty",
            "Node 0 HighMem: empty",
            "Swap cache: add 1019451, delete 1019451, find 201763/246112, race 0+12",
        ] {
            assert_eq!(parse_mem_info_line(l), Some(MemInfoLine::Other), "{l}");
        }
        assert_eq!(parse_mem_info_line("normal: empty"), None);
    }
}
