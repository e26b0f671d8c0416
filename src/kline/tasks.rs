//! The task table: its header (whose columns changed with the kernel) and
//! its rows. Rows are read against the columns of the header printed above
//! them, so every layout from 2.6 (`cpu oom_adj`) to 6.8+ (`rss_anon
//! rss_file rss_shmem`) parses the same way; the process name is whatever
//! follows the last numeric column, spaces included.

use super::num::all;
use crate::model::TaskRow;

/// One numeric column of the task table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Uid,
    Tgid,
    TotalVm,
    Rss,
    RssAnon,
    RssFile,
    RssShmem,
    NrPtes,
    NrPmds,
    PgtablesBytes,
    Swapents,
    OomScoreAdj,
    Cpu,
    OomAdj,
    /// A column this parser does not know; its values are skipped.
    Other,
}

impl Column {
    fn from_name(name: &str) -> Column {
        match name {
            "uid" => Column::Uid,
            "tgid" => Column::Tgid,
            "total_vm" => Column::TotalVm,
            "rss" => Column::Rss,
            "rss_anon" => Column::RssAnon,
            "rss_file" => Column::RssFile,
            "rss_shmem" => Column::RssShmem,
            "nr_ptes" => Column::NrPtes,
            "nr_pmds" => Column::NrPmds,
            "pgtables_bytes" => Column::PgtablesBytes,
            "swapents" => Column::Swapents,
            "oom_score_adj" => Column::OomScoreAdj,
            "cpu" => Column::Cpu,
            "oom_adj" => Column::OomAdj,
            _ => Column::Other,
        }
    }
}

/// The numeric columns after `[ pid ]`, in printed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub columns: Vec<Column>,
    /// True when read from a header, false when guessed from a row.
    pub from_header: bool,
}

impl Layout {
    /// Guess the layout of a row whose header was lost, from how many
    /// numbers it has (each kernel era has a distinct count, except 3.x
    /// `nr_ptes` against 4.15+ `pgtables_bytes`, told apart by magnitude:
    /// page-table bytes are a multiple of the page size).
    pub fn guess(row: &str) -> Option<Layout> {
        use Column::*;
        let rest = row.trim_start().strip_prefix('[')?;
        let (_, rest) = rest.split_once(']')?;
        let nums: Vec<&str> = rest
            .split_whitespace()
            .take_while(|w| w.parse::<i64>().is_ok())
            .collect();
        let columns = match nums.len() {
            // The last number may be the start of a name like `0day`; the
            // counts below are the ones that leave a name behind.
            7 => {
                // 4.19+: pgtables_bytes (whole KiB, at least a page); 3.10:
                // nr_ptes, swapents (never negative); 2.6.32: cpu (a CPU
                // number, taken as at most 64), oom_adj (-17..15). Where the
                // two middle columns could be either, they are not read.
                let fifth: i64 = nums[4].parse().ok()?;
                let sixth: i64 = nums[5].parse().ok()?;
                if fifth >= 4096 && fifth % 1024 == 0 {
                    vec![Uid, Tgid, TotalVm, Rss, PgtablesBytes, Swapents, OomScoreAdj]
                } else if sixth < 0 {
                    vec![Uid, Tgid, TotalVm, Rss, Cpu, OomAdj, OomScoreAdj]
                } else if fifth > 64 || sixth > 15 {
                    vec![Uid, Tgid, TotalVm, Rss, NrPtes, Swapents, OomScoreAdj]
                } else {
                    vec![Uid, Tgid, TotalVm, Rss, Other, Other, OomScoreAdj]
                }
            }
            8 => vec![Uid, Tgid, TotalVm, Rss, NrPtes, NrPmds, Swapents, OomScoreAdj],
            10 => vec![
                Uid,
                Tgid,
                TotalVm,
                Rss,
                RssAnon,
                RssFile,
                RssShmem,
                PgtablesBytes,
                Swapents,
                OomScoreAdj,
            ],
            _ => return None,
        };
        Some(Layout {
            columns,
            from_header: false,
        })
    }
}

/// `[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name` and
/// its variants.
pub fn parse_task_header(t: &str) -> Option<Layout> {
    let rest = t.trim_start().strip_prefix('[')?;
    let (pid, rest) = rest.split_once(']')?;
    if pid.trim() != "pid" {
        return None;
    }
    let mut names: Vec<&str> = rest.split_whitespace().collect();
    if names.pop()? != "name" || names.is_empty() {
        return None;
    }
    Some(Layout {
        columns: names.into_iter().map(Column::from_name).collect(),
        from_header: true,
    })
}

/// A task-table header cut short (the mark removed): a table starts, but
/// its columns are unknown, so each row is read by its own shape
/// ([`Layout::guess`]).
pub fn parse_task_header_cut(t: &str) -> Option<Layout> {
    let rest = t.trim_start().strip_prefix('[')?;
    let (pid, _) = rest.split_once(']')?;
    (pid.trim() == "pid").then_some(Layout {
        columns: Vec::new(),
        from_header: false,
    })
}

/// A task-table row whose memory values are still in pages (as printed):
/// `total_vm`, `rss*` and `swapents` are pages, `pgtables_bytes` is bytes.
/// [`RawRow::into_bytes`] converts once the page size is known.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow(pub TaskRow);

impl RawRow {
    /// The row with page counts turned into bytes.
    pub fn into_bytes(self, page_size: u64) -> TaskRow {
        let mut r = self.0;
        let scale = |v: &mut Option<u64>| {
            if let Some(p) = v {
                *p = p.saturating_mul(page_size);
            }
        };
        scale(&mut r.total_vm_bytes);
        scale(&mut r.rss_bytes);
        scale(&mut r.rss_anon_bytes);
        scale(&mut r.rss_file_bytes);
        scale(&mut r.rss_shmem_bytes);
        scale(&mut r.swap_bytes);
        r
    }

    /// Total vm in pages, as printed.
    pub fn total_vm_pages(&self) -> Option<u64> {
        self.0.total_vm_bytes
    }
}

/// More numeric columns than any kernel printed (2.6.32 to 6.x: 7 to 11);
/// a damaged header with more is read through a `Vec`.
const MAX_COLUMNS: usize = 16;

/// Whitespace as `char::is_whitespace` has it in ASCII (tab to CR, space).
fn blank(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// The numeric columns at the start of `rest`, each after at least one
/// blank, into `values`: how many bytes they took. Byte by byte, as
/// `str::trim_start`, `char::is_whitespace` and `i64::from_str` would read
/// them (the tests compare); a separator outside ASCII (a no-break space
/// from a web page) takes the `str` path.
fn columns(rest: &str, values: &mut [i64]) -> Option<usize> {
    let b = rest.as_bytes();
    let n = b.len();
    let mut i = 0;
    // Indexes checked against `n` by hand: the rows are most of a report.
    for k in 0..values.len() {
        let from = i;
        // The padding between columns, eight spaces at a time first.
        while i + 8 <= n && b[i..i + 8] == [b' '; 8] {
            i += 8;
        }
        while i < n && blank(b[i]) {
            i += 1;
        }
        if i < n && !b[i].is_ascii() {
            return columns_str(rest, from, &mut values[k..]);
        }
        if i == from {
            return None; // columns are separated by at least one space
        }
        let start = i;
        while i < n && (b[i].is_ascii_digit() || b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if i < n && !blank(b[i]) {
            // Something else glued to the number: as the `str` path reads
            // it (it fails to parse, or the separator is not ASCII).
            return columns_str(rest, from, &mut values[k..]);
        }
        values[k] = signed(&b[start..i])?;
    }
    Some(i)
}

/// An `i64` as `i64::from_str` reads ASCII: an optional sign and digits.
fn signed(word: &[u8]) -> Option<i64> {
    let (neg, digits) = match word.split_first()? {
        (b'-', d) => (true, d),
        (b'+', d) => (false, d),
        _ => (false, word),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = i64::from(c - b'0');
        n = n.checked_mul(10)?;
        n = if neg { n.checked_sub(d)? } else { n.checked_add(d)? };
    }
    Some(n)
}

/// [`columns`] by `str` methods: the values still to read, from byte `at`
/// (after the columns read so far).
fn columns_str(rest: &str, at: usize, values: &mut [i64]) -> Option<usize> {
    let mut r = &rest[at..];
    for v in values {
        let trimmed = r.trim_start();
        if trimmed.len() == r.len() {
            return None;
        }
        let end = trimmed.find(|c: char| c.is_whitespace()).unwrap_or(trimmed.len());
        *v = trimmed[..end].parse().ok()?;
        r = &trimmed[end..];
    }
    Some(rest.len() - r.len())
}

/// `[   1887]     0  1887    12365    11564 …         0 python3`
pub fn parse_task_row(layout: &Layout, t: &str) -> Option<RawRow> {
    let rest = t.trim_start().strip_prefix('[')?;
    // The pid's `]` is a few bytes in: a byte loop, not memchr's setup.
    let close = rest.bytes().position(|b| b == b']')?;
    let (pid, mut rest) = (&rest[..close], &rest[close + 1..]);
    let mut row = TaskRow {
        pid: all(super::num::u32_dec, pid.trim())?,
        ..TaskRow::default()
    };
    let n = layout.columns.len();
    let (mut small_set, mut large_set) = ([0i64; MAX_COLUMNS], Vec::new());
    let values = match n <= MAX_COLUMNS {
        true => &mut small_set[..n],
        false => {
            large_set.resize(n, 0);
            &mut large_set[..]
        }
    };
    rest = &rest[columns(rest, values)?..];
    for (col, &v) in layout.columns.iter().zip(values.iter()) {
        let u = u64::try_from(v).ok();
        let small = i32::try_from(v).ok();
        match col {
            Column::Uid => row.uid = Some(u32::try_from(v).ok()?),
            Column::Tgid => row.tgid = Some(u32::try_from(v).ok()?),
            Column::TotalVm => row.total_vm_bytes = Some(u?),
            Column::Rss => row.rss_bytes = Some(u?),
            Column::RssAnon => row.rss_anon_bytes = Some(u?),
            Column::RssFile => row.rss_file_bytes = Some(u?),
            Column::RssShmem => row.rss_shmem_bytes = Some(u?),
            Column::NrPtes => row.nr_ptes = Some(u?),
            Column::NrPmds => row.nr_pmds = Some(u?),
            Column::PgtablesBytes => row.pgtables_bytes = Some(u?),
            Column::Swapents => row.swap_bytes = Some(u?),
            Column::OomScoreAdj => row.oom_score_adj = Some(small?),
            Column::Cpu => row.cpu = Some(u32::try_from(v).ok()?),
            Column::OomAdj => row.oom_adj = Some(small?),
            Column::Other => {}
        }
    }
    // One separator space, then the name (which may itself hold spaces).
    // Only the blanks a paste adds at the end go, as classify() does for
    // every line: a name may end in another control character (`\r`).
    let name = rest.strip_prefix(' ')?.trim_start().trim_end_matches([' ', '\t']);
    row.name = crate::model::Text::new(name);
    Some(RawRow(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numeric columns as the `str` methods read them (the reading
    /// before [`columns`] went byte by byte).
    fn columns_by_str(rest: &str, n: usize) -> Option<(Vec<i64>, usize)> {
        let mut v = vec![0; n];
        let end = columns_str(rest, 0, &mut v)?;
        Some((v, end))
    }

    #[test]
    fn columns_read_bytes_as_str_reads_them() {
        let rows = [
            "     0  1887    12365 python3",
            "\t0\t1887 \x0b 12365 python3",
            " +0 -1887 -0 x",
            " 0\u{a0}1887 12365 x",
            "\u{a0}0 1887 12365 x",
            " 0 1887 12365\u{a0}x",
            " 0 18a7 12365 x",
            " 0 1887 99999999999999999999 x",
            " 0 1887 -9223372036854775808 x",
            " 0 1887 9223372036854775807 x",
            " 0 1887 9223372036854775808 x",
            " 0 1887 - x",
            " 0 1887 + x",
            " 0 1887 --1 x",
            " 0 1887",
            " 0 1887 ",
            "0 1887 12365 x",
            " 0  1887  12365",
            " 0 1887 12é x",
            " 0 1887 12365é",
        ];
        for row in rows {
            let mut v = [0; 3];
            let fast = columns(row, &mut v).map(|end| (v.to_vec(), end));
            assert_eq!(fast, columns_by_str(row, 3), "{row:?}");
        }
    }

    #[test]
    fn layout_6_8_real_row() {
        // Real lines, 6.18.44, this lab.
        let l = parse_task_header("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name").unwrap();
        assert_eq!(l.columns.len(), 10);
        let r = parse_task_row(&l, "[   1887]     0  1887    12365    11564     9888     1676         0   143360        0             0 python3").unwrap().0;
        assert_eq!((r.pid, r.uid, r.tgid), (1887, Some(0), Some(1887)));
        assert_eq!(
            (r.total_vm_bytes, r.rss_bytes, r.rss_anon_bytes, r.rss_file_bytes),
            (Some(12365), Some(11564), Some(9888), Some(1676))
        );
        assert_eq!(
            (r.pgtables_bytes, r.oom_score_adj, r.name.as_str()),
            (Some(143360), Some(0), "python3")
        );
        let b = RawRow(r).into_bytes(4096);
        assert_eq!(b.total_vm_bytes, Some(12365 * 4096));
        assert_eq!(b.pgtables_bytes, Some(143360));
    }

    #[test]
    fn layout_seed_004_and_names_with_spaces() {
        // Seed 004 (4.19-era, pgtables_bytes, `[ pid ]` unpadded).
        let l = parse_task_header("[ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name")
            .unwrap();
        let r = parse_task_row(
            &l,
            "[17998]     0 17998      242        1    28672        0          -998 pause",
        )
        .unwrap()
        .0;
        assert_eq!((r.pid, r.oom_score_adj, r.name.as_str()), (17998, Some(-998), "pause"));
        let r = parse_task_row(
            &l,
            "[ 3422]     0  3422   191966     4380   327680        0           999 Web Content",
        )
        .unwrap()
        .0;
        assert_eq!(r.name, "Web Content");
        let r = parse_task_row(
            &l,
            "[ 3422]     0  3422   191966     4380   327680        0           999 runc:[2:INIT]",
        )
        .unwrap()
        .0;
        assert_eq!(r.name, "runc:[2:INIT]");
        assert!(parse_task_row(&l, "[ 3422]     0  3422   191966").is_none());
        assert!(parse_task_row(
            &l,
            "[ 3422]     0  3422   191966     4380   327680        0           x name"
        )
        .is_none());
    }

    #[test]
    fn old_layouts() {
        // 2.6.32 RHEL 6: cpu and oom_adj columns.
        let l = parse_task_header("[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name").unwrap();
        let r = parse_task_row(
            &l,
            "[  512]     0   512     2776      201   1     -17         -1000 udevd",
        )
        .unwrap()
        .0;
        assert_eq!((r.cpu, r.oom_adj, r.oom_score_adj), (Some(1), Some(-17), Some(-1000)));
        // 4.14 nr_pmds.
        let l = parse_task_header("[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name")
            .unwrap();
        let r = parse_task_row(
            &l,
            "[ 2861]     0  2861    27621      103      12       3        0             0 bash",
        )
        .unwrap()
        .0;
        assert_eq!((r.nr_ptes, r.nr_pmds), (Some(12), Some(3)));
        assert!(parse_task_header("[ pid ] name").is_none());
        assert!(parse_task_header("[ foo ] uid name").is_none());
    }

    #[test]
    fn guessed_layouts() {
        let g = Layout::guess("[ 2861]     0  2861    27621      103    28672        0             0 bash").unwrap();
        assert_eq!(g.columns[4], Column::PgtablesBytes);
        // 12 and 0: 3.10's nr_ptes and swapents, or 2.6.32's cpu and
        // oom_adj: not read.
        let g = Layout::guess("[ 2861]     0  2861    27621      103       12        0             0 bash").unwrap();
        assert_eq!(g.columns[4], Column::Other);
        let g = Layout::guess("[ 2861]     0  2861    27621      103       12       25             0 bash").unwrap();
        assert_eq!(g.columns[4], Column::NrPtes);
        let g = Layout::guess("[ 2861]     0  2861    27621      103        1      -17         -1000 sshd").unwrap();
        assert_eq!((g.columns[4], g.columns[5]), (Column::Cpu, Column::OomAdj));
        assert!(Layout::guess("[ 2861] bash").is_none());
    }
}
