//! Hostile inputs through the real binary: huge lines, huge task tables,
//! floods of headers, NUL bytes and invalid UTF-8. Each must end, stay in
//! bounded memory (peak RSS read from /proc while the run waits for the end
//! of its input), and print valid output. Speed is measured in
//! scripts/bench-analyze.sh, not here.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

const MIB: u64 = 1 << 20;

/// A writer that counts what it passes on.
struct Counting<W>(W, u64);

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(b)?;
        self.1 += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

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
    let written = {
        let mut w = Counting(std::io::BufWriter::with_capacity(1 << 20, &mut stdin), 0);
        input(&mut w);
        w.flush().unwrap();
        w.1
    };
    // Peak memory while the input is still open: once oomctl has read
    // every byte written (its read count, /proc/PID/io rchar, covers them)
    // and sleeps, waiting for more (its state in /proc/PID/stat is S).
    let io = format!("/proc/{}/io", c.id());
    let stat = format!("/proc/{}/stat", c.id());
    let rchar = || {
        std::fs::read_to_string(&io)
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("rchar: ")?.trim().parse::<u64>().ok())
    };
    let sleeping = || {
        std::fs::read_to_string(&stat)
            .is_ok_and(|st| st.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('S')))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while rchar().is_none_or(|r| r < written) || !sleeping() {
        assert!(std::time::Instant::now() < deadline, "oomctl did not read its input");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
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

/// Several inputs dense with episodes, scanned in parallel: memory stays
/// bounded (before, each input's episodes were all held until emitted:
/// ~125 MiB here), and the output is the serial one.
#[test]
fn parallel_inputs_dense_with_episodes_stay_bounded() {
    let dir = std::env::temp_dir().join(format!("oomctl-dense-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for f in 0..2u32 {
        let p = dir.join(format!("dense{f}.log"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        for i in 0..30_000u32 {
            writeln!(
                w,
                "[{}.000000] p{f}x{i} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
                100 + i * 20
            )
            .unwrap();
        }
        w.flush().unwrap();
        files.push(p.display().to_string());
    }
    // Peak RSS: VmHWM only grows, so the last reading before the exit is
    // (nearly) the peak; read it every 2 ms while the output is drained.
    let mut c = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl", "-j2"])
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = c.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        BufReader::new(out).read_to_string(&mut s).unwrap();
        s
    });
    let mut hwm = 0u64;
    while c.try_wait().unwrap().is_none() {
        if let Some(kb) = std::fs::read_to_string(format!("/proc/{}/status", c.id()))
            .ok()
            .and_then(|st| {
                st.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        {
            hwm = hwm.max(kb);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let parallel = reader.join().unwrap();
    assert_eq!(parallel.lines().count(), 60_000);
    assert!(
        hwm > 0 && hwm < 48 * 1024,
        "peak RSS {hwm} KiB for 60,000 episodes in two inputs"
    );
    let serial = Command::new(env!("CARGO_BIN_EXE_oomctl"))
        .args(["analyze", "-f", "jsonl", "-j1"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(serial.stdout).unwrap() == parallel,
        "-j2 prints what -j1 does"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
