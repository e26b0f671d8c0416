//! Envelope tests: one real-format line per container variant.

use super::*;

fn one(c: Container, line: &str) -> (Stamp, String) {
    let mut d = Decoder::new(c, None);
    let mut out = Vec::new();
    d.decode(line.as_bytes(), &mut out);
    assert_eq!(out.len(), 1, "{line:?} gave {out:?}");
    let l = out.pop().unwrap();
    (l.stamp, l.text.into_owned())
}

fn all(d: &mut Decoder, line: &[u8]) -> Vec<(Stamp, String)> {
    let mut out = Vec::new();
    d.decode(line, &mut out);
    out.into_iter().map(|l| (l.stamp, l.text.into_owned())).collect()
}

const KILL: &str = "Memory cgroup out of memory: Killed process 1887 (python3) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0";

#[test]
fn dmesg_plain_timestamp() {
    let (s, t) = one(Container::Auto, &format!("[ 2811.547912] {KILL}"));
    assert_eq!(s.uptime_us, Some(2_811_547_912));
    assert_eq!(t, KILL);
    let mut d = Decoder::new(Container::Auto, None);
    all(&mut d, b"[    0.000000] Linux version 6.18.44");
    assert_eq!(d.container(), Container::Dmesg);
}

#[test]
fn dmesg_keeps_message_indentation() {
    let (s, t) = one(Container::Auto, "[ 2811.547001]  dump_stack_lvl+0x59/0x90");
    assert_eq!(s.uptime_us, Some(2_811_547_001));
    assert_eq!(t, " dump_stack_lvl+0x59/0x90");
}

#[test]
fn dmesg_caller_ids() {
    let (s, t) = one(Container::Auto, "[  123.456789][ T1887] python3 invoked oom-killer: x");
    assert_eq!((s.uptime_us, s.caller.as_deref()), (Some(123_456_789), Some("T1887")));
    assert_eq!(t, "python3 invoked oom-killer: x");
    let (s, t) = one(Container::Auto, "[  123.456789] [    C1] msg");
    assert_eq!(s.caller.as_deref(), Some("C1"));
    assert_eq!(t, "msg");
}

#[test]
fn dmesg_raw_and_decoded_levels() {
    let (s, t) = one(Container::Auto, "<4>[ 2811.547912] python3 invoked oom-killer:");
    assert_eq!(s.uptime_us, Some(2_811_547_912));
    assert_eq!(t, "python3 invoked oom-killer:");
    let (s, t) = one(
        Container::Auto,
        "kern  :err   : [ 2811.548200] Memory cgroup out of memory: x",
    );
    assert_eq!(s.uptime_us, Some(2_811_548_200));
    assert_eq!(t, "Memory cgroup out of memory: x");
    let (s, t) = one(
        Container::Auto,
        "kern  :warn  : [Sun Nov 22 10:31:07 2026] memory: usage 1kB",
    );
    assert_eq!(s.wall.as_deref(), Some("2026-11-22T10:31:07"));
    assert_eq!(t, "memory: usage 1kB");
}

#[test]
fn dmesg_ctime_in_several_locales() {
    for (line, wall) in [
        ("[Sun Nov 22 10:31:07 2026] msg", Some("2026-11-22T10:31:07")),
        ("[Mon Jan  3 09:00:00 2022] msg", Some("2022-01-03T09:00:00")),
        ("[Di Mär  1 09:00:00 2022] msg", Some("2022-03-01T09:00:00")),
        ("[mar. févr.  1 09:00:00 2022] msg", Some("2022-02-01T09:00:00")),
        ("[jue dic 15 23:59:59 2022] msg", Some("2022-12-15T23:59:59")),
        ("[四 11月 22 10:31:07 2026] msg", Some("2026-11-22T10:31:07")),
        ("[Пн ноя 22 10:31:07 2026] msg", Some("2026-11-22T10:31:07")),
        ("[Xx Yyy 22 10:31:07 2026] msg", None),
    ] {
        let (s, t) = one(Container::Auto, line);
        assert_eq!(s.wall.as_deref(), wall, "{line}");
        assert!(s.wall_raw.is_some(), "{line}");
        assert_eq!(t, "msg");
    }
}

#[test]
fn dmesg_iso_time_format() {
    let (s, t) = one(
        Container::Auto,
        "2026-11-22T10:31:07,123456+01:00 memory: usage 32768kB, limit 32768kB",
    );
    assert_eq!(s.wall.as_deref(), Some("2026-11-22T09:31:07.123456Z"));
    assert_eq!(s.wall_raw.as_deref(), Some("2026-11-22T10:31:07,123456+01:00"));
    assert_eq!(t, "memory: usage 32768kB, limit 32768kB");
}

#[test]
fn task_rows_are_not_timestamps() {
    let row =
        "[   1887]     0  1887    12365    11564     9888     1676         0   143360        0             0 python3";
    let (s, t) = one(Container::Auto, row);
    assert_eq!(s, Stamp::default());
    assert_eq!(t, row);
    let hdr = "[  pid  ]   uid  tgid total_vm      rss name";
    assert_eq!(one(Container::Auto, hdr).1, hdr);
}

#[test]
fn syslog_classic_with_kernel_timestamp() {
    let mut d = Decoder::new(Container::Auto, Some(2026));
    let got = all(
        &mut d,
        b"Nov 22 10:31:07 node-7 kernel: [ 2811.547912] python3 invoked oom-killer: gfp_mask=0xcc0",
    );
    assert_eq!(d.container(), Container::Syslog);
    let (s, t) = &got[0];
    assert_eq!(s.host.as_deref(), Some("node-7"));
    assert_eq!(s.uptime_us, Some(2_811_547_912));
    assert_eq!(s.wall.as_deref(), Some("2026-11-22T10:31:07"));
    assert_eq!(s.wall_raw.as_deref(), Some("Nov 22 10:31:07"));
    assert_eq!(t, "python3 invoked oom-killer: gfp_mask=0xcc0");
}

#[test]
fn syslog_without_year_keeps_raw_only() {
    let (s, _) = one(Container::Auto, "Jan  3 10:00:00 web1 kernel: msg");
    assert_eq!(s.wall, None);
    assert_eq!(s.wall_year, None);
    assert_eq!(s.wall_raw.as_deref(), Some("Jan  3 10:00:00"));
    assert_eq!(s.host.as_deref(), Some("web1"));
}

/// A year-less syslog time takes its year from `--year`, else from the date
/// a line before printed, else from the file's mtime; the stamp says which.
/// (Lines: the lab's kern.log, corpus/containers, moved to New Year's Eve.)
#[test]
fn syslog_without_year_is_dated_and_says_how() {
    const OLD: &[u8] = b"Dec 31 23:59:59 lab-node-1 kernel: [ 4903.135770] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0";
    const NEW: &[u8] =
        b"Jan  1 00:00:01 lab-node-1 kernel: [ 4903.135813] Memory cgroup out of memory: Killed process 7593 (python3)";
    let jan_2_2026 = Some(1_767_312_000);
    let wall = |d: &mut Decoder, line: &[u8]| {
        let (s, _) = all(d, line).remove(0);
        (s.wall.unwrap_or_default(), s.wall_year)
    };
    // The file's mtime: a log is not written after it.
    let mut d = Decoder::new(Container::Auto, None).with_mtime(jan_2_2026);
    assert_eq!(
        wall(&mut d, OLD),
        ("2025-12-31T23:59:59".into(), Some(WallYear::InferredMtime))
    );
    assert_eq!(
        wall(&mut d, NEW),
        ("2026-01-01T00:00:01".into(), Some(WallYear::InferredMtime))
    );
    // `--year` wins over everything.
    let mut d = Decoder::new(Container::Auto, Some(2019)).with_mtime(jan_2_2026);
    d.decode(
        b"2024-06-01T10:00:00+00:00 lab-node-1 kernel: oom_reaper: x",
        &mut Vec::new(),
    );
    assert_eq!(wall(&mut d, NEW), ("2019-01-01T00:00:01".into(), Some(WallYear::Given)));
    // A date printed before (short-iso, dmesg -T, journal JSON), over the
    // mtime, and carried across the new year.
    for printed in [
        &b"2020-12-31T23:59:58+0000 lab-node-1 kernel: oom_reaper: x"[..],
        b"[Thu Dec 31 23:59:58 2020] oom_reaper: x",
        br#"{"_TRANSPORT":"kernel","MESSAGE":"oom_reaper: x","__REALTIME_TIMESTAMP":"1609459198000000"}"#,
    ] {
        let mut d = Decoder::new(Container::Auto, None).with_mtime(jan_2_2026);
        let got = all(&mut d, printed);
        assert_eq!(got[0].0.wall_year, None, "a printed year is no inference");
        assert_eq!(
            wall(&mut d, OLD),
            ("2020-12-31T23:59:59".into(), Some(WallYear::InferredLine))
        );
        assert_eq!(
            wall(&mut d, NEW),
            ("2021-01-01T00:00:01".into(), Some(WallYear::InferredLine))
        );
    }
}

#[test]
fn syslog_without_host() {
    let (s, t) = one(Container::Auto, "Jan  3 10:00:00 kernel: [  5.000001] msg");
    assert_eq!(s.host, None);
    assert_eq!(s.uptime_us, Some(5_000_001));
    assert_eq!(t, "msg");
}

/// rsyslog names a remote sender without DNS by its address: an IPv6
/// literal holds colons, and stays a host.
#[test]
fn syslog_host_may_be_an_ipv6_literal() {
    let (s, t) = one(Container::Auto, "Jan  3 10:00:00 2001:db8::7 kernel: [  5.000001] msg");
    assert_eq!(s.host.as_deref(), Some("2001:db8::7"));
    assert_eq!(t, "msg");
}

#[test]
fn syslog_other_programs_are_dropped() {
    let mut d = Decoder::new(Container::Auto, None);
    assert!(all(
        &mut d,
        b"Jan  3 10:00:00 web1 kubelet[811]: python3 invoked oom-killer: x"
    )
    .is_empty());
    assert!(all(&mut d, b"Jan  3 10:00:00 systemd[1]: Started foo.").is_empty());
    assert!(all(
        &mut d,
        b"2022-01-03T10:00:00.000000+00:00 web1 earlyoom[5]: sending SIGKILL"
    )
    .is_empty());
}

#[test]
fn syslog_rfc3339_and_journal_iso() {
    let (s, t) = one(
        Container::Auto,
        "2022-01-03T10:00:00.123456+02:00 web1 kernel: [ 1.5] msg",
    );
    assert_eq!(s.wall.as_deref(), Some("2022-01-03T08:00:00.123456Z"));
    assert_eq!(s.uptime_us, Some(1_500_000));
    assert_eq!(t, "msg");
    let (s, _) = one(Container::Auto, "2022-01-03T10:00:00+0000 web1 kernel: msg");
    assert_eq!(s.wall.as_deref(), Some("2022-01-03T10:00:00Z"));
}

#[test]
fn journal_short_monotonic_and_full() {
    let (s, t) = one(Container::Auto, "[ 2811.547912] node-7 kernel: memory: usage 1kB");
    assert_eq!((s.uptime_us, s.host.as_deref()), (Some(2_811_547_912), Some("node-7")));
    assert_eq!(t, "memory: usage 1kB");
    // Without `host kernel:` the same stamp is dmesg and `memory:` is text.
    let (s, t) = one(Container::Auto, "[ 2811.547912] memory: usage 1kB");
    assert_eq!(s.host, None);
    assert_eq!(t, "memory: usage 1kB");
    let (s, _) = one(Container::Auto, "Sun 2026-11-22 10:31:07 UTC node-7 kernel: msg");
    assert_eq!(s.wall.as_deref(), Some("2026-11-22T10:31:07Z"));
}

#[test]
fn journal_separators_are_skipped() {
    let mut d = Decoder::new(Container::Auto, None);
    assert!(all(&mut d, b"-- Boot 6f3e0c1a2b3c4d5e6f708192a3b4c5d6 --").is_empty());
    assert!(all(
        &mut d,
        b"-- Logs begin at Mon 2026-11-23 09:54:34 UTC, end at Mon 2026-11-23 11:20:00 UTC. --"
    )
    .is_empty());
    let got = all(&mut d, b"Nov 22 10:31:07 node-7 kernel: msg");
    assert_eq!(got[0].0.boot_id, None);
}

#[test]
fn rsyslog_escaped_newlines() {
    let mut d = Decoder::new(Container::Auto, None);
    let got = all(
        &mut d,
        b"Jan  3 10:00:00 web1 kernel: [ 7.000001] Tasks state (memory values in pages):#012[  pid  ]#011uid",
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, "Tasks state (memory values in pages):");
    assert_eq!(got[1].1, "[  pid  ]\tuid");
    assert_eq!(got[1].0.uptime_us, Some(7_000_001));
}

#[test]
fn rsyslog_escapes_outside_syslog_are_split_too() {
    // A syslog line whose time and host were cut (`kernel: ` left), a
    // message alone (a log viewer's message column):
    // Mem-Info's counters record joined by rsyslog (issue 18).
    for (line, uptime) in [
        (
            "kernel: active_anon:1 inactive_anon:2 isolated_anon:0#012 active_file:3#011x",
            None,
        ),
        (
            "active_anon:1 inactive_anon:2 isolated_anon:0#012 active_file:3#011x",
            None,
        ),
    ] {
        let mut d = Decoder::new(Container::Auto, None);
        let got = all(&mut d, line.as_bytes());
        let texts: Vec<_> = got.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["active_anon:1 inactive_anon:2 isolated_anon:0", " active_file:3\tx"],
            "{line}"
        );
        assert!(got.iter().all(|(s, _)| s.uptime_us == uptime), "{line}");
    }
    // Without an escape a message stays one; dmesg prints no `#012`, so
    // in a dmesg line it is part of a name, never a line break.
    let mut d = Decoder::new(Container::Auto, None);
    assert_eq!(all(&mut d, b"kernel: Mem-Info:").len(), 1);
    let mut d = Decoder::new(Container::Auto, None);
    assert_eq!(all(&mut d, b"[ 12.000001] Killed process 1 (a#012b)").len(), 1);
}

#[test]
fn rfc5424_forwarded() {
    let (s, t) = one(
        Container::Auto,
        "<3>1 2022-01-03T10:00:00.5Z web1 kernel - - - [ 9.000000] Out of memory: Killed process 1 (x)",
    );
    assert_eq!(s.host.as_deref(), Some("web1"));
    assert_eq!(s.wall.as_deref(), Some("2022-01-03T10:00:00.500000Z"));
    assert_eq!(s.uptime_us, Some(9_000_000));
    assert_eq!(t, "Out of memory: Killed process 1 (x)");
}

#[test]
fn journal_json() {
    let line = r#"{"__REALTIME_TIMESTAMP":"1763807467123456","_BOOT_ID":"6f3e0c1a2b3c4d5e6f708192a3b4c5d6","_TRANSPORT":"kernel","_HOSTNAME":"node-7","_SOURCE_MONOTONIC_TIMESTAMP":"2811547912","MESSAGE":"python3 invoked oom-killer: x"}"#;
    let mut d = Decoder::new(Container::Auto, None);
    let got = all(&mut d, line.as_bytes());
    assert_eq!(d.container(), Container::JournalJson);
    let (s, t) = &got[0];
    assert_eq!(s.uptime_us, Some(2_811_547_912));
    assert_eq!(s.wall.as_deref(), Some("2025-11-22T10:31:07.123456Z"));
    assert_eq!(s.host.as_deref(), Some("node-7"));
    assert_eq!(t, "python3 invoked oom-killer: x");
    let bytes = r#"{"_TRANSPORT":"kernel","MESSAGE":[111,111,109,255]}"#;
    assert_eq!(all(&mut d, bytes.as_bytes())[0].1, "oom\u{fffd}");
    let other = r#"{"_TRANSPORT":"stdout","MESSAGE":"python3 invoked oom-killer: x"}"#;
    assert!(all(&mut d, other.as_bytes()).is_empty());
}

#[test]
fn fluent_bit_forms() {
    let obj = r#"{"date":1763807467.123456,"priority":3,"sequence":1203,"sec":2811,"usec":547912,"msg":"Memory cgroup out of memory: Killed process 1 (x)"}"#;
    for line in [
        obj.to_owned(),
        format!("[1763807467.123456, {obj}]"),
        format!("kmsg.0: [1763807467.123456, {obj}]"),
    ] {
        let mut d = Decoder::new(Container::Auto, None);
        let got = all(&mut d, line.as_bytes());
        assert_eq!(d.container(), Container::FluentBit, "{line}");
        let (s, t) = &got[0];
        assert_eq!((s.uptime_us, s.seq), (Some(2_811_547_912), Some(1203)));
        assert_eq!(s.wall.as_deref(), Some("2025-11-22T10:31:07.123456Z"));
        assert_eq!(t, "Memory cgroup out of memory: Killed process 1 (x)");
    }
}

#[test]
fn kmsg_records() {
    let mut d = Decoder::new(Container::Auto, None);
    let got = all(
        &mut d,
        b"4,1203,2811547912,-,caller=T1887;python3 invoked oom-killer: x",
    );
    assert_eq!(d.container(), Container::Kmsg);
    let (s, t) = &got[0];
    assert_eq!(
        (s.seq, s.uptime_us, s.caller.as_deref()),
        (Some(1203), Some(2_811_547_912), Some("T1887"))
    );
    assert_eq!(t, "python3 invoked oom-killer: x");
    // Dictionary lines belong to the record above.
    assert!(all(&mut d, b" SUBSYSTEM=memory").is_empty());
    // Escapes, including an embedded newline.
    let got = all(&mut d, b"6,1204,2811547913,-;a\\x5cb\\x0ac\\x09d");
    assert_eq!(got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(), ["a\\b", "c\td"]);
    // Records of user-space facilities (systemd writing to kmsg) are not the kernel's.
    assert!(all(&mut d, b"30,1205,2811547914,-;systemd[1]: oom something").is_empty());
}

#[test]
fn quoting_and_indentation_are_removed() {
    for line in [
        format!("> [ 2811.547912] {KILL}"),
        format!(">> > [ 2811.547912] {KILL}"),
        format!("    [ 2811.547912] {KILL}"),
        format!("\t[ 2811.547912] {KILL}"),
    ] {
        let (s, t) = one(Container::Auto, &line);
        assert_eq!(s.uptime_us, Some(2_811_547_912), "{line}");
        assert_eq!(t, KILL);
    }
    assert_eq!(one(Container::Auto, &format!("> {KILL}")).1, KILL);
    // Quoted in source code comments.
    let (s, t) = one(Container::Auto, &format!("\t\t// 3,13796,359453210036,-;{KILL}"));
    assert_eq!((s.seq, t.as_str()), (Some(13796), KILL));
    assert_eq!(one(Container::Auto, &format!("# [ 1.000000] {KILL}")).1, KILL);
}

#[test]
fn ansi_colours_are_removed() {
    let (s, t) = one(
        Container::Auto,
        "\x1b[32m[ 2811.547912]\x1b[0m \x1b[33mpython3 invoked oom-killer\x1b[0m: x",
    );
    assert_eq!(s.uptime_us, Some(2_811_547_912));
    assert_eq!(t, "python3 invoked oom-killer: x");
}

#[test]
fn forced_container_falls_back_to_plain() {
    let (s, t) = one(Container::Syslog, "[ 1.000000] msg");
    assert_eq!(s, Stamp::default());
    assert_eq!(t, "[ 1.000000] msg");
    let (s, t) = one(Container::Plain, "[ 1.000000] msg");
    assert_eq!(s, Stamp::default());
    assert_eq!(t, "[ 1.000000] msg");
    assert_eq!(Decoder::new(Container::Kmsg, None).container(), Container::Kmsg);
}

/// A forced container reads every line as its own: a line in another
/// container's form is the bare message, flagged, and never detected as
/// that container (no stamp, no foreign prefix read).
#[test]
fn forced_container_flags_lines_not_in_its_form() {
    // The lab's 6.18 capture in each container (corpus/real, corpus/containers).
    let lines = [
        (Container::Dmesg, "[ 4897.955674] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"),
        (Container::Kmsg, "4,36759,12403577846,-;python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"),
        (Container::Syslog, "Nov 23 11:16:17 lab-node-1 kernel: [ 4903.135770] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"),
        (Container::JournalJson, r#"{"_TRANSPORT":"kernel","MESSAGE":"python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0","_SOURCE_MONOTONIC_TIMESTAMP":"4903135770"}"#),
        (Container::FluentBit, r#"{"priority":4,"sequence":36759,"sec":4903,"usec":135770,"msg":"python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"}"#),
    ];
    for (forced, _) in lines {
        for (form, line) in lines {
            let mut d = Decoder::new(forced, None);
            let got = all(&mut d, line.as_bytes());
            assert_eq!(d.rejected(), form != forced, "{forced:?} on {form:?}");
            assert_eq!(d.container(), forced, "never detects another container");
            if form != forced {
                assert_eq!(got, vec![(Stamp::default(), line.to_owned())], "{forced:?} on {form:?}");
            } else {
                assert!(got[0].1.starts_with("python3 invoked"), "{forced:?}: {got:?}");
            }
        }
    }
    // The flag is the last line's; plain and auto reject nothing.
    let mut d = Decoder::new(Container::Kmsg, None);
    all(&mut d, lines[0].1.as_bytes());
    all(&mut d, lines[1].1.as_bytes());
    assert!(!d.rejected());
    for c in [Container::Plain, Container::Auto] {
        let mut d = Decoder::new(c, None);
        all(&mut d, b"no container at all");
        assert!(!d.rejected(), "{c:?}");
    }
}

#[test]
fn invalid_utf8_and_crlf() {
    let mut d = Decoder::new(Container::Auto, None);
    let got = all(&mut d, b"[ 1.000000] comm \xff\xfe x\r");
    assert_eq!(got[0].1, "comm \u{fffd}\u{fffd} x");
}

#[test]
fn never_panics_on_hostile_bytes() {
    let seeds: &[&[u8]] = &[
        b"[",
        b"[]",
        b"[ .]",
        b"[99999999999999999999.1]",
        b"<",
        b"<999>",
        b"<4>",
        b"1,2,3,-;",
        b"1,2,3;",
        b"99999999999999999999999,1,1,-;x",
        b"{",
        b"{\"MESSAGE\":",
        b"[1, {\"msg\":1}]",
        b"x: [1, {\"msg\":\"a\"",
        b"\\x",
        b"2022-01-03T25:00:00+99:99 h kernel: x",
        b"2022-01-0",
        b"Jan 99 10:00:00 h kernel: x",
        b"Feb 30 10:00:00 h kernel: x",
        b"-- Boot --",
        b"<3>1 ",
        b"<3>1 - - kernel - - [unterminated",
        b"kern  :",
        b"\x1b[",
        b"\x1b",
        b"> > >",
        "[四 13月 99 99:99:99 2026]".as_bytes(),
    ];
    for c in [
        Container::Auto,
        Container::Dmesg,
        Container::Syslog,
        Container::JournalJson,
        Container::Kmsg,
        Container::FluentBit,
        Container::Plain,
    ] {
        let mut d = Decoder::new(c, Some(2022));
        for s in seeds {
            for cut in 0..=s.len() {
                let mut out = Vec::new();
                d.decode(&s[..cut], &mut out);
                let mut kmsg = b"4,1,1,-;".to_vec();
                kmsg.extend_from_slice(&s[..cut]);
                d.decode(&kmsg, &mut out);
            }
        }
    }
}

// Issue 13: containers nobody listed, one test per shape.

#[test]
fn grep_file_names_are_not_part_of_the_line() {
    let (s, t) = one(
        Container::Auto,
        &format!("/var/log/kern.log:Mar  3 02:14:07 ci-runner-07 kernel: [1201331.447211] {KILL}"),
    );
    assert_eq!((s.host.as_deref(), t.as_str()), (Some("ci-runner-07"), KILL));
    let (s, t) = one(Container::Auto, &format!("./kern.log.1:12:[ 1.000000] {KILL}"));
    assert_eq!((s.uptime_us, t.as_str()), (Some(1_000_000), KILL));
    // A path-like message stays whole.
    assert_eq!(
        one(Container::Auto, "/usr/bin/foo: not found").1,
        "/usr/bin/foo: not found"
    );
}

#[test]
fn masked_and_glued_hosts() {
    let (s, t) = one(
        Container::Auto,
        &format!("Jun 12 03:14:15 ** kernel: [ 8123.456781] {KILL}"),
    );
    assert_eq!((s.host, t.as_str()), (None, KILL));
    let (s, t) = one(
        Container::Auto,
        &format!("Dec 20 15:32:34 MyVMkernel: [497806.660728] {KILL}"),
    );
    assert_eq!(
        (s.host.as_deref(), s.uptime_us, t.as_str()),
        (Some("MyVM"), Some(497_806_660_728), KILL)
    );
}

#[test]
fn stamps_behind_other_prefixes() {
    // klog around `dmesg --reltime`: a stamp without an uptime.
    let (s, t) = one(
        Container::Auto,
        &format!("I0601 23:23:10.446437   13604 utils.go:240] > [  +0.000036] {KILL}"),
    );
    assert_eq!((s.uptime_us, t.as_str()), (None, KILL));
    // A console logger's wall clock before the kernel's stamp.
    let (s, t) = one(Container::Auto, &format!("[2025-06-04 17:51:20] [   21.719618] {KILL}"));
    assert_eq!(s.wall.as_deref(), Some("2025-06-04T17:51:20"));
    assert_eq!((s.uptime_us, t.as_str()), (Some(21_719_618), KILL));
    // kubectl logs --timestamps: the uptime is no syslog host.
    let (s, t) = one(
        Container::Auto,
        "2024-05-14T09:12:30.001127342Z [1119870.390117] IPv6: link is up",
    );
    assert_eq!(
        (s.uptime_us, s.host, t.as_str()),
        (Some(1_119_870_390_117), None, "IPv6: link is up")
    );
    // VMware's vmware.log: a priority, then the stamp.
    let (s, t) = one(
        Container::Auto,
        &format!("2023-12-04T10:49:30.106Z In(05) vcpu-5 - Guest: <6>[39261021.113862] {KILL}"),
    );
    assert_eq!((s.uptime_us, t.as_str()), (Some(39_261_021_113_862), KILL));
    // A paste that began one byte late lost the stamp's `[`.
    let (s, t) = one(Container::Auto, &format!("5193605.506728] {KILL}"));
    assert_eq!((s.uptime_us, t.as_str()), (Some(5_193_605_506_728), KILL));
}

#[test]
fn bare_kernel_tags() {
    assert_eq!(one(Container::Auto, &format!("kernel: {KILL}")).1, KILL);
    assert_eq!(one(Container::Auto, &format!("    kernel: {KILL}")).1, KILL);
}

#[test]
fn wall_seconds_tell_gaps_without_uptimes() {
    let at = |raw: &str| {
        wall_seconds(&Stamp {
            wall_raw: Some(raw.to_owned()),
            ..Stamp::default()
        })
    };
    assert_eq!(at("Sep 14 10:32:52").unwrap() - at("Sep 14 10:22:52").unwrap(), 600);
    let iso = Stamp {
        wall: Some("2024-05-14T09:12:33.418204Z".to_owned()),
        ..Stamp::default()
    };
    assert_eq!(wall_seconds(&iso), Some(1_715_677_953));
    assert_eq!(at("yesterday"), None);
}

/// The byte-by-byte stamp reader agrees with the general one wherever it
/// reads a stamp, and leaves the others to it.
#[test]
fn plain_uptime_agrees_with_parse_uptime() {
    fn slow(s: &str) -> Option<(u64, &str)> {
        let r = s.strip_prefix('[')?;
        let end = r.find(']')?;
        Some((parse_uptime(r[..end].trim_start())?, &r[end + 1..]))
    }
    for s in [
        "[    0.000000] x",
        "[ 4901.830394] python3",
        "[1.5] a",
        "[123456789012.123456789] a",
        "[   12.1234567] a",
        "[1234567890123.1] a",
        "[ 1.] a",
        "[ .5] a",
        "[\t1.5] a",
        "[ 1.5 ] a",
        "[ -1.5] a",
        "[ 1.5",
        "[",
        // The six digits the kernel prints, read as one array, and what
        // comes near them.
        "[1.123456]",
        "[1.123456",
        "[ 2.12345] a",
        "[ 3.123456x] a",
        "[ 4.123456 ] a",
        "[ 5.12345678] a",
        "[ 6.12345é] a",
        "[ 7.123456789] a",
        "[ 8.1234567890] a",
        "[123456789012.1] a",
        "[  ",
        "[ 9",
        "[1 234.123456] a",
        "[     .123456] a",
        "[ 12 3.123456] a",
        "[12345.123456] a",
        "[ 1234.12345a] a",
    ] {
        assert_eq!(
            plain_stamp_len(s.as_bytes()),
            plain_uptime(s.as_bytes()).map(|(_, len)| len),
            "{s}"
        );
        match plain_uptime(s.as_bytes()) {
            Some((us, len)) => assert_eq!(Some((us, &s[len..])), slow(s), "{s}"),
            None => assert!(slow(s).is_none() || s.contains('\t'), "{s}"),
        }
        assert_eq!(bracket_uptime(s), slow(s), "{s}");
    }
}

/// The stamp's length read at fixed places agrees with the full reader on
/// every shape near the kernel's: blanks, digits and fraction widths
/// around it, and each byte of a stamp replaced by every byte value.
#[test]
fn plain_stamp_len_agrees_with_plain_uptime() {
    let mut cases = Vec::new();
    for blanks in 0..9 {
        for int in 0..15 {
            for frac in [0, 1, 5, 6, 7, 9, 10] {
                let stamp = format!("[{}{}.{}]", " ".repeat(blanks), "7".repeat(int), "3".repeat(frac));
                for tail in ["", " x", "] y", " systemd-oomd[1]: Swap used"] {
                    cases.push(format!("{stamp}{tail}").into_bytes());
                }
            }
        }
    }
    for base in [&b"[ 1234.567890] bloom filter"[..], b"[123456.567890] bloom filter"] {
        for i in 0..16 {
            for c in 0..=u8::MAX {
                let mut v = base.to_vec();
                v[i] = c;
                cases.push(v);
            }
        }
    }
    for case in &cases {
        let want = plain_uptime(case).map(|(_, len)| len);
        assert_eq!(plain_stamp_len(case), want, "{}", String::from_utf8_lossy(case));
    }
}

/// The scanner's undecoded reading of a dmesg line's message agrees with
/// the decoder's, caller id included.
#[test]
fn plain_dmesg_message_agrees_with_dmesg() {
    for line in [
        "[    1.000000] x86/mm: Memory block size: 128MB",
        "[    1.000000] [T12] [  pid  ]   uid  tgid",
        "[    1.000000][  C0] oom-kill:constraint=CONSTRAINT_NONE",
        "[    1.000000] [   7582]     0  7582     4398 python3",
        "[    1.000000]  dump_stack_lvl+0x57/0x80",
        "[    1.000000] [T1234567890] Task in /a killed as a result of limit of /a",
    ] {
        let plain = plain_dmesg_message(line.as_bytes()).unwrap();
        let plain = plain.strip_prefix(b" ").unwrap_or(plain);
        assert_eq!(plain, dmesg_head(line).unwrap().2.as_bytes(), "{line}");
    }
    assert_eq!(plain_dmesg_message(b"[  pid  ]   uid  tgid"), None);
}

/// The wall clock written and read by hand agrees with chrono's formatter
/// and parser, across years, months' ends, leap days and fractions, and
/// outside the form's range (where chrono's answer is taken).
#[test]
fn wall_clock_by_hand_agrees_with_chrono() {
    use chrono::{Duration, NaiveDate, NaiveDateTime};
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut checked = 0;
    for start in [
        (1, 1, 1),
        (1970, 1, 1),
        (1999, 12, 31),
        (2024, 2, 28),
        (2026, 11, 29),
        (9999, 12, 30),
    ] {
        let base = NaiveDate::from_ymd_opt(start.0, start.1, start.2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for _ in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let d = base + Duration::nanoseconds((seed % (3 * 86_400_000_000_000)) as i64);
            for frac in [false, true] {
                let want = match frac {
                    true => d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                    false => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
                };
                let got = fmt_naive(&d, frac);
                assert_eq!(got, want);
                let parsed = NaiveDateTime::parse_from_str(&want[..19], "%Y-%m-%dT%H:%M:%S").ok();
                assert_eq!(wall_time(&got), parsed, "{got}");
                checked += 1;
            }
        }
    }
    let far = NaiveDate::from_ymd_opt(12345, 6, 7)
        .unwrap()
        .and_hms_opt(8, 9, 10)
        .unwrap();
    assert_eq!(fmt_naive(&far, false), far.format("%Y-%m-%dT%H:%M:%S").to_string());
    for bad in ["2026-02-30T00:00:00", "2026-11-29 10:00:00", "2026-11-29T10:00", "x"] {
        assert_eq!(wall_time(bad), None, "{bad}");
    }
    assert!(checked >= 4800);
}

/// What a scanner reads of a line without decoding it agrees with the
/// decoding, on every line of the corpus in every form: a line said to
/// begin a record decodes to stamped messages only (or none), and a line
/// skimmed gives the message decoded and leaves the year rule as decoding
/// it would (a decoder that skims every line it can beside one that
/// decodes all).
#[test]
fn stamp_reading_agrees_with_decoding() {
    let (mut records, mut messages) = (0, 0);
    // The corpus, and the shapes a review found (lines without a time).
    let mut files = crate::corpus_files();
    for e in std::fs::read_dir("tests/data/prefilter").expect("tests/data/prefilter") {
        files.push(e.expect("an entry").path());
    }
    for f in files {
        let data = std::fs::read(&f).unwrap();
        let mut forms: Vec<(Container, Vec<u8>)> = crate::FORMS
            .iter()
            .map(|form| {
                let c = if form.starts_with("dmesg") {
                    Container::Dmesg
                } else {
                    Container::Syslog
                };
                (c, crate::in_form(&data, form))
            })
            .collect();
        forms.push((Container::Dmesg, data.clone()));
        forms.push((Container::Syslog, data));
        for (c, text) in &forms {
            let mtime = Some(1_795_500_000);
            let mut reads = Decoder::new(*c, None).with_mtime(mtime);
            let mut skims = Decoder::new(*c, None).with_mtime(mtime);
            for line in text.split(|&b| b == b'\n') {
                let what = || format!("{}: {:?}", f.display(), String::from_utf8_lossy(line));
                let mut out = Vec::new();
                reads.decode(line, &mut out);
                if starts_record(*c, line) {
                    records += 1;
                    let stamped = out.iter().all(|l| l.stamp != Stamp::default());
                    assert!(!reads.rejected() && stamped, "{}", what());
                }
                let mut message = None;
                if skims.skim(line, |m| {
                    message = Some(m.to_vec());
                    true
                }) {
                    messages += 1;
                    let decoded: Vec<&str> = out.iter().map(|l| l.text.trim_start()).collect();
                    let m = message.expect("the message");
                    assert_eq!(
                        decoded,
                        [std::str::from_utf8(m.trim_ascii_start()).unwrap()],
                        "{}",
                        what()
                    );
                } else {
                    skims.decode(line, &mut Vec::new());
                }
                assert_eq!(format!("{:?}", skims.years), format!("{:?}", reads.years), "{}", what());
            }
        }
    }
    assert!(records > 20_000 && messages > 20_000, "{records} {messages}");
}

/// The byte-level readings of a stamp's parts agree with the plain ones
/// they replaced: `HH:MM:SS[.frac]` against splitting at colons, dates and
/// offsets likewise, and
/// English month abbreviations against the month table, on every short
/// string of their characters.
#[test]
fn stamp_parts_by_bytes_agree_with_splitting() {
    fn split_time(s: &str) -> Option<(u32, u32, u32, Option<u32>)> {
        let (hms, frac) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let mut it = hms.split(':');
        let h = digits(it.next()?, 2, 2)?.parse().ok()?;
        let m = digits(it.next()?, 2, 2)?.parse().ok()?;
        let sec = digits(it.next()?, 2, 2)?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        let ns = match frac {
            Some(f) => Some(format!("{:0<9}", digits(f, 1, 9)?).parse().ok()?),
            None => None,
        };
        Some((h, m, sec, ns))
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let alphabet = b"0123456789::::..,x ";
    for _ in 0..200_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 15) as usize;
        let mut s: Vec<u8> = (0..len)
            .map(|i| alphabet[((seed >> (i * 4)) % alphabet.len() as u64) as usize])
            .collect();
        if seed.is_multiple_of(3) && s.len() >= 8 {
            s[2] = b':';
            s[5] = b':';
        }
        let s = String::from_utf8(s).unwrap();
        assert_eq!(parse_time(&s), split_time(&s), "{s:?}");
    }
    fn split_date(s: &str) -> Option<(i32, u32, u32)> {
        let mut it = s.split('-');
        let y = digits(it.next()?, 4, 4)?.parse().ok()?;
        let m = digits(it.next()?, 2, 2)?.parse().ok()?;
        let d = digits(it.next()?, 2, 2)?.parse().ok()?;
        it.next().is_none().then_some((y, m, d))
    }
    fn collect_offset(z: &str) -> Option<chrono::FixedOffset> {
        let sign = match z.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hm: String = z[1..].chars().filter(|&c| c != ':').collect();
        let hm = digits(&hm, 4, 4)?;
        let h: i32 = hm[..2].parse().ok()?;
        let m: i32 = hm[2..].parse().ok()?;
        chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
    }
    let alphabet = b"0123456789---::+x";
    for _ in 0..200_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 12) as usize;
        let mut s: Vec<u8> = (0..len)
            .map(|i| alphabet[((seed >> (i * 5)) % alphabet.len() as u64) as usize])
            .collect();
        if seed.is_multiple_of(3) && s.len() >= 8 {
            s[4] = b'-';
            s[7] = b'-';
        }
        let s = String::from_utf8(s).unwrap();
        assert_eq!(parse_date(&s), split_date(&s), "{s:?}");
        let z = format!("{}{s}", if seed.is_multiple_of(2) { '+' } else { '-' });
        assert_eq!(parse_offset(&z), collect_offset(&z), "{z:?}");
    }
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').chain(['.', 'é']).collect();
    for a in &letters {
        for b in &letters {
            for c in &letters {
                let tok = format!("{a}{b}{c}");
                assert_eq!(month_number(&tok), month_lookup(&tok), "{tok}");
            }
        }
    }
}
