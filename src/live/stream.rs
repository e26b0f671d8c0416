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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
        // Fewer, larger reads (and so waits) when the writer is ahead: a
        // pipe holds 64 KiB by default, the scanner reads blocks of 1 MiB.
        let _ = sys::grow_pipe(fd, crate::scan::BLOCK);
        Box::new(Pipe {
            reader,
            fd,
            clock: Clock::default(),
        })
    },
    follow: |path| {
        let follow = Follow::new(path);
        let stop = follow.stop.clone();
        // Without the handler a signal still ends the process, only less
        // cleanly: nothing to report.
        let _ = super::signal::on_stop(move || stop.store(true, Ordering::Relaxed));
        Box::new(follow)
    },
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
/// again every [`FOLLOW_POLL`]. It ends only when SIGINT, SIGTERM or
/// SIGHUP comes, where it has read all there was: the reports still open
/// are finished and the run's summary printed, as at a file's end.
pub struct Follow {
    path: PathBuf,
    file: Option<File>,
    /// Device and inode of `file`: what tells a rotation.
    id: (u64, u64),
    /// Bytes read of `file`.
    pos: u64,
    clock: Clock,
    /// Set by a signal: end at the next wait.
    stop: Arc<AtomicBool>,
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
            stop: Arc::new(AtomicBool::new(false)),
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
            if self.stop.load(Ordering::Relaxed) {
                return Ok(0);
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
            // Stopped: the read finds the end.
            if self.stop.load(Ordering::Relaxed) || self.ready()? {
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

#[cfg(test)]
mod tests {
    use crate::analyze::{episodes, episodes_live};
    use crate::input::{Source, Wait, Waited};
    use crate::model::Episode;
    use crate::scan::ScanOptions;
    use std::io::{self, Read};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A live input that plays a script: each read hands over the next
    /// chunk; a wait says `Ready` while chunks remain, unless the writer
    /// pauses before the next one (`Quiet`), and `Ready` at the end (the
    /// read then finds it). `reads` counts the chunks handed over.
    struct Script {
        chunks: Vec<(Vec<u8>, bool)>,
        next: usize,
        reads: Arc<AtomicUsize>,
    }

    impl Script {
        /// `pauses`: the writer goes quiet after these chunks (0-based).
        fn new(chunks: Vec<Vec<u8>>, pauses: &[usize], reads: Arc<AtomicUsize>) -> Script {
            let chunks = chunks
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c, pauses.contains(&i)))
                .collect();
            Script { chunks, next: 0, reads }
        }
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((chunk, _)) = self.chunks.get_mut(self.next) else {
                return Ok(0);
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.next += 1;
                self.reads.store(self.next, Ordering::Relaxed);
            }
            Ok(n)
        }
    }

    impl Source for Script {
        fn wait(&mut self, _: Wait) -> io::Result<Waited> {
            // Quiet once after a paused chunk, then the next comes.
            match self.next.checked_sub(1).and_then(|i| self.chunks.get_mut(i)) {
                Some((_, pause)) if *pause => {
                    *pause = false;
                    Ok(Waited::Quiet)
                }
                _ => Ok(Waited::Ready),
            }
        }
    }

    fn opts() -> ScanOptions {
        ScanOptions {
            assume_year: Some(2024),
            ..ScanOptions::default()
        }
    }

    fn whole(data: &[u8]) -> Vec<Episode> {
        let mut eps = Vec::new();
        episodes(data, "t", &opts(), &Default::default(), |e| {
            eps.push(e);
            Ok(())
        })
        .unwrap();
        eps
    }

    /// Episodes of a scripted live input, each with the chunks read when
    /// it was emitted.
    fn live(chunks: Vec<Vec<u8>>, pauses: &[usize]) -> Vec<(usize, Episode)> {
        let reads = Arc::new(AtomicUsize::new(0));
        let mut src = Script::new(chunks, pauses, reads.clone());
        let mut eps = Vec::new();
        episodes_live(&mut src, "t", &opts(), &Default::default(), |e| {
            eps.extend(e.map(|e| (reads.load(Ordering::Relaxed), e)));
            Ok(())
        })
        .unwrap();
        eps
    }

    fn corpus() -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for dir in [
            "corpus/kernels",
            "corpus/real",
            "corpus/containers",
            "corpus/damage",
            "corpus/fragments",
            "corpus/public",
        ] {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.to_string_lossy();
                if !name.contains(".expected.") && !name.ends_with(".facts.json") {
                    files.push(p);
                }
            }
        }
        files.sort();
        files
    }

    /// A writer that writes one line at a time, or cuts lines anywhere,
    /// without pausing for the grace: the episodes of the same bytes in a
    /// file, for every log of the corpus (wrapped lines, fragments and
    /// damage included).
    #[test]
    fn a_live_input_without_pauses_reads_as_a_file() {
        for f in corpus() {
            let data = std::fs::read(&f).unwrap();
            let want = whole(&data);
            let lines: Vec<Vec<u8>> = data.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let got: Vec<Episode> = live(lines, &[]).into_iter().map(|(_, e)| e).collect();
            assert_eq!(got, want, "{}: one line per write", f.display());
            let cuts: Vec<Vec<u8>> = data.chunks(37).map(<[u8]>::to_vec).collect();
            let got: Vec<Episode> = live(cuts, &[]).into_iter().map(|(_, e)| e).collect();
            assert_eq!(got, want, "{}: 37 bytes per write", f.display());
        }
    }

    /// Two reports (4.19 and 5.0 kernels, corpus/kernels) with the writer
    /// quiet after the first: the first is emitted before the second is
    /// read, and both are the episodes of the file.
    #[test]
    fn an_episode_is_emitted_when_its_writer_goes_quiet() {
        let a = std::fs::read("corpus/kernels/4.19-debian10-memcg.log").unwrap();
        let b = std::fs::read("corpus/kernels/5.0-ubuntu-hwe-memcg.log").unwrap();
        let got = live(vec![a.clone(), b.clone()], &[0]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 1, "the first episode before the second write was read");
        let want = whole(&[a, b].concat());
        assert_eq!(got.into_iter().map(|(_, e)| e).collect::<Vec<_>>(), want);
    }
}
