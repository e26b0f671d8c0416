//! Hostile inputs through the real binary: huge lines, huge task tables,
//! floods of headers, NUL bytes and invalid UTF-8. Each must end, stay in
//! bounded memory (peak RSS read from /proc while the run waits for the end
//! of its input), and print valid output. Speed is measured in
//! scripts/bench-analyze.sh, not here.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const MIB: u64 = 1 << 20;

/// Run `analyze -f jsonl` on `input` fed through stdin; the peak RSS (KiB)
/// just before the end of input, and stdout.
fn run(input: impl FnOnce(&mut dyn Write)) -> (u64, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let out = c.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        for l in BufReader::new(out).lines() {
            s.push_str(&l.expect("stdout is valid UTF-8"));
            s.push('\n');
        }
        s
    });
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut stdin);
        input(&mut w);
        w.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.id())).unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    drop(stdin);
    let out = c.wait_with_output().unwrap();
    (
        hwm,
        reader.join().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_64_mib_line_is_cut_in_bounded_memory() {
    let (hwm, out, err) = run(|w| {
        w.write_all(b"[ 1.000000] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0 ")
            .unwrap();
        let chunk = vec![b'A'; MIB as usize];
        for _ in 0..64 {
            w.write_all(&chunk).unwrap();
        }
        w.write_all(b"\n").unwrap();
    });
    assert!(hwm < 32 * 1024, "peak RSS {hwm} KiB for a 64 MiB line");
    assert!(err.contains("lines longer than"), "{err}");
    for l in out.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}

#[test]
fn a_200000_row_task_table() {
    let (_, out, _) = run(|w| {
        writeln!(
            w,
            "[ 1.000000] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
        )
        .unwrap();
        writeln!(w, "[ 1.000001] memory: usage 1024kB, limit 1024kB, failcnt 1").unwrap();
        writeln!(w, "[ 1.000002] Tasks state (memory values in pages):").unwrap();
        writeln!(
            w,
            "[ 1.000003] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
        )
        .unwrap();
        for pid in 0..200_000u32 {
            writeln!(
                w,
                "[ 1.000004] [{pid:>7}]     0 {pid:>5}     1000      100    40960        0             0 w{pid}"
            )
            .unwrap();
        }
        writeln!(w, "[ 1.000005] Memory cgroup out of memory: Killed process 7 (w7) total-vm:4000kB, anon-rss:400kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0").unwrap();
    });
    let e: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(e["tasks"].as_array().unwrap().len(), 200_000);
    assert_eq!(e["victims"][0]["pid"], 7);
}

#[test]
fn twenty_thousand_headers_without_kills_stream() {
    let (hwm, out, _) = run(|w| {
        for i in 0..20_000u32 {
            writeln!(
                w,
                "[{}.000000] p{i} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
                100 + i * 20
            )
            .unwrap();
        }
    });
    let n = out.lines().count();
    assert_eq!(n, 20_000, "each header is its own (incomplete) episode");
    assert!(out.lines().all(|l| l.contains("\"complete\":false")));
    assert!(hwm < 64 * 1024, "peak RSS {hwm} KiB");
}

#[test]
fn nul_bytes_and_invalid_utf8() {
    let (_, out, _) = run(|w| {
        for i in 0..1000u32 {
            w.write_all(b"[ 5.000000] \xff\xfe\x00 invoked oom-killer: gfp_mask=0xcc0, order=0, oom_score_adj=0\x00\n")
                .unwrap();
            w.write_all(b"[ 5.000001] Memory cgroup out of memory: Killed process ")
                .unwrap();
            w.write_all(i.to_string().as_bytes()).unwrap();
            w.write_all(b" (\x00\x1b[31m\x7f\xc3) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n")
                .unwrap();
            w.write_all(&[0u8; 100]).unwrap();
            w.write_all(b"\n\xc3\x28\xa0\xa1\xe2\x28\xa1\n").unwrap();
        }
    });
    let eps: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(eps.len(), 1000);
    let comm = eps[0]["victims"][0]["comm"].as_str().unwrap();
    assert!(!comm.chars().any(char::is_control), "{comm:?}");
}
