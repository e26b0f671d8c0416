//! Reading `/dev/kmsg`: one record per `read(2)`, blocking.
//!
//! The kernel returns exactly one record per read (`PRIO,SEQ,USEC,FLAGS;msg`
//! plus ` KEY=value` continuation lines), `EPIPE` when the reader fell behind
//! and records were overwritten (the next read continues at the oldest
//! record still there), and `EINVAL` if the buffer is too small for a record.
//! A new open starts at the oldest record; seeking to the end starts at the
//! next new one.

use super::sys;
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
/// `had_syslog`: this process held CAP_SYSLOG when the open failed, so a
/// refusal came from the device cgroup (a container's runtime), not from
/// `kernel.dmesg_restrict`.
pub fn open_error(path: &str, e: &io::Error, had_syslog: bool) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied if had_syslog => format!(
            "{path}: permission denied although this process has CAP_SYSLOG: the device cgroup \
             refuses the device (in a container: Kubernetes `privileged: true`, or podman/docker \
             `--device /dev/kmsg`; a bind mount of it is not enough)"
        ),
        io::ErrorKind::PermissionDenied => format!(
            "{path}: permission denied: reading the kernel log needs CAP_SYSLOG (run as root, or give \
             the binary the file capability cap_syslog=p) when kernel.dmesg_restrict=1 (sysctl \
             kernel.dmesg_restrict)"
        ),
        io::ErrorKind::NotFound => format!("{path}: not found: oomctl watch needs Linux's /dev/kmsg"),
        _ => format!("{path}: {e}"),
    }
}

impl KmsgReader {
    /// Open `path`; `from_start`: read the records already in the buffer,
    /// else only new ones.
    ///
    /// CAP_SYSLOG is held only for the open, then dropped from the
    /// effective and permitted sets: the watcher runs on without it, and a
    /// watcher given no other capability (the container image run as
    /// non-root) with none at all. A binary that has it as a file
    /// capability in the permitted set only (the image's `cap_syslog=p`: no
    /// effective bit, so exec never fails where a runtime's bounding set
    /// lacks it) raises it here first. Called before watch starts any
    /// thread: capabilities are per thread, and threads started later
    /// inherit the drop.
    pub fn open(path: &str, from_start: bool) -> Result<KmsgReader, String> {
        sys::raise_cap(sys::CAP_SYSLOG);
        let opened = File::open(path);
        let had_syslog = sys::has_cap(sys::CAP_SYSLOG);
        if had_syslog {
            sys::drop_cap(sys::CAP_SYSLOG).map_err(|e| format!("dropping CAP_SYSLOG after opening {path}: {e}"))?;
        }
        let mut file = opened.map_err(|e| open_error(path, &e, had_syslog))?;
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
        assert!(open_error(DEV_KMSG, &e, false).contains("dmesg_restrict"));
        assert!(open_error(DEV_KMSG, &e, false).contains("CAP_SYSLOG"));
        // With CAP_SYSLOG held, the refusal is the device cgroup's.
        let device = open_error(DEV_KMSG, &e, true);
        assert!(
            device.contains("device cgroup") && device.contains("privileged"),
            "{device}"
        );
        assert!(!device.contains("dmesg_restrict"), "{device}");
    }
}
