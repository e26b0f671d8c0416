//! `oomctl simulate`'s own sink: one row per episode with what the guard
//! would have done (table or CSV). The other formats carry the episode's
//! `guard` themselves; the sweep is in `sweep.rs`.

use super::cells::{self, compact_bytes, compact_time, cut_end, pad, pad_left, Paint, Style};
use super::csv::opt;
use super::{Sink, Summary};
use crate::guard::GuardOutcome;
use crate::model::Episode;
use std::io::{self, Write};

/// CSV columns of the per-episode simulation (stable; append only).
pub const GUARD_HEADER: [&str; 18] = [
    "file",
    "first_line",
    "memcg_path",
    "usage_bytes",
    "limit_bytes",
    "policy",
    "margin_bytes",
    "threshold_bytes",
    "fired",
    "held_back",
    "action",
    "victim_pid",
    "victim_comm",
    "killed_pids",
    "kernel_victim_pid",
    "kernel_victim_comm",
    "same_victim",
    "unlimited",
];

fn row(ep: &Episode, g: &GuardOutcome) -> [String; 18] {
    let m = ep.memcg.as_ref();
    [
        super::csv::text_cell(&ep.source.file),
        ep.source.first_line.to_string(),
        super::csv::text_cell(m.and_then(|m| m.path.as_deref()).unwrap_or("")),
        opt(m.and_then(|m| m.usage_bytes)),
        opt(m.and_then(|m| m.limit_bytes)),
        g.policy.as_str().to_owned(),
        opt(g.margin_bytes),
        opt(g.threshold_bytes),
        g.fired.to_string(),
        g.held_back.to_string(),
        g.action.to_string(),
        opt(g.victim.as_ref().map(|v| v.pid)),
        super::csv::text_cell(g.victim.as_ref().map_or("", |v| v.comm.as_str())),
        g.killed.iter().map(|k| k.pid.to_string()).collect::<Vec<_>>().join(" "),
        opt(g.kernel_victim.as_ref().map(|v| v.pid)),
        super::csv::text_cell(g.kernel_victim.as_ref().map_or("", |v| v.comm.as_str())),
        opt(g.same_victim),
        m.is_some_and(|m| m.unlimited).to_string(),
    ]
}

/// Per-episode simulation as a table (`csv: false`) or CSV, a line per
/// episode as it comes.
pub struct GuardSink<'w> {
    out: Box<dyn Write + 'w>,
    csv: Option<csv::Writer<Vec<u8>>>,
    style: Style,
    header_written: bool,
    /// Episodes with a memcg limit, and those where the guard acted.
    limited: u64,
    acted: u64,
}

impl<'w> GuardSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, csv: bool, style: Style) -> Self {
        let csv = csv.then(|| {
            let mut w = csv::Writer::from_writer(Vec::new());
            // Into memory: cannot fail. Written out with the first rows.
            let _ = w.write_record(GUARD_HEADER);
            w
        });
        GuardSink {
            out,
            csv,
            style,
            header_written: false,
            limited: 0,
            acted: 0,
        }
    }

    /// Move what the CSV writer holds to the output.
    fn drain_csv(&mut self) -> io::Result<()> {
        super::csv::drain(&mut self.csv, &mut *self.out)
    }
}

const TIME: usize = 14;
const SIZE: usize = 5;
/// `not fired`, `held back`, `kill proc`, `kill cont`.
const GUARD: usize = 9;

/// Widths of the flexible columns (workload, the guard's victim, the
/// kernel's) in a terminal `width` wide; the fixed ones are time, usage,
/// limit, threshold and the guard's action.
fn flex(width: usize) -> [usize; 3] {
    let fixed = TIME + 3 * SIZE + GUARD + 7;
    let room = width.saturating_sub(fixed).max(6);
    let victim = (room / 4).clamp(2, 20);
    [room - 2 * victim, victim, victim]
}

/// The line of one episode: when, where, the numbers, what the guard
/// did and whom it chose against the kernel's victim.
fn table_line(ep: &Episode, g: &GuardOutcome, style: Style) -> String {
    let [w, gv, kv] = flex(style.width);
    let m = ep.memcg.as_ref();
    let size = |b: Option<u64>| b.map_or("?".to_owned(), compact_bytes);
    let limit = match m {
        Some(m) if m.unlimited => "∞".to_owned(),
        m => size(m.and_then(|m| m.limit_bytes)),
    };
    let guard = match (g.fired, g.held_back, g.action.as_str()) {
        (false, _, _) => "not fired".to_owned(),
        (_, true, _) => "held back".to_owned(),
        (_, _, "kill_process") => "kill proc".to_owned(),
        (_, _, "kill_container") => "kill cont".to_owned(),
        (_, _, a) => a.to_owned(),
    };
    let guard = match g.action.as_str() {
        "kill_process" | "kill_container" if g.fired && !g.held_back => {
            Paint::Red.paint(&pad(&guard, GUARD), style.color)
        }
        _ => pad(&guard, GUARD),
    };
    let name = |p: Option<&crate::model::Proc>| p.map_or("-".to_owned(), |p| p.comm.to_string());
    let kernel = match g.same_victim {
        Some(true) => "(same)".to_owned(),
        _ => name(g.kernel_victim.as_ref()),
    };
    [
        pad(&compact_time(&ep.time), TIME),
        pad(&cells::workload(ep).fit(w), w),
        pad_left(&size(m.and_then(|m| m.usage_bytes)), SIZE),
        pad_left(&limit, SIZE),
        pad_left(&size(g.threshold_bytes), SIZE),
        guard,
        pad(&cut_end(&name(g.victim.as_ref()), gv), gv),
        cut_end(&kernel, kv),
    ]
    .join(" ")
}

fn table_header(style: Style) -> String {
    let [w, gv, kv] = flex(style.width);
    [
        pad("TIME", TIME),
        pad(&cut_end("WORKLOAD", w), w),
        pad_left("USED", SIZE),
        pad_left("LIMIT", SIZE),
        pad_left("THRSH", SIZE),
        pad("GUARD", GUARD),
        pad(&cut_end("ITS VICTIM", gv), gv),
        cut_end("KERNEL'S", kv),
    ]
    .join(" ")
}

impl Sink for GuardSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        let Some(g) = &ep.guard else { return Ok(()) };
        let r = row(ep, g);
        self.limited += u64::from(!r[7].is_empty());
        self.acted += u64::from(r[10] != "none");
        if let Some(w) = &mut self.csv {
            w.write_record(&r)?;
            if w.get_ref().len() < 1 << 16 {
                return Ok(());
            }
            return self.drain_csv();
        }
        if !self.header_written {
            self.header_written = true;
            let h = table_header(self.style);
            writeln!(self.out, "{}", Paint::Bold.paint(&h, self.style.color))?;
        }
        let line = table_line(ep, g, self.style);
        writeln!(self.out, "{}", line.trim_end())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        if self.csv.is_some() {
            self.drain_csv()?;
            return self.out.flush();
        }
        let line = format!(
            "{}, {} with a memcg limit; the guard would have acted first in {}",
            crate::units::count(s.episodes, "episode"),
            self.limited,
            self.acted
        );
        for l in cells::wrap(&line, self.style.width, "") {
            writeln!(self.out, "{l}")?;
        }
        self.out.flush()
    }
}
