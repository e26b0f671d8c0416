//! `csv` sink: one row per episode, the main fields flattened (the first
//! victim in its own columns, all victims' pids in one). Text cells that a
//! spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) are
//! prefixed with `'`; numeric cells are left as numbers. A memcg at no
//! limit has an empty `limit_bytes` and `unlimited` true, as in JSON, so
//! the column stays numeric for a spreadsheet or a typed reader.

use super::{Sink, Summary};
use crate::model::{Episode, Killer};
use std::io::{self, Write};

/// Column names, in order (stable; documented in README).
pub const HEADER: [&str; 48] = [
    "file",
    "first_line",
    "last_line",
    "uptime_s",
    "wall",
    "host",
    "kernel",
    "scope",
    "manual",
    "constraint",
    "complete",
    "trigger_comm",
    "trigger_pid",
    "gfp_mask",
    "order",
    "oom_score_adj",
    "memcg_path",
    "usage_bytes",
    "limit_bytes",
    "failcnt",
    "task_memcg",
    "victims",
    "victim_pids",
    "victim_pid",
    "victim_comm",
    "victim_total_vm_bytes",
    "victim_anon_rss_bytes",
    "victim_file_rss_bytes",
    "victim_shmem_rss_bytes",
    "tasks",
    "group_kill",
    "no_killable",
    "panic",
    "killer",
    "cause",
    "summary",
    "pod_uid",
    "qos",
    "namespace",
    "pod",
    "container_name",
    "container_id",
    "runtime",
    "unit",
    "printed",
    "unlimited",
    "wall_year",
    "filesystem",
];

pub struct CsvSink<'w> {
    w: csv::Writer<Box<dyn Write + 'w>>,
    header: bool,
}

impl<'w> CsvSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        CsvSink {
            w: csv::Writer::from_writer(out),
            header: false,
        }
    }
}

/// A text cell that cannot start a formula.
pub fn text_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// Move what an in-memory CSV writer holds to `out`, and start it afresh
/// (the writers of `simulate`, which build rows in memory and write them
/// out in blocks).
pub(super) fn drain(w: &mut Option<csv::Writer<Vec<u8>>>, out: &mut dyn Write) -> io::Result<()> {
    if let Some(full) = w.take() {
        let buf = full.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
        out.write_all(&buf)?;
        *w = Some(csv::Writer::from_writer(Vec::new()));
    }
    Ok(())
}

/// A cell of an optional value: empty for none.
pub(super) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn opt_text(v: Option<&str>) -> String {
    v.map_or(String::new(), text_cell)
}

impl Sink for CsvSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        if !self.header {
            self.w.write_record(HEADER)?;
            self.header = true;
        }
        let t = ep.trigger.as_ref();
        let m = ep.memcg.as_ref();
        let v = ep.victims.first();
        let pids: Vec<String> = ep.victims.iter().map(|v| v.pid.to_string()).collect();
        let k = ep.k8s.as_ref();
        let c = ep.container.as_ref();
        let d = ep.diagnosis.as_ref();
        let row: [String; 48] = [
            text_cell(&ep.source.file),
            ep.source.first_line.to_string(),
            ep.source.last_line.to_string(),
            opt(ep.time.uptime_s),
            opt_text(ep.time.wall.as_deref()),
            opt_text(ep.host.as_deref()),
            opt_text(ep.kernel.as_deref()),
            opt(ep.scope.map(|s| s.as_str())),
            ep.manual.to_string(),
            opt_text(ep.constraint.as_deref()),
            ep.complete.to_string(),
            opt_text(t.and_then(|t| t.comm.as_deref())),
            opt(t.and_then(|t| t.pid)),
            opt_text(t.and_then(|t| t.gfp_mask.as_deref())),
            opt(t.and_then(|t| t.order)),
            opt(t.and_then(|t| t.oom_score_adj)),
            opt_text(m.and_then(|m| m.path.as_deref())),
            opt(m.and_then(|m| m.usage_bytes)),
            opt(m.and_then(|m| m.limit_bytes)),
            opt(m.and_then(|m| m.failcnt)),
            opt_text(ep.task_memcg.as_deref()),
            ep.victims.len().to_string(),
            pids.join(" "),
            opt(v.map(|v| v.pid)),
            opt_text(v.map(|v| v.comm.as_str())),
            opt(v.and_then(|v| v.total_vm_bytes)),
            opt(v.and_then(|v| v.anon_rss_bytes)),
            opt(v.and_then(|v| v.file_rss_bytes)),
            opt(v.and_then(|v| v.shmem_rss_bytes)),
            ep.tasks.len().to_string(),
            opt_text(ep.group_kill.as_deref()),
            ep.no_killable.to_string(),
            opt_text(ep.panic.as_deref()),
            match ep.killer {
                Killer::Kernel => "kernel".to_owned(),
                Killer::OomGuard => "oom_guard".to_owned(),
            },
            opt(d.map(|d| d.cause.as_str())),
            opt_text(d.map(|d| d.summary.as_str())),
            opt_text(k.map(|k| k.pod_uid.as_str())),
            opt_text(k.and_then(|k| k.qos.as_deref())),
            opt_text(k.and_then(|k| k.namespace.as_deref())),
            opt_text(k.and_then(|k| k.pod.as_deref())),
            opt_text(k.and_then(|k| k.container_name.as_deref())),
            opt_text(c.map(|c| c.id.as_str())),
            opt_text(c.and_then(|c| c.runtime.as_deref())),
            opt_text(ep.unit.as_deref()),
            ep.printed.as_str().to_owned(),
            m.is_some_and(|m| m.unlimited).to_string(),
            opt(ep.time.wall_year.map(|y| y.as_str())),
            opt_text(ep.filesystem.as_deref()),
        ];
        self.w.write_record(&row)?;
        Ok(())
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        if !self.header {
            self.w.write_record(HEADER)?;
        }
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_injection_guard() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("-cmd"), "'-cmd");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("java"), "java");
    }
}
