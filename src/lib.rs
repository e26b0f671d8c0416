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
