//! Inputs: expands the paths given on the command line into the list of
//! inputs to scan (files, directories walked in sorted order, `-` for stdin)
//! and opens each one, transparently decompressing gzip (recognised by its
//! magic bytes, not its name, so rotated `kern.log.2.gz` and renamed files
//! both work). With the stream comes the file's modification time, the one
//! fact about an input the core uses beyond its bytes (it dates syslog
//! times that print no year).
//!
//! A pipe, socket or terminal is a live input: its reads block until the
//! writer writes. Such an input says so ([`Opened::live_fd`]), and the live
//! layer, which alone may wait with a timeout, lends a [`Source`] around it
//! through [`LiveHooks`], so the scanner learns when it went quiet.

use flate2::read::MultiGzDecoder;
use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

/// One input to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// The name used in output (`source.file`) and in messages: a file
    /// found in a directory may be named with any bytes, so it passes the
    /// model's text gate.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_owned(),
            Input::File(p) => crate::model::Text::from(p.display().to_string()).into(),
        }
    }

    /// Whether the input is live: standard input or a path that is not a
    /// regular file (a pipe, a socket, a terminal).
    pub fn is_live(&self) -> bool {
        let meta = match self {
            Input::Stdin => stdin_file().and_then(|f| f.metadata().ok()),
            Input::File(p) => std::fs::metadata(p).ok(),
        };
        meta.is_some_and(|m| is_live(&m))
    }

    /// Open for reading, decompressing gzip.
    pub fn open(&self) -> io::Result<Opened> {
        let f = match self {
            Input::Stdin => match stdin_file() {
                Some(f) => f,
                None => {
                    return Ok(Opened {
                        reader: sniff(Box::new(io::stdin()))?.0,
                        mtime_s: None,
                        live_fd: None,
                    })
                }
            },
            Input::File(p) => File::open(p)?,
        };
        let meta = f.metadata().ok();
        let mtime_s = meta.as_ref().and_then(mtime_s);
        let live = meta.is_some_and(|m| is_live(&m));
        #[cfg(unix)]
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let (reader, gzip) = sniff(Box::new(f))?;
        Ok(Opened {
            reader,
            mtime_s,
            // A gzip decoder holds bytes the descriptor no longer shows.
            #[cfg(unix)]
            live_fd: (live && !gzip).then_some(fd),
            #[cfg(not(unix))]
            live_fd: None,
        })
    }
}

/// Whether reads of a file of this kind wait for a writer: anything but a
/// regular file (a pipe, a socket, a terminal).
fn is_live(meta: &std::fs::Metadata) -> bool {
    let t = meta.file_type();
    !t.is_file() && !t.is_dir()
}

/// A live input, as the live layer makes it: reads block until bytes come
/// (or the input ends), and between reads the scanner asks how long the
/// input stays quiet.
pub trait Source: Read + Send {
    /// Wait for bytes (or the end) to read, at most the period `what`
    /// asks for.
    fn wait(&mut self, what: Wait) -> io::Result<Waited>;
}

/// What a live input is waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Bytes were read and are gathered while more follow: the grace
    /// period, and no longer than the live layer's hold since the bytes
    /// gathered began to come (`first`: they begin now).
    More { first: bool },
    /// A report waits for the lines that may follow its kill: the grace.
    Grace,
    /// A report waits for its kill line: the live layer's longest wait.
    Kill,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// Bytes, or the end, can be read.
    Ready,
    /// The input stayed quiet for the period.
    Quiet,
    /// More keeps coming, but what was gathered was held long enough.
    Held,
}

/// What the live layer lends to make live inputs: `analyze` sits on the
/// floor of `live` and cannot reach it, so the binary hands these over.
#[derive(Clone, Copy)]
pub struct LiveHooks {
    /// A live input's reader around the descriptor it reads.
    pub pipe: fn(Box<dyn Read + Send>, i32) -> Box<dyn Source>,
    /// `--follow PATH`: the path read as `tail -F` does, never ending.
    pub follow: fn(&Path) -> Box<dyn Source>,
}

impl fmt::Debug for LiveHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveHooks")
    }
}

/// An input open for reading.
pub struct Opened {
    /// Its bytes, decompressed.
    pub reader: Box<dyn Read + Send>,
    /// When the file was last written, seconds since the epoch (of a
    /// gzip file: the compressed file's, which gzip and logrotate keep
    /// from the log). None for a pipe, whose time says nothing of the log.
    pub mtime_s: Option<i64>,
    /// The descriptor the reader reads when the input is live (a pipe, a
    /// socket, a terminal; not gzip): what the live layer waits on.
    pub live_fd: Option<i32>,
}

/// The modification time of the file at `path` (None: not a regular file,
/// or none there yet).
pub fn file_mtime(path: &Path) -> Option<i64> {
    mtime_s(&std::fs::metadata(path).ok()?)
}

/// A regular file's modification time, seconds since the epoch.
fn mtime_s(meta: &std::fs::Metadata) -> Option<i64> {
    if !meta.is_file() {
        return None;
    }
    let t = meta.modified().ok()?;
    let s = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(s).ok()
}

/// Standard input as a file of its own descriptor: read unbuffered, so
/// that what the descriptor shows is all there is to read (`io::stdin`
/// keeps bytes of its own), and with its metadata (a modification time
/// when it is a file, `< kern.log`).
#[cfg(unix)]
fn stdin_file() -> Option<File> {
    use std::os::fd::AsFd;
    Some(File::from(io::stdin().as_fd().try_clone_to_owned().ok()?))
}

#[cfg(not(unix))]
fn stdin_file() -> Option<File> {
    None
}

/// Peek at the first bytes and wrap gzip streams in a decoder (true).
fn sniff(mut r: Box<dyn Read + Send>) -> io::Result<(Box<dyn Read + Send>, bool)> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match r.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = Cursor::new(magic[..got].to_vec()).chain(r);
    if got == 2 && magic == [0x1f, 0x8b] {
        Ok((Box::new(MultiGzDecoder::new(head)), true))
    } else {
        Ok((Box::new(head), false))
    }
}

/// A file read as text whatever its bytes: invalid UTF-8 is replaced, not
/// an error. What the machine shows (/proc/PID/stat holds a comm of any
/// bytes, a cgroup may be named with any) must never make a process or a
/// cgroup invisible, nor fail a whole file for one byte.
pub fn read_lossy(path: impl AsRef<std::path::Path>) -> io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A path that could not be expanded.
#[derive(Debug)]
pub struct InputError {
    pub path: PathBuf,
    pub err: io::Error,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The path may come from a directory walk: any bytes.
        let path = crate::model::Text::from(self.path.display().to_string());
        write!(f, "{path}: {}", self.err)
    }
}

/// Expand command-line paths: `-` is stdin, directories are walked
/// recursively with entries sorted by name (so runs are reproducible),
/// hidden entries inside directories are skipped.
pub fn expand(paths: &[String]) -> (Vec<Input>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        walk(Path::new(p), &mut inputs, &mut errors);
    }
    (inputs, errors)
}

fn walk(path: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<InputError>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(err) => {
            errors.push(InputError {
                path: path.to_owned(),
                err,
            });
            return;
        }
    };
    if !meta.is_dir() {
        inputs.push(Input::File(path.to_owned()));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(err) => {
            errors.push(InputError {
                path: path.to_owned(),
                err,
            });
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    children.sort();
    for c in children {
        walk(&c, inputs, errors);
    }
}
