//! `jsonl` and `json` sinks: the episode objects of [`crate::model`],
//! serialized by serde (field order is the struct order, so output is
//! byte-stable). The `json` document is streamed, not built in memory.

use super::{Sink, Summary};
use crate::model::Episode;
use std::io::{self, Write};

/// One episode object per line.
pub struct JsonlSink<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> JsonlSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonlSink { out }
    }
}

impl Sink for JsonlSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, ep)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}

/// `{"episodes":[…],"summary":{…}}`, episodes written as they come.
pub struct JsonSink<'w> {
    out: Box<dyn Write + 'w>,
    first: bool,
}

impl<'w> JsonSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonSink { out, first: true }
    }
}

impl Sink for JsonSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"{\"episodes\":[\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, ep)?;
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"{\"episodes\":[" } else { b"\n" })?;
        self.out.write_all(b"],\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}
