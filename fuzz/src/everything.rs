//! One input through every parser entry point: the whole scan (container
//! decoding, line classification, episode building, diagnosis, simulation),
//! each line through every forced container, and the JSON inputs
//! (recordings, oom-guard events, kubectl pods). Must never panic, and no
//! output format may carry a raw control character (SECURITY.md). Shared by
//! the fuzz target (fuzz/src/bin/pipeline.rs) and the regression test of
//! the inputs it found (tests/fuzz_regressions.rs), so both run the same.

use oomctl::analyze::episodes;
use oomctl::envelope::{Container, Decoder};
use oomctl::model::{first_unsafe_char, Episode};
use oomctl::output::{self, Format, GuardSink, Sink, Summary};
use oomctl::scan::ScanOptions;

/// Every sink's output for `ep` holds no character a terminal would act on.
fn every_format_is_clean(ep: &Episode) {
    let mut summary = Summary::default();
    summary.count(ep);
    let check = |what: &str, bytes: &[u8], tab_ok: bool| {
        let text = String::from_utf8_lossy(bytes);
        if let Some((at, c)) = first_unsafe_char(&text, tab_ok) {
            panic!("{what}: raw {c:?} at byte {at}:\n{text}");
        }
    };
    // The human formats at a narrow and a wide terminal (no colour: its
    // escapes are ours, and this checks the log's bytes); no line wider.
    for width in [20, 40, 80, 200] {
        for f in Format::ALL {
            let mut buf = Vec::new();
            {
                let mut sink = output::sink(f, Box::new(&mut buf), output::Style::new(width, false));
                sink.episode(ep).expect("writes to memory");
                sink.finish(&summary).expect("writes to memory");
            }
            check(&format!("{f:?}"), &buf, f.uses_tab());
            if f == Format::Table {
                let text = String::from_utf8_lossy(&buf);
                if let Some(l) = text.lines().find(|l| output::display_width(l) > width) {
                    panic!("table wider than {width}: {l:?}");
                }
            }
        }
    }
    for csv in [false, true] {
        let mut buf = Vec::new();
        {
            let mut sink = GuardSink::new(Box::new(&mut buf), csv, output::Style::plain());
            sink.episode(ep).expect("writes to memory");
            sink.finish(&summary).expect("writes to memory");
        }
        check("simulate", &buf, false);
    }
}

pub fn everything(data: &[u8]) {
    let opts = ScanOptions {
        block: 4096,
        // A file's mtime: year-less syslog times are dated from it.
        mtime_s: Some(1_767_312_000),
        ..ScanOptions::default()
    };
    episodes(data, "fuzz", &opts, &Default::default(), |mut ep| {
        serde_json::to_string(&ep).expect("an episode serializes");
        ep.guard = Some(oomctl::guard::simulate(&ep, &oomctl::guard::GuardPolicy::default()));
        every_format_is_clean(&ep);
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
    let _ = oomctl::recording::read(data, "fuzz");
    let _ = oomctl::k8s::attribute(&text);
}
