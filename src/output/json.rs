//! `jsonl` and `json` sinks: the episode objects of [`crate::model`],
//! serialized by serde (field order is the struct order, so output is
//! byte-stable) through [`jsonw`], which writes what serde_json would.
//! The `json` document is streamed, not built in memory.

use super::{jsonw, Sink, Summary};
use crate::model::Episode;
use std::io::{self, Write};

/// Bytes serialized before they are handed on: serde writes an episode
/// key by key, which into a `Vec` is a copy and through the boxed writer a
/// dynamic call each. Half a MiB a write: writing a dense log's 29 MB of
/// jsonl to a file took ~7 ms less than in 64 KiB writes (400 → 56 calls),
/// for ~0.5 MiB more memory. A live input's quiet flushes what is pending.
const CHUNK: usize = 512 << 10;

/// Serialized output not yet written.
struct Pending<'w> {
    out: Box<dyn Write + 'w>,
    buf: Vec<u8>,
}

impl<'w> Pending<'w> {
    fn new(out: Box<dyn Write + 'w>) -> Self {
        Pending {
            out,
            buf: Vec::with_capacity(CHUNK + (CHUNK >> 2)),
        }
    }

    /// Write what is pending if there is a chunk of it.
    fn maybe_write(&mut self) -> io::Result<()> {
        match self.buf.len() >= CHUNK {
            true => self.write(),
            false => Ok(()),
        }
    }

    fn write(&mut self) -> io::Result<()> {
        let r = self.out.write_all(&self.buf);
        self.buf.clear();
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write()?;
        self.out.flush()
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        // An early return on an error still writes what was made before it.
        let _ = self.write();
    }
}

/// An episode's line of `jsonl`.
fn jsonl_line(ep: &Episode, buf: &mut Vec<u8>) -> io::Result<()> {
    jsonw::write(buf, ep)?;
    buf.push(b'\n');
    Ok(())
}

/// One episode object per line.
pub struct JsonlSink<'w> {
    out: Pending<'w>,
}

impl<'w> JsonlSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonlSink { out: Pending::new(out) }
    }
}

impl Sink for JsonlSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        jsonl_line(ep, &mut self.out.buf)?;
        self.out.maybe_write()
    }

    fn renderer(&self) -> Option<super::Renderer> {
        Some(jsonl_line)
    }

    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.buf.extend_from_slice(bytes);
        self.out.maybe_write()
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}

/// `{"episodes":[…],"summary":{…}}`, episodes written as they come.
pub struct JsonSink<'w> {
    out: Pending<'w>,
    first: bool,
}

impl<'w> JsonSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonSink {
            out: Pending::new(out),
            first: true,
        }
    }

    /// What goes before an episode's object: the array's start, or a comma.
    fn separate(&mut self) {
        let sep: &[u8] = if self.first { b"{\"episodes\":[\n" } else { b",\n" };
        self.out.buf.extend_from_slice(sep);
        self.first = false;
    }
}

/// An episode's object in `json`'s array.
fn json_object(ep: &Episode, buf: &mut Vec<u8>) -> io::Result<()> {
    jsonw::write(buf, ep)?;
    Ok(())
}

impl Sink for JsonSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.separate();
        json_object(ep, &mut self.out.buf)?;
        self.out.maybe_write()
    }

    fn renderer(&self) -> Option<super::Renderer> {
        Some(json_object)
    }

    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.separate();
        self.out.buf.extend_from_slice(bytes);
        self.out.maybe_write()
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let buf = &mut self.out.buf;
        buf.extend_from_slice(if self.first { b"{\"episodes\":[" } else { b"\n" });
        buf.extend_from_slice(b"],\"summary\":");
        jsonw::write(buf, summary)?;
        buf.extend_from_slice(b"}\n");
        self.out.flush()
    }
}
