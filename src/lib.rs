//! oomctl: rebuild, explain and replay Linux OOM-killer episodes.
//!
//! Data flows one way (see ARCHITECTURE.md): [`input`] opens files →
//! [`scan`] finds the lines that matter → [`envelope`] removes the log
//! container → [`kline`] classifies the kernel message → [`builder`]
//! assembles [`model::Episode`]s → [`diagnose`] explains them → [`output`]
//! sinks print them. [`analyze`] ties these together for the `analyze`
//! subcommand, [`pipeline`] for kmsg records, [`live`] reads the machine;
//! the binary only parses arguments and maps the outcome to an exit code.
//! Modules sit on floors and use only lower ones (`tests/layers.rs`).

pub mod analyze;
pub mod builder;
pub mod cgroup;
pub mod diagnose;
pub mod envelope;
pub mod filter;
pub mod guard;
pub mod input;
pub mod k8s;
pub mod kline;
pub mod live;
pub mod metrics;
pub mod model;
pub mod order;
pub mod output;
pub mod pipeline;
pub mod recording;
pub mod sampling;
pub mod scan;
pub mod simulate;
pub mod snapshot;
pub mod units;

/// `eprintln!` through the text gate ([`model::Text`]): a diagnostic may
/// quote a path found on disk, a server's reply or bytes of the input.
#[macro_export]
macro_rules! diag {
    ($($t:tt)*) => {
        eprintln!("{}", $crate::model::Text::from(format!($($t)*)))
    };
}

/// The git commit this build was made from (`unknown` outside a checkout).
pub const COMMIT: &str = env!("OOMCTL_COMMIT");

/// Every file under `corpus/` (unit tests that hold a rule to the whole
/// corpus).
#[cfg(test)]
pub(crate) fn corpus_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("corpus")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("corpus/") {
            let p = e.expect("a corpus entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The containers whose lines a scan judges by their stamp, as
/// [`in_form`] writes them.
#[cfg(test)]
pub(crate) const FORMS: [&str; 6] = [
    "syslog",
    "kern.log",
    "rfc3339",
    "short-monotonic",
    "dmesg-T",
    "dmesg-iso",
];

/// `data` with every line that begins with the kernel's plain stamp
/// (`[  123.456789] msg`) written in another container's form (one of
/// [`FORMS`]; the wall clock is the uptime after a fixed boot time), every
/// other line left as it is: the corpus's logs as syslog, journalctl and
/// `dmesg -T` would have shown them.
#[cfg(test)]
pub(crate) fn in_form(data: &[u8], form: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 3 / 2);
    for line in data.split_inclusive(|&b| b == b'\n') {
        let Some(len) = envelope::plain_stamp_len(line) else {
            out.extend_from_slice(line);
            continue;
        };
        let stamp = std::str::from_utf8(&line[1..len - 1]).expect("ASCII").trim_start();
        let (secs, frac) = stamp.split_once('.').expect("a dot");
        let us = format!("{frac:0<6}");
        let at = chrono::DateTime::from_timestamp(1_795_400_000 + secs.parse::<i64>().expect("digits"), 0)
            .expect("a time")
            .naive_utc();
        let message = line[len..].strip_prefix(b" ").unwrap_or(&line[len..]);
        let head = match form {
            "syslog" => format!("{} node-7 kernel: ", at.format("%b %e %H:%M:%S")),
            "kern.log" => format!("{} node-7 kernel: [{stamp:>12}] ", at.format("%b %e %H:%M:%S")),
            "rfc3339" => format!("{}.{us}+00:00 node-7 kernel: ", at.format("%Y-%m-%dT%H:%M:%S")),
            "short-monotonic" => format!("[{stamp:>12}] node-7 kernel: "),
            "dmesg-T" => format!("[{}] ", at.format("%a %b %e %H:%M:%S %Y")),
            "dmesg-iso" => format!("{},{us}+00:00 ", at.format("%Y-%m-%dT%H:%M:%S")),
            _ => panic!("no form {form}"),
        };
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(message);
    }
    out
}
