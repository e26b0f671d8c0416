//! The few system calls the live guard needs that std does not wrap:
//! eventfd (cgroup-v1 memory thresholds), pidfd_open / pidfd_send_signal
//! (killing without racing pid reuse) and kill (the fallback). Declared by
//! hand: a crate for four calls would not pay for itself.

use std::ffi::{c_int, c_long, c_uint, c_void};
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

const EFD_CLOEXEC: c_int = 0o2_000_000;
/// Same number on x86_64 and aarch64 (the unified syscall table).
const SYS_PIDFD_SEND_SIGNAL: c_long = 424;
const SYS_PIDFD_OPEN: c_long = 434;
pub const SIGKILL: c_int = 9;

extern "C" {
    fn eventfd(initval: c_uint, flags: c_int) -> c_int;
    fn syscall(num: c_long, ...) -> c_long;
    fn kill(pid: c_int, sig: c_int) -> c_int;
}

/// A new eventfd, as a File (8-byte reads and writes).
pub fn new_eventfd() -> io::Result<File> {
    // SAFETY: eventfd takes plain integers and returns a new fd or -1.
    let fd = unsafe { eventfd(0, EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// A pidfd for `pid` (Linux 5.3+), or the error (ENOSYS on older kernels,
/// ESRCH if it is gone).
pub fn pidfd_open(pid: u32) -> io::Result<File> {
    // SAFETY: pidfd_open(pid, 0) takes integers and returns a new fd or -1.
    let fd = unsafe { syscall(SYS_PIDFD_OPEN, pid as c_int, 0 as c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd as c_int) })
}

/// Signal the process a pidfd refers to (never a reused pid).
pub fn pidfd_send_signal(pidfd: &File, sig: c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let r = unsafe {
        syscall(
            SYS_PIDFD_SEND_SIGNAL,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<c_void>(),
            0 as c_uint,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// kill(2), for kernels without pidfds.
pub fn kill_pid(pid: u32, sig: c_int) -> io::Result<()> {
    // SAFETY: integers only.
    if unsafe { kill(pid as c_int, sig) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
