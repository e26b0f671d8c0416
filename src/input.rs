//! Inputs: expands the paths given on the command line into the list of
//! inputs to scan (files, directories walked in sorted order, `-` for stdin)
//! and opens each one, transparently decompressing gzip (recognised by its
//! magic bytes, not its name, so rotated `kern.log.2.gz` and renamed files
//! both work).

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
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::Stdin => sniff(Box::new(io::stdin())),
            Input::File(p) => sniff(Box::new(File::open(p)?)),
        }
    }
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
