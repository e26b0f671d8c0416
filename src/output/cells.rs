//! Text for a terminal: display widths, values cut to fit with `…`,
//! compact sizes and times, and colour. Shared by the human formats
//! (`table`, `report`), whose lines must never be wider than the terminal.

use crate::model::{Episode, Time};
use unicode_width::UnicodeWidthChar;

/// How the human formats draw: the terminal's width and whether to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Columns available; lines are cut or wrapped to fit.
    pub width: usize,
    /// ANSI colour (only on a terminal, or `--color always`).
    pub color: bool,
}

impl Style {
    /// The width of a terminal nobody measured.
    pub const DEFAULT_WIDTH: usize = 80;
    /// Narrower than this, the table's fixed columns would not fit.
    pub const MIN_WIDTH: usize = 20;

    /// No colour, the default width: what tests and pipes get.
    pub fn plain() -> Style {
        Style {
            width: Style::DEFAULT_WIDTH,
            color: false,
        }
    }

    /// `width` columns (at least [`Style::MIN_WIDTH`]).
    pub fn new(width: usize, color: bool) -> Style {
        Style {
            width: width.max(Style::MIN_WIDTH),
            color,
        }
    }
}

impl Default for Style {
    fn default() -> Style {
        Style::plain()
    }
}

/// Columns a character takes. Text reaching here passed the text gate
/// (no control characters); a character of unknown width counts as 2, so
/// a line is never wider than computed.
fn char_width(c: char) -> usize {
    c.width().unwrap_or(2)
}

/// Columns `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    s.chars().map(char_width).sum()
}

/// The longest prefix of `s` at most `w` columns wide.
fn head(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += char_width(c);
        if used > w {
            return &s[..i];
        }
    }
    s
}

/// The longest suffix of `s` at most `w` columns wide.
fn tail(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        used += char_width(c);
        if used > w {
            return &s[i + c.len_utf8()..];
        }
    }
    s
}

/// `s` cut to `w` columns at its end: `python3-long…`.
pub fn cut_end(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    match w {
        0 => String::new(),
        _ => format!("{}…", head(s, w - 1)),
    }
}

/// `s` cut to `w` columns in its middle: `kube-system/…/coredns`, so both
/// ends (a namespace, a container) stay readable.
pub fn cut_middle(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    if w < 3 {
        return cut_end(s, w);
    }
    let right = (w - 1) / 2;
    let left = w - 1 - right;
    format!("{}…{}", head(s, left), tail(s, right))
}

/// A cgroup path cut to `w` columns: as many of its last segments as fit
/// after `…/` (the leaf names the workload), else its last segment cut in
/// the middle.
pub fn cut_path(path: &str, w: usize) -> String {
    if width(path) <= w {
        return path.to_owned();
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut kept = String::new();
    for seg in segments.iter().rev() {
        let next = match kept.is_empty() {
            true => (*seg).to_owned(),
            false => format!("{seg}/{kept}"),
        };
        if width(&next) + 2 > w {
            break;
        }
        kept = next;
    }
    match kept.is_empty() {
        true => cut_middle(segments.last().copied().unwrap_or(path), w),
        false => format!("…/{kept}"),
    }
}

/// `s` padded with blanks to `w` columns (left-aligned).
pub fn pad(s: &str, w: usize) -> String {
    let n = width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

/// `s` right-aligned in `w` columns.
pub fn pad_left(s: &str, w: usize) -> String {
    let n = width(s);
    format!("{}{s}", " ".repeat(w.saturating_sub(n)))
}

/// A size in at most 5 columns: `512B`, `48M`, `1.5G`, `12T`
/// (binary units: K is 1024 bytes).
pub fn compact_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let (v, u) = crate::units::scaled(b);
    if u == 0 {
        return format!("{b}B");
    }
    // One decimal below 10 (`9.5G`); none from 10 up (`48M`, `1023M`).
    // A value that rounds to 1024 is shown in the next unit.
    if v < 9.95 {
        format!("{v:.1}{}", UNITS[u])
    } else if v.round() < 1024.0 || u + 1 == UNITS.len() {
        format!("{v:.0}{}", UNITS[u])
    } else {
        format!("1.0{}", UNITS[u + 1])
    }
}

/// A time in at most 14 columns: `11-22 10:00:20` from a wall clock (the
/// year and zone are in the full formats; syslog's `Nov 22 10:00:20` reads
/// the same), else `4901.830s` since boot.
pub fn compact_time(t: &Time) -> String {
    if let Some(w) = t.wall.as_ref().map(|w| w.as_str()) {
        // ISO 8601 as the decoder writes it: `2026-11-22T10:00:20…`.
        let b = w.as_bytes();
        if b.len() >= 19 && b[4] == b'-' && b[10] == b'T' && w.is_ascii() {
            return format!("{} {}", &w[5..10], &w[11..19]);
        }
        return cut_end(w, 14);
    }
    if let Some(raw) = &t.wall_raw {
        return syslog_time(raw.as_str()).unwrap_or_else(|| cut_end(raw.as_str(), 14));
    }
    match t.uptime_s {
        Some(u) if u < 1e9 => format!("{u:.3}s"),
        Some(u) => format!("{u:.0}s"),
        None => "-".to_owned(),
    }
}

/// `Nov 22 10:00:20` (`Feb  4 …`, `Feb 4 …`) as `11-22 10:00:20`.
fn syslog_time(raw: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut words = raw.split_ascii_whitespace();
    let name = words.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? + 1;
    let day: u8 = words.next()?.parse().ok()?;
    let time = words.next()?;
    let ok = time.len() == 8
        && time
            .bytes()
            .enumerate()
            .all(|(i, b)| if i % 3 == 2 { b == b':' } else { b.is_ascii_digit() });
    (ok && (1..=31).contains(&day) && words.next().is_none()).then(|| format!("{month:02}-{day:02} {time}"))
}

/// The workload an episode hit, shortest first: `namespace/pod/container`
/// when `--pods` named them, else a short pod uid and container id, else
/// the systemd unit, else the cgroup path; `-` when nothing says.
pub fn workload(ep: &Episode) -> Workload {
    if let Some(k) = &ep.k8s {
        let container = match (&k.container_name, &ep.container) {
            (Some(n), _) => Some(n.to_string()),
            (None, Some(c)) => Some(c.short_id()),
            (None, None) => None,
        };
        let pod = match (&k.namespace, &k.pod) {
            (Some(ns), Some(p)) => format!("{ns}/{p}"),
            _ => format!("pod {}", k.pod_uid.chars().take(8).collect::<String>()),
        };
        return match container {
            Some(c) => Workload::Parts(pod, c),
            None => Workload::Name(pod),
        };
    }
    if let Some(c) = &ep.container {
        let id = c.short_id();
        return Workload::Name(match &c.runtime {
            Some(r) => format!("{r} {id}"),
            None => format!("container {id}"),
        });
    }
    if let Some(u) = &ep.unit {
        return Workload::Name(u.to_string());
    }
    match ep.cgroup() {
        Some(p) => Workload::Path(p.to_owned()),
        None => Workload::Name("-".to_owned()),
    }
}

/// What [`workload`] found: a name (cut in the middle to fit), a pod and
/// its container (each cut so that both show), or a cgroup path (cut to
/// its last segments).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    Name(String),
    Parts(String, String),
    Path(String),
}

impl Workload {
    /// Cut to `w` columns as its kind reads best.
    pub fn fit(&self, w: usize) -> String {
        match self {
            Workload::Name(s) => cut_middle(s, w),
            Workload::Path(p) => cut_path(p, w),
            Workload::Parts(pod, c) => {
                let whole = format!("{pod}/{c}");
                if width(&whole) <= w || w < 8 {
                    return cut_middle(&whole, w);
                }
                // The container gets at most half; the pod the rest.
                let c = cut_end(c, (w / 2).min(width(c)));
                let pod = cut_middle(pod, w - 1 - width(&c));
                format!("{pod}/{c}")
            }
        }
    }
}

/// `text` wrapped at blanks into lines of at most `cols` columns; lines
/// after the first start with `indent`. A word wider than a line is split
/// where the line ends (a path, a long name): nothing is ever wider.
pub fn wrap(text: &str, cols: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in words(text) {
        let mut word = word.as_str();
        loop {
            let lead = match lines.is_empty() {
                true => 0,
                false => width(indent),
            };
            let room = cols.saturating_sub(lead).max(1);
            let w = width(word);
            let gap = usize::from(used > 0);
            if used + gap + w <= room {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                used += gap + w;
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
                continue;
            }
            // Alone on its line and still too wide: split it, after a `|`
            // or `,` in its second half if there is one (a list of flags),
            // else after a `/`, `-`, `_` or `.` that does not start a run of
            // them (a path, a pod name; not `_|_GFP_WRITE`), else where the
            // line ends.
            let h = head(word, room);
            let fits = |i: usize| i + 1 > h.len() / 2 && i + 1 < word.len();
            let cut = h.rfind(['|', ',']).filter(|&i| fits(i)).or_else(|| {
                h.char_indices()
                    .rev()
                    .find(|&(i, c)| {
                        matches!(c, '/' | '-' | '_' | '.')
                            && fits(i)
                            && !word[i + 1..].starts_with(['/', '-', '_', '.'])
                            && !word[..i].ends_with(['/', '-', '_', '.'])
                    })
                    .map(|(i, _)| i)
            });
            let h = match cut {
                Some(i) => &h[..=i],
                None => h,
            };
            let h = match h.is_empty() {
                true => &word[..word.chars().next().map_or(0, char::len_utf8)],
                false => h,
            };
            lines.push(h.to_owned());
            word = &word[h.len()..];
            if word.is_empty() {
                break;
            }
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    for l in lines.iter_mut().skip(1) {
        l.insert_str(0, indent);
    }
    lines
}

/// The words of `text` for [`wrap`]: split at blanks, except before a unit
/// (`46.0 MiB`, `0 B),`, `99 %`), which stays with its number.
fn words(text: &str) -> Vec<String> {
    const UNITS: [&str; 8] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "kB", "%"];
    let mut out: Vec<String> = Vec::new();
    for w in text.split(' ').filter(|w| !w.is_empty()) {
        let bare = w.trim_end_matches([')', ',', ';', ':', '.']);
        let after_number = out
            .last()
            .and_then(|p| p.chars().last())
            .is_some_and(|c| c.is_ascii_digit());
        match out.last_mut() {
            Some(prev) if after_number && UNITS.contains(&bare) => {
                prev.push(' ');
                prev.push_str(w);
            }
            _ => out.push(w.to_owned()),
        }
    }
    out
}

/// ANSI colours of the human formats.
#[derive(Debug, Clone, Copy)]
pub enum Paint {
    Bold,
    Dim,
    Red,
    BoldRed,
    Yellow,
    Magenta,
    Cyan,
    Blue,
    Green,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Red => "31",
            Paint::BoldRed => "1;31",
            Paint::Yellow => "33",
            Paint::Magenta => "35",
            Paint::Cyan => "36",
            Paint::Blue => "34",
            Paint::Green => "32",
        }
    }

    /// `s` in this colour when `on` (its width is unchanged: escapes take
    /// no columns).
    pub fn paint(self, s: &str, on: bool) -> String {
        match on && !s.trim().is_empty() {
            true => format!("\x1b[{}m{s}\x1b[0m", self.code()),
            false => s.to_owned(),
        }
    }
}

/// The colour of a cause's name.
pub fn cause_paint(cause: &str) -> Option<Paint> {
    match cause {
        "kill line" | "counted" => Some(Paint::Dim),
        "write_cache" | "page_cache" => Some(Paint::Yellow),
        "anon" => Some(Paint::Red),
        "shmem" => Some(Paint::Magenta),
        "kernel" => Some(Paint::Cyan),
        "fragmentation" | "constrained" => Some(Paint::Blue),
        "limit_lowered" | "memsw" => Some(Paint::Green),
        "unevictable" => Some(Paint::Magenta),
        "hugetlb" => Some(Paint::Blue),
        "unknown" | "manual" => Some(Paint::Dim),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_that_names_a_reason_is_coloured() {
        use crate::model::Cause;
        for c in Cause::ALL.into_iter().filter(|c| c.names_a_reason()) {
            assert!(
                !matches!(cause_paint(c.as_str()), None | Some(Paint::Dim)),
                "{}",
                c.as_str()
            );
        }
    }

    #[test]
    fn cuts_keep_within_width() {
        for w in 0..30 {
            for s in [
                "kube-system/coredns-5d78c9869d-abcde/coredns",
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3f1c.slice/cri-containerd-0c1f.scope",
                "日本語のプロセス名です",
                "a",
                "",
            ] {
                assert!(width(&cut_end(s, w)) <= w, "{s:?} {w}");
                assert!(width(&cut_middle(s, w)) <= w, "{s:?} {w}");
                assert!(width(&cut_path(s, w)) <= w, "{s:?} {w}");
            }
        }
        assert_eq!(
            cut_middle("kube-system/coredns-5d78c9869d-abcde/coredns", 21),
            "kube-syste…de/coredns"
        );
        assert_eq!(
            cut_path("/process_api/96530/oomctl-lab-7528/multi", 24),
            "…/oomctl-lab-7528/multi"
        );
        assert_eq!(cut_path("/a/averyveryverylongleafname", 10), "avery…name");
        assert_eq!(cut_end("python3", 4), "pyt…");
        assert_eq!(width("日本"), 4);
        assert_eq!(cut_end("日本語", 5), "日本…");
    }

    #[test]
    fn wrap_never_exceeds_width() {
        let text = "1 episode (1 memcg), 0 incomplete, in 1 file; 3 duplicate reports skipped \
                    (second captures: same host, boot, time, cgroups and victims); /a/very/long/path/that/has/no/blanks/at/all/anywhere 0 malformed lines";
        for w in 1..100 {
            let lines = wrap(text, w, "  ");
            assert!(lines.iter().all(|l| width(l) <= w.max(3)), "{w}: {lines:?}");
            let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
            let want: String = text.chars().filter(|c| *c != ' ').collect();
            assert_eq!(joined, want, "{w}");
        }
        assert_eq!(wrap("a bb ccc", 4, ""), ["a bb", "ccc"]);
        assert_eq!(wrap("shmem 0 B), by", 12, ""), ["shmem 0 B),", "by"]);
        assert_eq!(wrap("held 39.8 MiB of it", 10, ""), ["held", "39.8 MiB", "of it"]);
        assert_eq!(
            wrap("/system.slice/celery-worker.service", 20, ""),
            ["/system.slice/", "celery-worker.", "service"]
        );
        assert_eq!(wrap("", 10, ""), [""]);
        // A list of flags breaks after a `|`, never inside `__GFP`.
        assert_eq!(
            wrap("gfp_mask=0x101c4a(GFP_NOFS|__GFP_HIGHMEM|__GFP_WRITE)", 40, ""),
            ["gfp_mask=0x101c4a(GFP_NOFS|", "__GFP_HIGHMEM|__GFP_WRITE)"]
        );
    }

    #[test]
    fn compact_bytes_fits_five_columns() {
        assert_eq!(compact_bytes(0), "0B");
        assert_eq!(compact_bytes(1023), "1023B");
        assert_eq!(compact_bytes(1024), "1.0K");
        assert_eq!(compact_bytes(48 << 20), "48M");
        assert_eq!(compact_bytes((3 << 29) + 1), "1.5G");
        assert_eq!(compact_bytes((1 << 30) - 1), "1.0G");
        assert_eq!(compact_bytes(u64::MAX), "16384P");
        let mut b = 1u64;
        while b < u64::MAX / 3 {
            assert!(compact_bytes(b).len() <= 5 || b >= 1 << 60, "{b} {}", compact_bytes(b));
            b = b * 3 + 1;
        }
    }

    #[test]
    fn compact_time_forms() {
        let mut t = Time {
            wall: Some(crate::model::Text::new("2026-11-22T10:00:20.123+01:00")),
            ..Time::default()
        };
        assert_eq!(compact_time(&t), "11-22 10:00:20");
        t.wall = None;
        t.uptime_s = Some(4901.830394);
        assert_eq!(compact_time(&t), "4901.830s");
        t.uptime_s = None;
        assert_eq!(compact_time(&t), "-");
        for (raw, want) in [
            ("Nov 30 10:16:32", "11-30 10:16:32"),
            ("Feb  4 16:15:15", "02-04 16:15:15"),
            ("Feb 4 16:15:15", "02-04 16:15:15"),
            ("Foo 4 16:15:15", "Foo 4 16:15:15"),
            ("Feb 44 16:15:15", "Feb 44 16:15:…"),
        ] {
            t.wall_raw = Some(crate::model::Text::new(raw));
            assert_eq!(compact_time(&t), want, "{raw}");
        }
    }

    #[test]
    fn pod_and_container_both_show() {
        let w = Workload::Parts("pod 3f1c9a2e".into(), "0c1f5e8d2a7b".into());
        assert_eq!(w.fit(40), "pod 3f1c9a2e/0c1f5e8d2a7b");
        assert_eq!(w.fit(20), "pod …9a2e/0c1f5e8d2…");
        for n in 0..30 {
            assert!(width(&w.fit(n)) <= n, "{n}");
        }
    }
}
