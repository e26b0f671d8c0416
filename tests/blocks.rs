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

/// A corpus log's bytes, ending in a newline, and its longest line.
fn read_log(log: &std::path::Path) -> (Vec<u8>, usize) {
    let mut one = std::fs::read(log).expect("read corpus log");
    if !one.ends_with(b"\n") {
        one.push(b'\n');
    }
    let longest = one.split(|&b| b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
    (one, longest)
}

fn assert_none_differ(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
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
        let (one, longest) = read_log(&log);
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
    assert_none_differ(&failures);
}

/// A fragment or damaged paste after a dmesg log's noise, placed so that
/// the first block ends after each of its lines in turn (a wrapped line
/// cut there, a fragment's first anchored line opening the next block):
/// the episodes are those of the same bytes read in one block.
#[test]
fn each_line_at_a_block_end() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for log in util::corpus_logs() {
        let name = log.display().to_string();
        if !(name.contains("/fragments/") || name.contains("/damage/") || name.contains("wrap")) {
            continue;
        }
        // (A quoted-printable body is recognised in the input's first
        // block: after noise that fills it, it is not, by design.)
        if name.ends_with(".rec") || name.ends_with(".gz") || name.contains("quoted-printable") {
            continue;
        }
        let (one, longest) = read_log(&log);
        let block = 8 * longest.max(512) + 4096;
        let starts: Vec<usize> = std::iter::once(0)
            .chain(one.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1))
            .filter(|&s| s < one.len())
            .take(60)
            .collect();
        for &s in &starts {
            // Noise lines up to the block's end, less the log's lines
            // before `s`: the block then ends just before line `s`.
            let want = block - s;
            let mut input = Vec::new();
            let mut i = 0;
            while input.len() + 64 < want {
                input.extend_from_slice(format!("[{:5}.{:06}] eth0: noise {i}\n", 1 + i / 1000, i % 1000).as_bytes());
                i += 1;
            }
            let pad = want - input.len();
            if pad > 1 {
                input.extend_from_slice(&vec![b'x'; pad - 1]);
                input.push(b'\n');
            }
            input.extend_from_slice(&one);
            checked += 1;
            let whole = scan(&input, BLOCK);
            if scan(&input, block) != whole {
                failures.push(format!("{name}: block end before its byte {s}"));
            }
        }
    }
    assert!(checked >= 200, "only {checked} placements");
    assert_none_differ(&failures);
}
