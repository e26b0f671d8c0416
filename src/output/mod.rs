//! Output sinks: every format is one [`Sink`] that receives finished
//! episodes in order and a [`Summary`] at the end. Sinks write only the
//! requested format to their writer; diagnostics go to stderr elsewhere.
//!
//! Formats (documented in README "Output formats", stable):
//! - `jsonl`: one [`Episode`] object per line;
//! - `json`: one document `{"episodes": [...], "summary": {...}}`;
//! - `csv`: one flattened row per episode, text cells guarded against
//!   spreadsheet formula injection;
//! - `table`: a human table and a summary line;
//! - `report`: a full human report per episode (cause, numbers, chart,
//!   top tasks, advice);
//! - `events`: one tab-separated line per episode in kubelet's and
//!   node-problem-detector's words;
//! - `otel`: OpenTelemetry-shaped log records, one per line;
//! - `prom`: Prometheus text exposition of the metrics families;
//! - `html`: one self-contained page (inline CSS and SVG, no script).
//!
//! With `--group-by`, [`GroupSink`] counts episodes per group instead and
//! writes one row per group (table, jsonl, json, csv).

mod cells;
mod csv;
mod events;
mod group;
mod guard;
mod html;
mod json;
mod jsonw;
mod otel;
mod report;
mod sweep;
mod table;
pub mod timeline;

use crate::model::Episode;
pub use crate::model::Summary;
use std::io::{self, Write};

pub use self::cells::{width as display_width, Style};
pub use self::csv::CsvSink;
pub use self::group::{GroupBy, GroupFormat, GroupKey, GroupSink};
pub use self::guard::{GuardSink, GUARD_HEADER};
pub use self::html::HtmlSink;
pub use self::json::{JsonSink, JsonlSink};
pub use self::otel::PromSink;
pub use self::report::ReportSink;
pub use self::sweep::{Sweep, SweepFormat, SweepRow, SweepSink, SWEPT_POLICIES};
pub use self::table::TableSink;

/// Output format of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    Report,
    Events,
    Otel,
    Prom,
    Html,
}

impl Format {
    /// Every format, for the tests that hold them all to one rule.
    pub const ALL: [Format; 9] = [
        Format::Table,
        Format::Json,
        Format::Jsonl,
        Format::Csv,
        Format::Report,
        Format::Events,
        Format::Otel,
        Format::Prom,
        Format::Html,
    ];

    /// True when the format separates fields with tabs (`events`).
    pub fn uses_tab(self) -> bool {
        self == Format::Events
    }
}

/// A destination for episodes in one format.
pub trait Sink {
    /// One finished episode.
    fn episode(&mut self, ep: &Episode) -> io::Result<()>;
    /// How this sink writes one episode, when what it writes for it depends
    /// on no other episode and on nothing the sink keeps: then a parallel
    /// run renders each episode on the thread that built it, and hands the
    /// bytes to [`Sink::rendered`] in order. None (the default): the
    /// episode itself goes to the sink, on the thread that writes.
    fn renderer(&self) -> Option<Renderer> {
        None
    }
    /// Write the bytes [`Sink::renderer`]'s function made for one episode,
    /// as [`Sink::episode`] would have written that episode.
    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        let _ = bytes;
        Err(io::Error::other("this output format renders no episode on its own"))
    }
    /// The end of the run.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
    /// Push out what was written so far (live commands call this after
    /// every episode).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders one episode into a buffer, as a sink would write it.
pub type Renderer = fn(&Episode, &mut Vec<u8>) -> io::Result<()>;

/// A sink that writes each episode as a line of its own, rendered by
/// `line` (`events`, `otel`), and nothing at the end.
pub struct LineSink<'w> {
    out: Box<dyn Write + 'w>,
    line: Renderer,
}

impl<'w> LineSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, line: Renderer) -> Self {
        LineSink { out, line }
    }
}

impl Sink for LineSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        let mut buf = Vec::new();
        (self.line)(ep, &mut buf)?;
        self.out.write_all(&buf)
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(self.line)
    }

    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}

/// The sink for `format` writing to `out`; the human formats draw in `style`.
pub fn sink<'w>(format: Format, out: Box<dyn Write + 'w>, style: Style) -> Box<dyn Sink + 'w> {
    match format {
        Format::Jsonl => Box::new(JsonlSink::new(out)),
        Format::Json => Box::new(JsonSink::new(out)),
        Format::Csv => Box::new(CsvSink::new(out)),
        Format::Table => Box::new(TableSink::new(out, style)),
        Format::Report => Box::new(ReportSink::new(out, style)),
        Format::Events => Box::new(LineSink::new(out, events::event_line)),
        Format::Otel => Box::new(LineSink::new(out, otel::otel_line)),
        Format::Prom => Box::new(PromSink::new(out)),
        Format::Html => Box::new(HtmlSink::new(out)),
    }
}

/// A writer for diagnostics that passes every line through the text gate
/// ([`crate::model::Text`]) before it reaches the terminal: warnings quote
/// file names found on disk, and errors quote parsers' messages about
/// input bytes. Lines are written whole, each when its newline comes.
pub struct SafeLines<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> SafeLines<W> {
    pub fn new(inner: W) -> SafeLines<W> {
        SafeLines {
            inner,
            line: Vec::new(),
        }
    }

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let text = crate::model::Text::new(&String::from_utf8_lossy(line));
        self.inner.write_all(text.as_bytes())
    }
}

impl<W: Write> Write for SafeLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            if self.line.is_empty() {
                self.write_line(&rest[..i])?;
            } else {
                self.line.extend_from_slice(&rest[..i]);
                let line = std::mem::take(&mut self.line);
                self.write_line(&line)?;
            }
            self.inner.write_all(b"\n")?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.write_line(&line)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for SafeLines<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// What de-duplication skipped, and why, for the human formats' last line.
pub fn duplicates_phrase(s: &Summary) -> String {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let mut parts = Vec::new();
    if s.duplicates > 0 {
        parts.push(format!(
            "{} duplicate report{} skipped (second captures: same host, boot, time, cgroups and victims)",
            s.duplicates,
            plural(s.duplicates)
        ));
    }
    if s.duplicate_lines > 0 {
        parts.push(format!(
            "{} line{} captured twice read once",
            s.duplicate_lines,
            plural(s.duplicate_lines)
        ));
    }
    if parts.is_empty() {
        "no duplicates".to_owned()
    } else {
        parts.join(", ")
    }
}
