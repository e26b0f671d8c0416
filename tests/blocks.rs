//! Where the scanner's read blocks end changes nothing: every corpus log,
//! three copies in a row (so that block ends fall at many places in its
//! reports and fragments), gives the same episodes, line numbers included,
//! whether it is read in 1 MiB blocks (one block for nearly all) or in
//! small ones. A real log is read in 1 MiB blocks, and a report, a wrapped
//! line or a fragment's unanchored start can sit across any of their ends.
//!
//! The small blocks are chosen with the two limits that are the scanner's
//! by design: a physical line longer than a block is cut, and a wrapped
//! line held back for the next block is at most a quarter of one. So the
//! smallest block used is 8 times the log's longest line.

mod util;

use oomctl::analyze::episodes;
use oomctl::scan::{ScanOptions, BLOCK};

/// The scan-level episodes of `input` read in blocks of `block` bytes, as
/// JSON lines (the form in which they are compared and shown).
fn scan(input: &[u8], block: usize) -> Vec<String> {
    let opts = ScanOptions {
        block,
        ..ScanOptions::default()
    };
    let mut out = Vec::new();
    episodes(input, "t", &opts, &Default::default(), |e| {
        out.push(serde_json::to_string(&e).expect("episode serializes"));
        Ok(())
    })
    .expect("scan of bytes in memory");
    out
}

#[test]
fn block_ends_change_no_episode() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for log in util::corpus_logs() {
        let name = log.display().to_string();
        // Recordings and compressed logs are read by other layers.
        if name.ends_with(".rec") || name.ends_with(".gz") {
            continue;
        }
        let mut one = std::fs::read(&log).expect("read corpus log");
        if !one.ends_with(b"\n") {
            one.push(b'\n');
        }
        let longest = one.split(|&b| b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
        let input = one.repeat(3);
        let whole = scan(&input, BLOCK);
        // Smaller than the input, at least 8 lines wide, and not a power
        // of two, so its ends fall at other places in each copy.
        let least = 8 * longest.max(512);
        let sizes = [
            least + 13,
            least + 1531,
            least + 4099,
            one.len() / 3 + 4099,
            3 * one.len() / 4 + 4099,
        ];
        for block in sizes.into_iter().map(|b| b.max(least)) {
            if block >= input.len() {
                continue;
            }
            checked += 1;
            let got = scan(&input, block);
            if got != whole {
                let at = got
                    .iter()
                    .zip(&whole)
                    .position(|(a, b)| a != b)
                    .unwrap_or(got.len().min(whole.len()));
                failures.push(format!(
                    "{name}: block {block}: {} episodes against {} in 1 MiB blocks; first difference at episode {at}:\n  small: {}\n  whole: {}",
                    got.len(),
                    whole.len(),
                    got.get(at).map_or("(none)", String::as_str),
                    whole.get(at).map_or("(none)", String::as_str),
                ));
            }
        }
    }
    assert!(checked >= 100, "only {checked} scans with block ends inside the input");
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
