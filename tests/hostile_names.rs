//! No output of any format carries a raw control character, whatever bytes
//! the names in a log hold (SECURITY.md, "The text gate").
//!
//! A property test: reports written to two kernels' formats, with a hostile
//! payload in every place a log carries a name (trigger and victim comm,
//! the `CPU:` line, kernel release, cgroup paths, stats block, task table,
//! selection and oom_reaper lines, host name, boot id, panic reason), in
//! every container that decodes escapes (raw dmesg bytes, kmsg `\xNN`,
//! journal JSON `\u001b`, syslog host names). Payloads are drawn from a
//! fixed-seed generator, so a failure names a case that can be replayed.
//! Every format of `analyze`, `simulate` and `simulate --sweep`, stdout and
//! stderr, is held to `oomctl::model::first_unsafe_char`.

mod util;

use oomctl::model::first_unsafe_char;
use util::{oomctl_stdin, Run};

/// Byte strings a local user can put in a process name (15 bytes through
/// prctl) or a cgroup name (mkdir in a delegated subtree).
const PAYLOADS: &[&[u8]] = &[
    b"\x1b[2J\x1b]0;X\x07",                   // clear screen, set title (the audit's example)
    b"\x1b]8;;http://x\x1b\\l\x1b]8;;\x1b\\", // OSC 8 hyperlink
    "\u{9b}31m".as_bytes(),                   // C1 CSI, as UTF-8
    b"\x9b31m",                               // C1 CSI, as one invalid byte
    b"a\x7fb\x08\x08",                        // DEL, backspaces
    b"\rover",                                // carriage return
    b"t\tab",                                 // a tab in a name
    "\u{202e}gpj.exe".as_bytes(),             // right-to-left override
    "x\u{85}y".as_bytes(),                    // NEL
    b"n\x00ul",                               // NUL
    b"\x1bP+q\x1b\\",                         // DCS
];

/// A tiny fixed-seed generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn pick<'a>(&mut self, from: &[&'a [u8]]) -> &'a [u8] {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        from[(r >> 33) as usize % from.len()]
    }
}

/// A 6.x memcg report (v1 stats, 6.8+ task table, oom_reaper).
const MODERN: &str = "[ 4897.955674] {trigger} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 4897.955689] CPU: 0 UID: 0 PID: 7569 Comm: {trigger} Not tainted 6.18.44-{release} #1 PREEMPT(none)
[ 4897.955694] Call Trace:
[ 4897.955945] memory: usage 32768kB, limit 32768kB, failcnt 59
[ 4897.955953] memory+swap: usage 32768kB, limit 9007199254740988kB, failcnt 0
[ 4897.955957] Memory cgroup stats for /lab/{cgroup}:
[ 4897.955984] cache 0
[ 4897.955986] rss 33382400
[ 4897.955990] shmem 0
[ 4897.955993] dirty 0
[ 4897.955994] writeback 0
[ 4897.956067] total_cache 0
[ 4897.956116] total_rss 33382400
[ 4897.956142] Tasks state (memory values in pages):
[ 4897.956143] [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
[ 4897.956145] [   7500]     0  7500     1000      100       90       10         0    40960        0             0 {task}
[ 4897.956146] [   7569]     0  7569    10824     8150     8128       22         0   131072        0             0 {victim}
[ 4897.956150] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/lab/{cgroup},task_memcg=/lab/{cgroup}/{child},task={victim},pid=7569,uid=0
[ 4897.956171] Memory cgroup out of memory: Killed process 7569 ({victim}) total-vm:43296kB, anon-rss:32512kB, file-rss:88kB, shmem-rss:0kB, UID:0 pgtables:128kB oom_score_adj:0
[ 4897.956300] oom_reaper: reaped process 7569 ({victim}), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
";

/// A 3.10 memcg report (cpuset line, `Task in`, one-line stats, selection,
/// old kill line) followed by an OOM panic.
const OLD: &str = "[814389.800211] {trigger} invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=999
[814389.800222] {trigger} cpuset={cgroup} mems_allowed=0
[814389.800226] CPU: 3 PID: 28731 Comm: {trigger} Tainted: G               ------------ T 3.10.0-{release} #1
[814389.800258] Task in /kubepods/{cgroup}/{child} killed as a result of limit of /kubepods/{cgroup}
[814389.800261] memory: usage 2097152kB, limit 2097152kB, failcnt 18231
[814389.800265] Memory cgroup stats for /kubepods/{cgroup}/{child}: cache:1836KB rss:2095276KB mapped_file:0KB swap:0KB
[814389.800310] [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name
[814389.800312] [28544]     0 28544      253        1       4        0          -998 {task}
[814389.800316] [28731]  1000 28731  1623840   524102    1207        0           999 {victim}
[814389.800323] Memory cgroup out of memory: Kill process 28731 ({victim}) score 2000 or sacrifice child
[814389.800376] Killed process 28731 ({victim}), UID 1000, total-vm:6495360kB, anon-rss:2094596kB, file-rss:1812kB, shmem-rss:0kB
[814389.900000] Kernel panic - not syncing: Out of memory: {panic}
";

const FIELDS: &[&str] = &["trigger", "release", "cgroup", "child", "task", "victim", "panic"];

/// `template` with each `{field}` replaced by its payload (raw bytes).
fn fill(template: &str, rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut lines = Vec::new();
    let chosen: Vec<(&str, &[u8])> = FIELDS.iter().map(|f| (*f, rng.pick(PAYLOADS))).collect();
    for line in template.lines() {
        let mut out = Vec::new();
        let mut rest = line;
        while let Some(i) = rest.find('{') {
            let j = rest[i..].find('}').expect("closed placeholder") + i;
            out.extend_from_slice(&rest.as_bytes()[..i]);
            let name = &rest[i + 1..j];
            let (_, payload) = chosen.iter().find(|(f, _)| *f == name).expect("known field");
            out.extend_from_slice(payload);
            rest = &rest[j + 1..];
        }
        out.extend_from_slice(rest.as_bytes());
        // Split the printk stamp off, for the containers that re-wrap it.
        let close = line.find("] ").expect("stamped line");
        let stamp = line[1..close].trim().to_owned();
        lines.push((stamp, out[close + 2..].to_vec()));
    }
    lines
}

/// The kernel's kmsg escaping: control bytes, bytes ≥ 0x7f and `\`.
fn kmsg_escape(msg: &[u8]) -> String {
    let mut s = String::new();
    for &b in msg {
        if !(0x20..0x7f).contains(&b) || b == b'\\' {
            s.push_str(&format!("\\x{b:02x}"));
        } else {
            s.push(b as char);
        }
    }
    s
}

fn usec(stamp: &str) -> u64 {
    let (s, us) = stamp.split_once('.').expect("seconds.micros");
    s.parse::<u64>().unwrap() * 1_000_000 + us.parse::<u64>().unwrap()
}

/// The same report in one container; `host` is the syslog/journal host.
fn wrap(container: usize, lines: &[(String, Vec<u8>)], host: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (seq, (stamp, msg)) in lines.iter().enumerate() {
        match container {
            0 => {
                out.extend_from_slice(format!("[{stamp:>12}] ").as_bytes());
                out.extend_from_slice(msg);
            }
            1 => {
                let prio = if msg.starts_with(b"Memory cgroup out") { 3 } else { 4 };
                out.extend_from_slice(format!("{prio},{seq},{},-;{}", usec(stamp), kmsg_escape(msg)).as_bytes());
            }
            2 => {
                let v = serde_json::json!({
                    "MESSAGE": String::from_utf8_lossy(msg),
                    "_TRANSPORT": "kernel",
                    "_HOSTNAME": String::from_utf8_lossy(host),
                    "_BOOT_ID": String::from_utf8_lossy(host),
                    "_SOURCE_MONOTONIC_TIMESTAMP": usec(stamp).to_string(),
                });
                out.extend_from_slice(v.to_string().as_bytes());
            }
            _ => {
                // A host name cannot hold a space: take the payload up to one.
                let host: Vec<u8> = host.iter().copied().filter(|&b| b != b' ').collect();
                out.extend_from_slice(b"Nov 22 10:00:20 ");
                out.extend_from_slice(&host);
                out.extend_from_slice(format!(" kernel: [{stamp:>12}] ").as_bytes());
                out.extend_from_slice(msg);
            }
        }
        out.push(b'\n');
    }
    out
}

fn assert_clean(what: &str, run: &Run, tab_ok: bool) {
    for (stream, bytes, tab) in [("stdout", &run.stdout, tab_ok), ("stderr", &run.stderr, false)] {
        let text = String::from_utf8_lossy(bytes);
        if let Some((at, c)) = first_unsafe_char(&text, tab) {
            let from = text[..at].rfind('\n').map_or(0, |n| n + 1);
            panic!("{what}: {stream} carries a raw {c:?} at byte {at}: {:?}", &text[from..]);
        }
    }
}

#[test]
fn no_format_carries_a_raw_control_character() {
    let mut rng = Rng(0x00c0_ffee_d00d_f00d);
    let analyze = [
        "table", "json", "jsonl", "csv", "report", "events", "otel", "prom", "html",
    ];
    let simulate = [
        "table", "json", "jsonl", "csv", "report", "events", "otel", "prom", "html",
    ];
    for case in 0..12 {
        let mut input = Vec::new();
        for (i, template) in [MODERN, OLD].iter().enumerate() {
            let lines = fill(template, &mut rng);
            let host = rng.pick(PAYLOADS);
            input.extend(wrap((case + i) % 4, &lines, host));
        }
        let mut found = 0;
        for f in analyze {
            let run = oomctl_stdin(&["analyze", "-f", f], &input);
            assert!(run.code() <= 1, "case {case}, analyze -f {f}: {}", run.stderr_str());
            found += usize::from(run.code() == 0);
            assert_clean(&format!("case {case}, analyze -f {f}"), &run, f == "events");
        }
        assert_eq!(found, analyze.len(), "case {case}: episodes found in every format");
        // Hostile names are still matched with each other: the trigger's
        // pid comes from a `CPU:` line whose comm equals the header's.
        let jsonl = oomctl_stdin(&["analyze", "-f", "jsonl"], &input);
        let pids: Vec<serde_json::Value> = jsonl
            .stdout_str()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["trigger"]["pid"].clone())
            .collect();
        assert_eq!(pids, [7569, 28731], "case {case}");
        for f in simulate {
            let run = oomctl_stdin(&["simulate", "-f", f], &input);
            assert_clean(&format!("case {case}, simulate -f {f}"), &run, f == "events");
        }
        let run = oomctl_stdin(&["simulate", "--sweep", "-f", "csv"], &input);
        assert_clean(&format!("case {case}, simulate --sweep"), &run, false);
    }
}

/// The two causes the audit found, pinned on their own: a task-table name,
/// and a kmsg `\xNN` escape of ESC that used to be decoded after the ANSI
/// stripping had run.
#[test]
fn task_table_names_and_kmsg_escapes_are_escaped() {
    let kmsg = b"4,1,4897955674,-;x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
4,2,4897956143,-;[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
4,3,4897956146,-;[   7569]     0  7569    10824     8150   131072        0             0 \\x1b[2J\\x1b]0;X\\x07
3,4,4897956171,-;Memory cgroup out of memory: Killed process 7569 (\\x1b[2J\\x1b]0;X\\x07) total-vm:43296kB, anon-rss:32512kB, file-rss:88kB, shmem-rss:0kB
";
    let run = oomctl_stdin(&["analyze", "-f", "jsonl"], kmsg);
    let e: serde_json::Value = serde_json::from_str(run.stdout_str().lines().next().unwrap()).unwrap();
    assert_eq!(e["tasks"][0]["name"], "\\x1b[2J\\x1b]0;X\\x07");
    assert_eq!(e["victims"][0]["comm"], "\\x1b[2J\\x1b]0;X\\x07");
    for f in ["report", "csv"] {
        let run = oomctl_stdin(&["analyze", "-f", f], kmsg);
        assert_clean(&format!("analyze -f {f}"), &run, false);
        assert!(run.stdout_str().contains("\\x1b[2J"), "-f {f} shows the name escaped");
    }
}

/// Diagnostics quote what they could not read: a dangling link with a
/// hostile name found in a directory, a recording line whose unknown key
/// a parser's message repeats. Both pass the gate on stderr.
#[test]
fn diagnostics_quote_hostile_input_escaped() {
    let d = util::TempDir::new("hostile-diag");
    let name = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J";
    std::os::unix::fs::symlink("/nonexistent", d.path(name)).unwrap();
    let rec = d.path("rec.jsonl");
    std::fs::write(
        &rec,
        "{\"t\":\"header\",\"version\":1,\"source\":\"s\",\"host\":{}}\n{\"t\":\"record\",\"r\":\"x\",\"\\u001b]0;PWNED\\u0007\\u202e\":1}\n{\"t\":\"lost\",\"n\":1}\n",
    )
    .unwrap();
    let dir = d.0.display().to_string();
    let rec = rec.display().to_string();
    for args in [
        vec!["analyze", "-f", "json", &dir],
        vec!["analyze", "-j2", &dir, &rec],
        vec!["simulate", &dir],
        vec!["replay", &rec],
    ] {
        let run = util::oomctl(&args);
        assert_clean(&format!("{args:?}"), &run, false);
        assert!(
            run.stderr_str().contains("\\x1b]0;PWNED"),
            "{args:?}: {}",
            run.stderr_str()
        );
    }
}

/// journalctl -o json writes a MESSAGE holding a control character as an
/// array of byte values, where the scanner's anchor phrases cannot be
/// seen: a process named with one escape character must not hide its kill.
#[test]
fn journal_byte_array_messages_are_not_hidden() {
    let line = |msg: &[u8], us: u64| {
        let bytes: Vec<String> = msg.iter().map(|b| b.to_string()).collect();
        format!(
            "{{\"_TRANSPORT\":\"kernel\",\"_HOSTNAME\":\"n1\",\"_SOURCE_MONOTONIC_TIMESTAMP\":\"{us}\",\"MESSAGE\":[{}]}}\n",
            bytes.join(",")
        )
    };
    let plain = |msg: &str, us: u64| {
        format!("{{\"_TRANSPORT\":\"kernel\",\"_HOSTNAME\":\"n1\",\"_SOURCE_MONOTONIC_TIMESTAMP\":\"{us}\",\"MESSAGE\":\"{msg}\"}}\n")
    };
    let mut input = plain("usb 1-1: new device", 1_000_000);
    input += &line(
        b"min\x1ber invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        5_000_000,
    );
    input += &line(b"CPU: 0 PID: 7570 Comm: min\x1ber Not tainted 6.1.0 #1", 5_000_010);
    input += &plain("memory: usage 32768kB, limit 32768kB, failcnt 9", 5_000_020);
    input += &line(
        b"Memory cgroup out of memory: Killed process 7570 (min\x1ber) total-vm:43296kB, anon-rss:32512kB, file-rss:88kB, shmem-rss:0kB",
        5_000_030,
    );
    // A lone kill line whose header was rate-limited away, later.
    input += &line(
        b"Memory cgroup out of memory: Killed process 7571 (min\x1ber) total-vm:43296kB, anon-rss:32512kB, file-rss:88kB, shmem-rss:0kB",
        60_000_000,
    );
    let run = oomctl_stdin(&["analyze", "-f", "jsonl"], input.as_bytes());
    let eps: Vec<serde_json::Value> = run
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(eps.len(), 2, "{}", run.stdout_str());
    assert_eq!(eps[0]["trigger"]["comm"], "min\\x1ber");
    assert_eq!(eps[0]["trigger"]["pid"], 7570);
    assert_eq!(eps[0]["source"]["first_line"], 2);
    assert_eq!(eps[1]["victims"][0]["pid"], 7571);
    assert_clean("journal byte arrays", &run, false);
}

/// A name may end in a control character (`\r` through kmsg's `\x0d`):
/// the header, the CPU line, the task table and the kill line still name
/// the same process, so the trigger's pid and the page size are found.
#[test]
fn names_ending_in_a_control_character_still_match() {
    let kmsg = b"4,1,1000,-;st\\x0d invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
4,2,1001,-;CPU: 0 PID: 77 Comm: st\\x0d Not tainted 6.1.0 #1
4,3,1002,-;[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
4,4,1003,-;[     77]     0    77    10824     8150   131072        0             0 st\\x0d
3,5,1004,-;Memory cgroup out of memory: Killed process 77 (st\\x0d) total-vm:43296kB, anon-rss:32512kB, file-rss:88kB, shmem-rss:0kB
";
    let run = oomctl_stdin(&["analyze", "-f", "jsonl"], kmsg);
    let e: serde_json::Value = serde_json::from_str(run.stdout_str().lines().next().unwrap()).unwrap();
    for name in [&e["trigger"]["comm"], &e["tasks"][0]["name"], &e["victims"][0]["comm"]] {
        assert_eq!(name, "st\\x0d");
    }
    assert_eq!(e["trigger"]["pid"], 77);
    assert_eq!(e["page_size_source"], "inferred", "the victim's row was matched");
}
