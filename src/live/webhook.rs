//! Webhooks: POST JSON to an http:// URL from a background thread with
//! bounded retries and a bounded queue, so a slow or dead receiver never
//! blocks the watcher or the guard. What cannot be delivered is counted and
//! reported on stderr, never silently dropped.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Messages waiting at most; beyond that new ones are dropped (counted).
const QUEUE: usize = 256;
/// Tries per message, with 0.2 s, 0.4 s… between them.
const TRIES: u32 = 3;

/// A running webhook sender.
pub struct Webhook {
    tx: SyncSender<String>,
    /// Messages given up on (queue full or all tries failed).
    pub dropped: Arc<AtomicU64>,
}

impl Webhook {
    /// Start the sender thread for `url`.
    pub fn start(url: String) -> Webhook {
        let (tx, rx) = mpsc::sync_channel::<String>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let d = dropped.clone();
        std::thread::spawn(move || {
            for body in rx {
                let mut ok = false;
                for i in 0..TRIES {
                    match post(&url, &body) {
                        Ok(()) => {
                            ok = true;
                            break;
                        }
                        Err(e) if i + 1 == TRIES => {
                            crate::diag!("oomctl: warning: webhook {url}: {e}; message dropped")
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(200 << i)),
                    }
                }
                if !ok {
                    d.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Webhook { tx, dropped }
    }

    /// Queue one JSON message; never blocks.
    pub fn send(&self, body: String) {
        if let Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) = self.tx.try_send(body) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            crate::diag!("oomctl: warning: webhook queue full; message dropped");
        }
    }
}

/// POST `body` to an http:// URL (2 s timeouts); Ok on a 2xx status.
pub fn post(url: &str, body: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// webhooks are supported")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let mut s = std::net::TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok();
    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut status = [0u8; 12];
    s.read_exact(&mut status).map_err(|e| e.to_string())?;
    let code = String::from_utf8_lossy(&status[9..12]).into_owned();
    if code.starts_with('2') {
        Ok(())
    } else {
        Err(format!("HTTP {code}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    #[test]
    fn posts_json_and_counts_failures() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            let mut r = std::io::BufReader::new(c.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if h == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            (&c).write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            (first, String::from_utf8(body).unwrap())
        });
        post(&url, "{\"a\":1}").unwrap();
        let (first, body) = server.join().unwrap();
        assert_eq!(first, "POST /hook HTTP/1.1\r\n");
        assert_eq!(body, "{\"a\":1}");
        assert!(post("https://x", "{}").unwrap_err().contains("http://"));
        assert!(post("http://127.0.0.1:1/", "{}").is_err());
    }
}
