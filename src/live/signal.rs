//! SIGINT, SIGTERM and SIGHUP for the live commands: finish the current
//! episode, flush, exit 0 (a closed terminal must not lose what was read).
//!
//! The handler only writes one byte to a pipe (async-signal-safe); a thread
//! blocked on the pipe's other end turns it into a normal message for the
//! main loop. Two libc functions are declared by hand rather than adding a
//! crate for them.

use std::ffi::{c_int, c_void};
use std::io::{self, Read};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

const SIGHUP: c_int = 1;
const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
}

extern "C" fn on_signal(_: c_int) {
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local.
        unsafe {
            write(fd, (&b as *const u8).cast(), 1);
        }
    }
}

/// Call `stop` (on its own thread) when SIGHUP, SIGINT or SIGTERM arrives.
pub fn on_stop(stop: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let (mut r, w) = io::pipe()?;
    WAKE_FD.store(w.into_raw_fd(), Ordering::Relaxed);
    // SAFETY: installs a handler that only does an async-signal-safe write.
    unsafe {
        signal(SIGHUP, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    std::thread::spawn(move || {
        let mut b = [0u8; 1];
        if r.read(&mut b).is_ok() {
            stop();
        }
    });
    Ok(())
}
