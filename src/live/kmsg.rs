//! Reading `/dev/kmsg`: one record per `read(2)`, blocking.
//!
//! The kernel returns exactly one record per read (`PRIO,SEQ,USEC,FLAGS;msg`
//! plus ` KEY=value` continuation lines), `EPIPE` when the reader fell behind
//! and records were overwritten (the next read continues at the oldest
//! record still there), and `EINVAL` if the buffer is too small for a record.
//! A new open starts at the oldest record; seeking to the end starts at the
//! next new one.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Device path.
pub const DEV_KMSG: &str = "/dev/kmsg";
/// printk records are at most 8 KiB (PRINTKRB_RECORD_MAX + dictionary).
const RECORD_MAX: usize = 16 * 1024;
const EPIPE: i32 = 32;
const EINVAL: i32 = 22;

/// One read's outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum Read1 {
    /// A record's text (lossy UTF-8: the kernel escapes non-printables).
    Record(String),
    /// Records were overwritten before they could be read.
    Overrun,
}

/// A blocking reader of `/dev/kmsg` (or any file of kmsg records, for tests).
pub struct KmsgReader {
    file: File,
    buf: Vec<u8>,
}

/// Why `/dev/kmsg` could not be opened, with what to do about it.
pub fn open_error(path: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "{path}: permission denied: reading the kernel log needs CAP_SYSLOG (run as root) \
             when kernel.dmesg_restrict=1 (sysctl kernel.dmesg_restrict)"
        ),
        io::ErrorKind::NotFound => format!("{path}: not found: oomctl watch needs Linux's /dev/kmsg"),
        _ => format!("{path}: {e}"),
    }
}

impl KmsgReader {
    /// Open `path`; `from_start`: read the records already in the buffer,
    /// else only new ones.
    pub fn open(path: &str, from_start: bool) -> Result<KmsgReader, String> {
        let mut file = File::open(path).map_err(|e| open_error(path, &e))?;
        if !from_start {
            file.seek(SeekFrom::End(0))
                .map_err(|e| format!("{path}: seek to end: {e}"))?;
        }
        Ok(KmsgReader {
            file,
            buf: vec![0; RECORD_MAX],
        })
    }

    /// Block for the next record. `Ok(None)` at end of file (a regular
    /// file; /dev/kmsg never ends).
    pub fn read_record(&mut self) -> io::Result<Option<Read1>> {
        loop {
            match self.file.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    let text = String::from_utf8_lossy(&self.buf[..n]);
                    return Ok(Some(Read1::Record(text.trim_end_matches('\n').to_owned())));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(EPIPE) => return Ok(Some(Read1::Overrun)),
                // A record larger than the buffer: skip it rather than stall.
                Err(e) if e.raw_os_error() == Some(EINVAL) => return Ok(Some(Read1::Overrun)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// The sequence number of a record (`PRIO,SEQ,…`).
pub fn seq_of(record: &str) -> Option<u64> {
    record.split(',').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers() {
        assert_eq!(seq_of("4,1203,2811547912,-,caller=T1;x"), Some(1203));
        assert_eq!(seq_of("garbage"), None);
    }

    #[test]
    fn unreadable_kmsg_names_the_fix() {
        let e = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(open_error(DEV_KMSG, &e).contains("dmesg_restrict"));
        assert!(open_error(DEV_KMSG, &e).contains("CAP_SYSLOG"));
    }
}
