//! The order `analyze` reads its inputs in: oldest first, whatever order
//! the paths were given in (a glob gives `kern.log kern.log.1
//! kern.log.2.gz`, newest first). Each file's span of wall time is read
//! cheaply, before any scan: its first stamped line from the head, its last
//! one from the tail (a plain file is seeked to its end; a gzip file has no
//! end to seek to, so it is decompressed once, keeping only a window of
//! its tail). Inputs whose spans overlap (logs of several hosts, or a
//! syslog and a journal of one host) form a group whose episodes the
//! emitter merges by wall time; groups follow each other in time.
//!
//! Inputs with no wall time to go by (uptime-only dmesg, standard input,
//! which cannot be read twice, recordings) come first, in the order given:
//! no order between them can be known.

use crate::envelope::{Container, Decoder, LogLine};
use crate::input::Input;
use chrono::NaiveDateTime;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Bytes read at each end of a file to find its first and last stamp.
pub const PROBE: usize = 256 << 10;

/// The wall time an input spans: its first and its last stamped line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: NaiveDateTime,
    pub last: NaiveDateTime,
}

/// What to emit in turn: one input alone, or several whose spans overlap,
/// merged by wall time. Indices into the inputs; a group is in the order
/// its members begin.
pub type Plan = Vec<Vec<usize>>;

/// Read the span of every input (None where it has no wall time to go by,
/// or cannot be read: its scan will say why).
pub fn spans(inputs: &[Input], container: Container, assume_year: Option<i32>) -> Vec<Option<Span>> {
    inputs
        .iter()
        .map(|i| match i {
            Input::Stdin => None,
            // Only regular files: opening a pipe (`<(zcat …)`) to look
            // would take what its writer sends, or end it.
            Input::File(p) if std::fs::metadata(p).is_ok_and(|m| m.is_file()) => File::open(p)
                .ok()
                .and_then(|f| span_of(f, container, assume_year).ok().flatten()),
            Input::File(_) => None,
        })
        .collect()
}

/// The span of one file.
fn span_of(mut f: File, container: Container, assume_year: Option<i32>) -> io::Result<Option<Span>> {
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mtime_s = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    let decoder = || Decoder::new(container, assume_year).with_mtime(mtime_s);
    let mut head = Vec::with_capacity(PROBE.min(meta.len() as usize));
    (&mut f).take(PROBE as u64).read_to_end(&mut head)?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let mut unzipped = None;
    if gzip {
        f.seek(SeekFrom::Start(0))?;
        let mut r = flate2::read::MultiGzDecoder::new(io::BufReader::new(&f));
        head.clear();
        (&mut r).take(PROBE as u64).read_to_end(&mut head)?;
        unzipped = Some(r);
    }
    // A head without a wall clock (uptime-only dmesg) has no span: its
    // tail is not read, nor a gzip file decompressed to its end.
    let Some(first) = first_wall(&head, decoder()) else {
        return Ok(None);
    };
    let last = match unzipped {
        Some(r) => {
            let (tail, cut) = gzip_tail(r, head)?;
            last_wall(&tail, cut, decoder())
        }
        None if meta.len() > PROBE as u64 => {
            let mut f = &f;
            f.seek(SeekFrom::Start(meta.len() - PROBE as u64))?;
            let mut tail = Vec::with_capacity(PROBE);
            f.take(PROBE as u64).read_to_end(&mut tail)?;
            last_wall(&tail, true, decoder())
        }
        None => last_wall(&head, false, decoder()),
    };
    Ok(Some(Span {
        first,
        last: last.map_or(first, |l| l.max(first)),
    }))
}

/// The rest of a gzip stream read to its end, keeping its last `PROBE`
/// bytes or more (from `head`, the part read already), and whether they
/// start inside a line.
fn gzip_tail(mut r: impl Read, head: Vec<u8>) -> io::Result<(Vec<u8>, bool)> {
    let mut tail = head;
    let mut cut = false;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * PROBE {
            tail.drain(..tail.len() - PROBE);
            cut = true;
        }
    }
    Ok((tail, cut))
}

/// The wall time of the first stamped line of `buf` (a file's head).
fn first_wall(buf: &[u8], mut d: Decoder) -> Option<NaiveDateTime> {
    let mut out: Vec<LogLine<'_>> = Vec::new();
    for line in buf.split(|&b| b == b'\n') {
        out.clear();
        d.decode(line, &mut out);
        if let Some(t) = out.iter().find_map(wall) {
            return Some(t);
        }
    }
    None
}

/// The wall time of the last stamped line of `buf` (a file's tail; `cut`:
/// its first line is a piece of one, skipped).
fn last_wall(buf: &[u8], cut: bool, mut d: Decoder) -> Option<NaiveDateTime> {
    let mut out: Vec<LogLine<'_>> = Vec::new();
    let mut last = None;
    for line in buf.split(|&b| b == b'\n').skip(usize::from(cut)) {
        out.clear();
        d.decode(line, &mut out);
        if let Some(t) = out.iter().rev().find_map(wall) {
            last = Some(t);
        }
    }
    last
}

fn wall(l: &LogLine<'_>) -> Option<NaiveDateTime> {
    crate::filter::wall_time(l.stamp.wall.as_deref()?)
}

/// The plan for inputs with these spans: those without a span first, each
/// alone, in the order given; then the rest by first stamp (ties in the
/// order given), those that overlap the group before them joining it.
/// Spans that only touch (one ends in the second the next begins, as
/// rotated logs do) do not overlap.
pub fn plan(spans: &[Option<Span>]) -> Plan {
    let mut plan: Plan = Vec::new();
    let mut timed: Vec<(Span, usize)> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s {
            Some(s) => timed.push((*s, i)),
            None => plan.push(vec![i]),
        }
    }
    timed.sort_by_key(|(s, i)| (s.first, *i));
    let mut end: Option<NaiveDateTime> = None;
    let mut group: Vec<usize> = Vec::new();
    for (s, i) in timed {
        if end.is_some_and(|e| s.first < e) {
            group.push(i);
        } else {
            if !group.is_empty() {
                plan.push(std::mem::take(&mut group));
            }
            group.push(i);
        }
        end = Some(end.map_or(s.last, |e| e.max(s.last)));
    }
    if !group.is_empty() {
        plan.push(group);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: &str, b: &str) -> Option<Span> {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Some(Span {
            first: t(a),
            last: t(b),
        })
    }

    #[test]
    fn rotated_logs_come_oldest_first_and_touching_spans_stay_apart() {
        // kern.log kern.log.1 kern.log.2.gz, as a glob gives them.
        let spans = [
            span("2026-11-22 00:00", "2026-11-22 23:59"),
            span("2026-11-21 00:00", "2026-11-22 00:00"),
            span("2026-11-20 00:00", "2026-11-20 23:59"),
        ];
        assert_eq!(plan(&spans), [vec![2], vec![1], vec![0]]);
    }

    #[test]
    fn overlapping_spans_merge_and_timeless_inputs_lead_in_given_order() {
        let spans = [
            span("2026-11-22 10:00", "2026-11-22 12:00"),
            None,
            span("2026-11-22 09:00", "2026-11-22 10:30"),
            span("2026-11-22 12:00", "2026-11-22 13:00"),
            None,
            span("2026-11-22 11:00", "2026-11-22 11:30"),
        ];
        assert_eq!(plan(&spans), [vec![1], vec![4], vec![2, 0, 5], vec![3]]);
        assert_eq!(plan(&[]), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn a_files_span_is_read_from_its_two_ends() {
        let dir = std::env::temp_dir().join(format!("oomctl-order-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut log = String::from("2026-11-22T10:00:00+0000 h kernel: first\n");
        while log.len() < 3 * PROBE {
            log += "2026-11-22T10:30:00+0000 h kernel: middle\n";
        }
        log += "2026-11-22T11:00:00+0000 h kernel: last\n[ 5.0] no wall time\n";
        let plain = dir.join("kern.log");
        std::fs::write(&plain, &log).unwrap();
        let gz = dir.join("kern.log.2.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, log.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let uptime = dir.join("dmesg");
        std::fs::write(&uptime, "[ 5.0] Out of memory\n").unwrap();
        let inputs = [Input::File(plain), Input::File(gz), Input::File(uptime), Input::Stdin];
        let got = spans(&inputs, Container::Auto, None);
        let want = span("2026-11-22 10:00", "2026-11-22 11:00");
        assert_eq!(got, [want, want, None, None]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
