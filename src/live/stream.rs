//! Live inputs of `analyze`: a pipe (or socket, or terminal) read as its
//! writer writes, and `--follow FILE`, a log file read as `tail -F` reads
//! it. Both are [`Source`]s for the pure scanner: they hand over bytes as
//! they come and, between reads, say when the input stayed quiet, which
//! only this layer can tell (it alone waits with a timeout).
//!
//! The quiet periods are the watch's rule for `/dev/kmsg`: [`GRACE`] after
//! a kill line for the lines that may follow it (oom_reaper, group kills),
//! [`MAX_WAIT`] for a report still waiting for its kill. A pipe's grace is
//! longer than the watch's default, since a pipe's writer (journalctl,
//! kubectl, a shell) may deliver one report in several writes.

use super::sys::{self, PollFd};
use super::watch::MAX_WAIT;
use crate::input::{LiveHooks, Source, Wait, Waited};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Quiet after a kill line before its report is final and printed, and
/// the pause in a live input that ends a block as a file's end does.
pub const GRACE: Duration = Duration::from_millis(500);

/// Longest a live input's bytes are gathered while more keep coming
/// without a pause of [`GRACE`] (a writer that trickles).
pub const HOLD: Duration = Duration::from_secs(1);

/// How often a followed file is looked at while nothing comes.
pub const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// The live sources, for `analyze` (see [`LiveHooks`]).
pub const HOOKS: LiveHooks = LiveHooks {
    pipe: |reader, fd| {
        Box::new(Pipe {
            reader,
            fd,
            clock: Clock::default(),
        })
    },
    follow: |path| Box::new(Follow::new(path)),
};

/// The deadlines of a live input's waits.
#[derive(Default)]
struct Clock {
    /// When the bytes being gathered began to come.
    gathering: Option<Instant>,
}

impl Clock {
    /// Until when to wait for `what`, and what passing it means.
    fn deadline(&mut self, what: Wait) -> (Instant, Waited) {
        let now = Instant::now();
        match what {
            Wait::More { first } => {
                let since = match (first, self.gathering) {
                    (false, Some(t)) => t,
                    _ => now,
                };
                self.gathering = Some(since);
                let hold = since + HOLD;
                match hold < now + GRACE {
                    true => (hold, Waited::Held),
                    false => (now + GRACE, Waited::Quiet),
                }
            }
            Wait::Grace => (now + GRACE, Waited::Quiet),
            Wait::Kill => (now + MAX_WAIT, Waited::Quiet),
        }
    }
}

/// A pipe, socket or terminal: its reader and the descriptor it reads.
struct Pipe {
    reader: Box<dyn Read + Send>,
    fd: i32,
    clock: Clock,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Source for Pipe {
    fn wait(&mut self, what: Wait) -> io::Result<Waited> {
        let (until, passed) = self.clock.deadline(what);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(passed);
            }
            let mut fds = [PollFd::readable(self.fd)];
            // Readable, at its end (POLLHUP) or failed: the read tells.
            // (0 is also a signal's interruption: then wait on.)
            if sys::poll_fds(&mut fds, Some(left))? > 0 {
                return Ok(Waited::Ready);
            }
        }
    }
}

/// A file followed by its path, as `tail -F` does: lines appended are
/// read as they come; when the path names another file (rotated), the old
/// one is read to its end and the new one from its start; when the file
/// shrinks (truncated), it is read again from its start; while the path
/// names nothing (not yet created, or between a rotation's rename and the
/// new file), the old file, if any, stays open and the path is looked at
/// again every [`FOLLOW_POLL`]. It never ends: reads wait for more.
pub struct Follow {
    path: PathBuf,
    file: Option<File>,
    /// Device and inode of `file`: what tells a rotation.
    id: (u64, u64),
    /// Bytes read of `file`.
    pos: u64,
    clock: Clock,
}

impl Follow {
    /// Follow `path`, which may not exist yet.
    pub fn new(path: &Path) -> Follow {
        let mut f = Follow {
            path: path.to_owned(),
            file: None,
            id: (0, 0),
            pos: 0,
            clock: Clock::default(),
        };
        f.reopen();
        f
    }

    /// Open what the path names now, from its start; false if nothing.
    fn reopen(&mut self) -> bool {
        let Ok(file) = File::open(&self.path) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        self.id = (meta.dev(), meta.ino());
        self.file = Some(file);
        self.pos = 0;
        true
    }

    /// Whether there is something to read now: the file grew, was
    /// truncated (then it is read from its start), or the path names a
    /// new file and the old one is read to its end (then the new one is
    /// open). Only called where the last read found the end, or between
    /// reads of a live scan.
    fn ready(&mut self) -> io::Result<bool> {
        if let Some(f) = &mut self.file {
            let size = f.metadata()?.len();
            if size > self.pos {
                return Ok(true);
            }
            if size < self.pos {
                f.rewind()?;
                self.pos = 0;
                return Ok(size > 0);
            }
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if self.file.is_none() || (m.dev(), m.ino()) != self.id => Ok(self.reopen()),
            _ => Ok(false),
        }
    }
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(f) = &mut self.file {
                let n = f.read(buf)?;
                if n > 0 {
                    self.pos += n as u64;
                    return Ok(n);
                }
            }
            if !self.ready()? {
                std::thread::sleep(FOLLOW_POLL);
            }
        }
    }
}

impl Source for Follow {
    fn wait(&mut self, what: Wait) -> io::Result<Waited> {
        let (until, passed) = self.clock.deadline(what);
        loop {
            if self.ready()? {
                return Ok(Waited::Ready);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(passed);
            }
            std::thread::sleep(left.min(FOLLOW_POLL));
        }
    }
}
