//! `oomctl simulate`'s own sink: one row per episode with what the guard
//! would have done (table or CSV). The other formats carry the episode's
//! `guard` themselves; the sweep is in `sweep.rs`.

use super::{Sink, Summary};
use crate::guard::GuardOutcome;
use crate::model::Episode;
use crate::units::{human_bytes, limit_text};
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

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

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

/// Per-episode simulation as a table (`csv: false`) or CSV. CSV rows
/// stream; table rows are kept for one page (`table::PAGE`) at a time.
pub struct GuardSink<'w> {
    out: Box<dyn Write + 'w>,
    csv: Option<csv::Writer<Vec<u8>>>,
    rows: Vec<[String; 6]>,
    /// Episodes with a memcg limit, and those where the guard acted.
    limited: u64,
    acted: u64,
}

impl<'w> GuardSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, csv: bool) -> Self {
        let csv = csv.then(|| {
            let mut w = csv::Writer::from_writer(Vec::new());
            // Into memory: cannot fail. Written out with the first rows.
            let _ = w.write_record(GUARD_HEADER);
            w
        });
        GuardSink {
            out,
            csv,
            rows: Vec::new(),
            limited: 0,
            acted: 0,
        }
    }

    /// Move what the CSV writer holds to the output.
    fn drain_csv(&mut self) -> io::Result<()> {
        if let Some(w) = self.csv.take() {
            let buf = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
            self.out.write_all(&buf)?;
            self.csv = Some(csv::Writer::from_writer(Vec::new()));
        }
        Ok(())
    }
}

const TABLE_HEADER: [&str; 6] = [
    "source",
    "usage / limit",
    "threshold",
    "guard",
    "guard's victim",
    "kernel's victim",
];

/// The table row of a CSV row.
fn table_row(r: &[String; 18]) -> [String; 6] {
    let size = |v: &str| v.parse().map_or("?".to_owned(), human_bytes);
    let limit = limit_text(r[4].parse().ok(), r[17] == "true");
    let guard = match (r[8].as_str(), r[9].as_str(), r[10].as_str()) {
        ("false", _, _) => "not fired".to_owned(),
        (_, "true", _) => "held back (cache)".to_owned(),
        (_, _, a) => a.to_owned(),
    };
    let victim = |pid: &str, comm: &str| {
        if pid.is_empty() {
            "-".to_owned()
        } else {
            format!("{pid} {comm}")
        }
    };
    [
        format!("{}:{}", r[0], r[1]),
        format!("{} / {limit}", size(&r[3])),
        size(&r[7]),
        guard,
        victim(&r[11], &r[12]),
        victim(&r[14], &r[15]),
    ]
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
        self.rows.push(table_row(&r));
        if self.rows.len() >= super::table::PAGE {
            super::table::write_page(&mut self.out, TABLE_HEADER, &mut self.rows)?;
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        if self.csv.is_some() {
            self.drain_csv()?;
            return self.out.flush();
        }
        super::table::write_page(&mut self.out, TABLE_HEADER, &mut self.rows)?;
        writeln!(
            self.out,
            "{}, {} with a memcg limit; the guard would have acted first in {}",
            crate::units::count(s.episodes, "episode"),
            self.limited,
            self.acted
        )?;
        self.out.flush()
    }
}
