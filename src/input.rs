//! Inputs: expands the paths given on the command line into the list of
//! inputs to scan (files, directories walked in sorted order, `-` for stdin)
//! and opens each one, transparently decompressing gzip (recognised by its
//! magic bytes, not its name, so rotated `kern.log.2.gz` and renamed files
//! both work). With the stream comes the file's modification time, the one
//! fact about an input the core uses beyond its bytes (it dates syslog
//! times that print no year).

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

    /// Open for reading, decompressing gzip.
    pub fn open(&self) -> io::Result<Opened> {
        match self {
            Input::Stdin => Ok(Opened {
                reader: sniff(Box::new(io::stdin()))?,
                mtime_s: stdin_mtime(),
            }),
            Input::File(p) => {
                let f = File::open(p)?;
                let mtime_s = f.metadata().ok().and_then(|m| mtime_s(&m));
                Ok(Opened {
                    reader: sniff(Box::new(f))?,
                    mtime_s,
                })
            }
        }
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

/// Standard input's modification time when it is a file (`< kern.log`),
/// not a pipe or a terminal.
#[cfg(unix)]
fn stdin_mtime() -> Option<i64> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    mtime_s(&File::from(fd).metadata().ok()?)
}

#[cfg(not(unix))]
fn stdin_mtime() -> Option<i64> {
    None
}

/// Peek at the first bytes and wrap gzip streams in a decoder.
fn sniff(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
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
        Ok(Box::new(MultiGzDecoder::new(head)))
    } else {
        Ok(Box::new(head))
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
