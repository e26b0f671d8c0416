//! The few system calls the live layer needs that std does not wrap:
//! eventfd (cgroup-v1 memory thresholds), inotify (cgroup-v2 `memory.events`
//! notifications), poll (one thread waiting on all of them), extended
//! attributes (the guard's mark on a cgroup whose memory.high it set),
//! pidfd_open / pidfd_send_signal (killing without racing
//! pid reuse), kill (the fallback), and capget / capset (holding CAP_SYSLOG
//! only while /dev/kmsg is opened), and ioctl TIOCGWINSZ (the terminal's
//! width, for the human formats). Declared by hand: a crate for ten calls
//! would not pay for itself.

use std::ffi::{c_int, c_long, c_uint, c_void};
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

const EFD_CLOEXEC: c_int = 0o2_000_000;
const EFD_NONBLOCK: c_int = 0o4_000;
/// Same number on x86_64 and aarch64 (the unified syscall table).
const SYS_PIDFD_SEND_SIGNAL: c_long = 424;
const SYS_PIDFD_OPEN: c_long = 434;
pub const SIGKILL: c_int = 9;

const IN_CLOEXEC: c_int = 0o2_000_000;
/// inotify: the file was modified (cgroupfs notifies memory.events so).
pub const IN_MODIFY: u32 = 0x0000_0002;
/// inotify: the watch was removed (by us, or the file is gone).
pub const IN_IGNORED: u32 = 0x0000_8000;
/// inotify: the event queue overflowed; events were lost (watch -1).
pub const IN_Q_OVERFLOW: u32 = 0x0000_4000;

extern "C" {
    fn ioctl(fd: c_int, request: std::ffi::c_ulong, ...) -> c_int;
    fn eventfd(initval: c_uint, flags: c_int) -> c_int;
    fn inotify_init1(flags: c_int) -> c_int;
    fn inotify_add_watch(fd: c_int, path: *const std::ffi::c_char, mask: u32) -> c_int;
    fn inotify_rm_watch(fd: c_int, wd: c_int) -> c_int;
    fn syscall(num: c_long, ...) -> c_long;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn capget(header: *mut CapHeader, data: *mut CapData) -> c_int;
    fn capset(header: *mut CapHeader, data: *const CapData) -> c_int;
    fn poll(fds: *mut PollFd, nfds: std::ffi::c_ulong, timeout: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn getxattr(path: *const std::ffi::c_char, name: *const std::ffi::c_char, value: *mut c_void, size: usize)
        -> isize;
    fn setxattr(
        path: *const std::ffi::c_char,
        name: *const std::ffi::c_char,
        value: *const c_void,
        size: usize,
        flags: c_int,
    ) -> c_int;
    fn removexattr(path: *const std::ffi::c_char, name: *const std::ffi::c_char) -> c_int;
}

fn c_path(path: &std::path::Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))
}

/// An extended attribute of `path` as text (None: absent, unsupported or
/// unreadable).
pub fn get_xattr(path: &std::path::Path, name: &str) -> Option<String> {
    let (p, n) = (c_path(path).ok()?, std::ffi::CString::new(name).ok()?);
    let mut buf = [0u8; 256];
    // SAFETY: NUL-terminated path and name, a buffer of buf.len() bytes we own.
    let len = unsafe { getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let len = usize::try_from(len).ok()?;
    Some(String::from_utf8_lossy(&buf[..len]).into_owned())
}

/// Set an extended attribute of `path` (cgroupfs takes `user.` ones from
/// Linux 5.7 on).
pub fn set_xattr(path: &std::path::Path, name: &str, value: &str) -> io::Result<()> {
    let (p, n) = (c_path(path)?, std::ffi::CString::new(name).map_err(io::Error::other)?);
    // SAFETY: NUL-terminated path and name, a value of value.len() bytes.
    if unsafe { setxattr(p.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Remove an extended attribute of `path`, if it is there.
pub fn remove_xattr(path: &std::path::Path, name: &str) {
    let (Ok(p), Ok(n)) = (c_path(path), std::ffi::CString::new(name)) else {
        return;
    };
    // SAFETY: NUL-terminated path and name; an error (absent) is harmless.
    unsafe { removexattr(p.as_ptr(), n.as_ptr()) };
}

/// poll(2): readable.
pub const POLLIN: i16 = 0x1;

/// One descriptor for [`poll_fds`] (struct pollfd).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PollFd {
    pub fd: c_int,
    pub events: i16,
    pub revents: i16,
}

impl PollFd {
    /// Wait for `fd` to be readable.
    pub fn readable(fd: c_int) -> PollFd {
        PollFd {
            fd,
            events: POLLIN,
            revents: 0,
        }
    }
}

/// Block until one of `fds` is ready or `timeout` passes (None: forever);
/// the number ready (0 on a timeout or a signal).
pub fn poll_fds(fds: &mut [PollFd], timeout: Option<std::time::Duration>) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| c_int::try_from(t.as_millis()).unwrap_or(c_int::MAX));
    // SAFETY: a pointer to `fds.len()` pollfd structs we own, exclusively.
    let n = unsafe { poll(fds.as_mut_ptr(), fds.len() as std::ffi::c_ulong, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(n as usize)
}

/// Ask for a pipe's buffer to hold `bytes` (rounded up by the kernel, at
/// most /proc/sys/fs/pipe-max-size for a user); false if `fd` is no pipe
/// or the size was refused.
pub fn grow_pipe(fd: c_int, bytes: usize) -> bool {
    const F_SETPIPE_SZ: c_int = 1031;
    let Ok(n) = c_int::try_from(bytes) else {
        return false;
    };
    // SAFETY: fcntl on a descriptor we read; F_SETPIPE_SZ takes an int.
    unsafe { fcntl(fd, F_SETPIPE_SZ, n) >= 0 }
}

/// A new non-blocking eventfd, as a File (8-byte reads and writes; a read
/// of a zero count fails with WouldBlock).
pub fn new_eventfd() -> io::Result<File> {
    // SAFETY: eventfd takes plain integers and returns a new fd or -1.
    let fd = unsafe { eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// An inotify instance: watches added from any thread, events read by one.
pub struct Inotify(File);

impl Inotify {
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: plain flags; returns a new fd or -1.
        let fd = unsafe { inotify_init1(IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(Inotify(unsafe { File::from_raw_fd(fd) }))
    }

    /// Watch `path` for `mask`: the watch descriptor its events carry.
    pub fn add(&self, path: &std::path::Path, mask: u32) -> io::Result<c_int> {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
        // SAFETY: a valid inotify fd, a NUL-terminated path, a mask.
        let wd = unsafe { inotify_add_watch(self.0.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(wd)
    }

    /// Remove a watch: a reader blocked in [`Inotify::read`] wakes with
    /// IN_IGNORED for it.
    pub fn remove(&self, wd: c_int) {
        use std::os::fd::AsRawFd;
        // SAFETY: integers only; an error (the watch already gone) is harmless.
        unsafe { inotify_rm_watch(self.0.as_raw_fd(), wd) };
    }

    /// The descriptor, for [`poll_fds`].
    pub fn fd(&self) -> c_int {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }

    /// Block until events come: each as (watch, mask).
    pub fn read(&self) -> io::Result<Vec<(c_int, u32)>> {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let n = (&self.0).read(&mut buf)?;
        Ok(inotify_events(&buf[..n]))
    }
}

/// The events in one read from an inotify fd: each is `wd: i32, mask: u32,
/// cookie: u32, len: u32` and `len` bytes of name.
fn inotify_events(buf: &[u8]) -> Vec<(c_int, u32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(head) = buf.get(at..at + 16) {
        let word = |i: usize| [head[i], head[i + 1], head[i + 2], head[i + 3]];
        out.push((c_int::from_ne_bytes(word(0)), u32::from_ne_bytes(word(4))));
        at += 16 + u32::from_ne_bytes(word(12)) as usize;
    }
    out
}

/// Now on CLOCK_MONOTONIC, microseconds since boot: close to /dev/kmsg's
/// timestamps (local_clock), though not the same clock.
pub fn monotonic_us() -> u64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: c_long,
    }
    extern "C" {
        fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    }
    const CLOCK_MONOTONIC: c_int = 1;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a timespec we own.
    if unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    (ts.sec as u64).saturating_mul(1_000_000) + (ts.nsec as u64) / 1000
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

/// CAP_SYSLOG: opening /dev/kmsg when kernel.dmesg_restrict=1.
pub const CAP_SYSLOG: u32 = 34;
/// _LINUX_CAPABILITY_VERSION_3: 64-bit sets, as two 32-bit halves.
const CAP_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// This thread's capability sets: (effective, permitted, inheritable).
fn cap_sets() -> io::Result<[u64; 3]> {
    let mut h = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut d = [CapData::default(); 2];
    // SAFETY: a version-3 header and the two data structs it asks for.
    if unsafe { capget(&mut h, d.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |f: fn(&CapData) -> u32| u64::from(f(&d[0])) | (u64::from(f(&d[1])) << 32);
    Ok([join(|c| c.effective), join(|c| c.permitted), join(|c| c.inheritable)])
}

fn set_cap_sets(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let mut h = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let half = |s: u64, i: u32| (s >> (32 * i)) as u32;
    let d: [CapData; 2] = std::array::from_fn(|i| CapData {
        effective: half(effective, i as u32),
        permitted: half(permitted, i as u32),
        inheritable: half(inheritable, i as u32),
    });
    // SAFETY: a version-3 header and the two data structs it takes.
    if unsafe { capset(&mut h, d.as_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether this thread has capability `cap` in its effective set.
pub fn has_cap(cap: u32) -> bool {
    cap_sets().is_ok_and(|[e, _, _]| e & (1 << cap) != 0)
}

/// Make `cap` effective if it is permitted but not effective (a binary
/// given it as a file capability without the effective bit). True if it
/// was raised here: the caller then lowers it with [`drop_cap`].
pub fn raise_cap(cap: u32) -> bool {
    let bit = 1u64 << cap;
    match cap_sets() {
        Ok([e, p, i]) if e & bit == 0 && p & bit != 0 => set_cap_sets(e | bit, p, i).is_ok(),
        _ => false,
    }
}

/// Remove `cap` from this thread's effective and permitted sets, for good
/// (threads started after this inherit its absence).
pub fn drop_cap(cap: u32) -> io::Result<()> {
    let bit = 1u64 << cap;
    let [e, p, i] = cap_sets()?;
    set_cap_sets(e & !bit, p & !bit, i & !bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Capabilities are per thread: what one thread raises or drops, the
    /// others keep. Where this process has CAP_SYSLOG permitted (root), a
    /// thread lowers it from effective, raises it back, then drops it for
    /// good; without it, nothing can be raised.
    #[test]
    fn syslog_is_raised_and_dropped_in_one_thread() {
        let before = cap_sets().expect("capget");
        let syslog = 1u64 << CAP_SYSLOG;
        std::thread::spawn(move || {
            let [e, p, i] = cap_sets().unwrap();
            assert_eq!([e, p, i], before, "a new thread starts with its creator's sets");
            if p & syslog == 0 {
                assert!(!raise_cap(CAP_SYSLOG), "not permitted: cannot be raised");
                return;
            }
            set_cap_sets(e & !syslog, p, i).unwrap();
            assert!(!has_cap(CAP_SYSLOG));
            assert!(raise_cap(CAP_SYSLOG), "permitted, not effective: raised");
            assert!(has_cap(CAP_SYSLOG));
            assert!(!raise_cap(CAP_SYSLOG), "already effective: nothing to raise");
            drop_cap(CAP_SYSLOG).unwrap();
            assert!(!has_cap(CAP_SYSLOG));
            assert!(!raise_cap(CAP_SYSLOG), "dropped from permitted: gone for good");
            let [e2, p2, _] = cap_sets().unwrap();
            assert_eq!((e2, p2), (e & !syslog, p & !syslog), "only CAP_SYSLOG went");
        })
        .join()
        .expect("the thread's checks");
        assert_eq!(cap_sets().unwrap(), before, "the other threads keep theirs");
    }
}

/// `struct winsize` of TIOCGWINSZ.
#[repr(C)]
#[derive(Default)]
struct WinSize {
    rows: u16,
    cols: u16,
    x_pixels: u16,
    y_pixels: u16,
}

/// TIOCGWINSZ on Linux (x86_64 and aarch64 alike).
const TIOCGWINSZ: std::ffi::c_ulong = 0x5413;

/// The columns of the terminal on `fd`, if it is one and says.
pub fn terminal_columns(fd: &impl std::os::fd::AsRawFd) -> Option<usize> {
    let mut ws = WinSize::default();
    // SAFETY: TIOCGWINSZ writes one `struct winsize`, which `ws` is.
    let r = unsafe { ioctl(fd.as_raw_fd(), TIOCGWINSZ, &mut ws as *mut WinSize) };
    (r == 0 && ws.cols > 0).then_some(usize::from(ws.cols))
}
