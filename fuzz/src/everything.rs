//! One input through every parser entry point: the whole scan (container
//! decoding, line classification, episode building, diagnosis, simulation),
//! each line through every forced container, and the JSON inputs
//! (recordings, oom-guard events, kubectl pods). Must never panic. Shared by
//! the fuzz target (fuzz/src/bin/pipeline.rs) and the regression test of
//! the inputs it found (tests/fuzz_regressions.rs), so both run the same.

use oomctl::envelope::{Container, Decoder};
use oomctl::scan::{scan, ScanOptions};

pub fn everything(data: &[u8]) {
    let opts = ScanOptions {
        block: 4096,
        ..ScanOptions::default()
    };
    scan(data, "fuzz", &opts, |ep| {
        serde_json::to_string(&ep).expect("an episode serializes");
        let _ = oomctl::guard::simulate(&ep, &oomctl::guard::GuardPolicy::default());
        Ok(())
    })
    .expect("a scan of bytes in memory cannot fail");
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
