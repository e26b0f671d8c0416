//! How group rows are drawn: the table (as wide as the terminal, never
//! wider, cut with the terminal helpers of `cells`) and the CSV rows.

use super::super::cells::{
    self, compact_bytes, compact_time, cut_end, cut_middle, cut_path, pad, pad_left, Paint, Style,
};
use super::super::csv::text_cell;
use super::super::Summary;
use super::{GroupKey, GROUPS_MAX};
use crate::model::{GroupRow, GroupTime, Time};
use std::io;

/// `anon=3 page_cache=1`, the most first.
pub(in crate::output) fn causes_text(row: &GroupRow, sep: &str, eq: &str) -> String {
    let mut c: Vec<(&String, &u64)> = row.causes.iter().collect();
    c.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let parts: Vec<String> = c
        .iter()
        .map(|(c, n)| match eq {
            "=" => format!("{c}={n}"),
            _ => format!("{n}{eq}{c}"),
        })
        .collect();
    parts.join(sep)
}

/// CSV columns after the keys (stable; README "Grouping").
pub const CSV_COLUMNS: [&str; 12] = [
    "episodes",
    "first_wall",
    "first_uptime_s",
    "last_wall",
    "last_uptime_s",
    "causes",
    "victim",
    "victim_kills",
    "peak_usage_bytes",
    "limit_bytes",
    "unlimited",
    "rest",
];

pub(super) fn write_csv(buf: &mut Vec<u8>, keys: &[GroupKey], rows: &[GroupRow]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(buf);
    let header: Vec<&str> = keys.iter().map(|k| k.as_str()).chain(CSV_COLUMNS).collect();
    w.write_record(&header)?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in rows {
        let mut rec: Vec<String> = keys
            .iter()
            .map(|k| {
                r.key
                    .get(k.as_str())
                    .cloned()
                    .flatten()
                    .map_or(String::new(), |t| text_cell(&t))
            })
            .collect();
        rec.extend([
            r.episodes.to_string(),
            opt(r.first.wall.as_deref().map(text_cell)),
            opt(r.first.uptime_s.map(|u| u.to_string())),
            opt(r.last.wall.as_deref().map(text_cell)),
            opt(r.last.uptime_s.map(|u| u.to_string())),
            causes_text(r, " ", "="),
            opt(r.victim.as_ref().map(|v| text_cell(&v.comm))),
            opt(r.victim.as_ref().map(|v| v.kills.to_string())),
            opt(r.peak_usage_bytes.map(|b| b.to_string())),
            opt(r.limit_bytes.map(|b| b.to_string())),
            r.unlimited.to_string(),
            r.rest.to_string(),
        ]);
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Fixed columns of the table: episodes, two times, two sizes.
const COUNT: usize = 6;
const TIME: usize = 14;
const SIZE: usize = 5;
/// From this width the first and last times show; below [`SIZES_FROM`]
/// neither they nor the sizes.
const TIMES_FROM: usize = 110;
const SIZES_FROM: usize = 70;

/// The table's lines, none wider than `style.width`.
pub(super) fn table(
    rows: &[GroupRow],
    keys: &[GroupKey],
    style: Style,
    dropped: (usize, u64),
    s: &Summary,
) -> Vec<String> {
    let width = style.width;
    let times = width >= TIMES_FROM;
    let sizes = width >= SIZES_FROM;
    let mut fixed = COUNT + 1;
    if times {
        fixed += 2 * (TIME + 1);
    }
    if sizes {
        fixed += 2 * (SIZE + 1);
    }
    // Every key column and the victim with the blank after it; the causes last.
    let flex = width.saturating_sub(fixed + keys.len() + 1);
    let causes = (flex * 3 / 10).max(5);
    let victim = (flex / 5).clamp(4, 20);
    let per_key = (flex.saturating_sub(causes + victim) / keys.len().max(1)).clamp(4, 56);
    let line = |key_cells: Vec<String>,
                n: String,
                first: String,
                last: String,
                peak: String,
                limit: String,
                v: String,
                c: String| {
        // The count first: with many keys on a narrow terminal it still shows.
        let mut cells = vec![pad_left(&n, COUNT)];
        cells.extend(key_cells.iter().map(|k| pad(k, per_key)));
        if times {
            cells.extend([pad(&first, TIME), pad(&last, TIME)]);
        }
        if sizes {
            cells.extend([pad_left(&peak, SIZE), pad_left(&limit, SIZE)]);
        }
        cells.push(pad(&cut_end(&v, victim), victim));
        cells.push(c);
        // The causes take what is left; never wider than the terminal.
        cut_end(cells.join(" ").trim_end(), width)
    };
    let mut out = Vec::new();
    let head = line(
        keys.iter()
            .map(|k| cut_end(&k.as_str().to_uppercase(), per_key))
            .collect(),
        "EPIS.".into(),
        "FIRST".into(),
        "LAST".into(),
        "PEAK".into(),
        "LIMIT".into(),
        "VICTIM".into(),
        "CAUSES".into(),
    );
    out.push(Paint::Bold.paint(&head, style.color));
    for r in rows {
        let key_cells = keys
            .iter()
            .map(|k| {
                let v = r.key.get(k.as_str()).cloned().flatten();
                match (r.rest, v) {
                    (true, _) => cut_end("(other groups)", per_key),
                    (false, None) => "-".to_owned(),
                    (false, Some(t)) if *k == GroupKey::Cgroup => cut_path(&t, per_key),
                    (false, Some(t)) => cut_middle(&t, per_key),
                }
            })
            .collect();
        let t = |g: &GroupTime| {
            compact_time(&Time {
                wall: g.wall.clone(),
                uptime_s: g.uptime_s,
                ..Time::default()
            })
        };
        let peak = r.peak_usage_bytes.map_or("-".to_owned(), compact_bytes);
        let limit = match (r.limit_bytes, r.unlimited, r.peak_usage_bytes) {
            (_, true, _) => "∞".to_owned(),
            (Some(l), false, _) => compact_bytes(l),
            (None, false, Some(_)) => "?".to_owned(),
            (None, false, None) => "-".to_owned(),
        };
        let v = r
            .victim
            .as_ref()
            .map_or("-".to_owned(), |v| format!("{} ×{}", v.comm, v.kills));
        out.push(line(
            key_cells,
            r.episodes.to_string(),
            t(&r.first),
            t(&r.last),
            peak,
            limit,
            v,
            causes_text(r, ", ", " "),
        ));
    }
    let groups = rows.iter().filter(|r| !r.rest).count();
    let mut tail = format!(
        "{} episode{} in {} group{}",
        s.episodes,
        if s.episodes == 1 { "" } else { "s" },
        groups + dropped.0,
        if groups + dropped.0 == 1 { "" } else { "s" }
    );
    if dropped.0 > 0 {
        tail.push_str(&format!(
            "; {} shown, {} more with {} episodes left out by --top",
            groups, dropped.0, dropped.1
        ));
    }
    if let Some(r) = rows.iter().find(|r| r.rest) {
        tail.push_str(&format!(
            "; {} episodes of groups past the first {GROUPS_MAX} counted together as (other groups)",
            r.episodes
        ));
    }
    tail.push_str(&format!("; {}", super::super::duplicates_phrase(s)));
    out.push(String::new());
    out.extend(cells::wrap(&tail, width, ""));
    out
}
