//! Inputs that crashed the fuzzer (scripts/fuzz.sh), kept as regression
//! tests: each goes through every entry point the fuzz target calls. Test
//! builds check arithmetic overflow, as the fuzz build does.

use oomctl::envelope::{Container, Decoder};
use oomctl::scan::{scan, ScanOptions};

/// The body of fuzz/src/bin/pipeline.rs.
fn everything(data: &[u8]) {
    let opts = ScanOptions {
        block: 4096,
        ..ScanOptions::default()
    };
    scan(data, "fuzz", &opts, |ep| {
        serde_json::to_string(&ep).unwrap();
        let _ = oomctl::guard::simulate(&ep, &oomctl::guard::GuardPolicy::default());
        Ok(())
    })
    .unwrap();
    for c in [
        Container::Dmesg,
        Container::Syslog,
        Container::JournalJson,
        Container::Kmsg,
        Container::FluentBit,
    ] {
        let mut d = Decoder::new(c, Some(2024));
        let mut out = Vec::new();
        for line in data.split(|&b| b == b'\n') {
            out.clear();
            d.decode(line, &mut out);
            for l in &out {
                let _ = oomctl::kline::classify(&l.text);
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = oomctl::snapshot::parse_guard_event(&text);
    let _ = oomctl::k8s::PodIndex::from_json(&text);
    let _ = oomctl::live::recording::read(data, "fuzz");
    let _ = oomctl::k8s::attribute(&text);
}

#[test]
fn crashes_found_by_the_fuzzer() {
    let mut n = 0;
    for e in std::fs::read_dir("tests/data/fuzz-crashes").unwrap() {
        let p = e.unwrap().path();
        everything(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n >= 8, "the crashes of the first two fuzz runs");
}
