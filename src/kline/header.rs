//! The report's opening lines: the `invoked oom-killer:` header, the pre-4.19
//! cpuset line, and the `CPU:`/`Pid:` line that names the kernel release.

use super::num::{all, i32_dec, u32_dec};

/// `<comm> invoked oom-killer: gfp_mask=0x…(FLAGS), [nodemask=…, ]order=N, oom_score_adj=N`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub comm: &'a str,
    pub gfp_mask: &'a str,
    pub gfp_flags: Vec<&'a str>,
    pub nodemask: Option<&'a str>,
    pub order: Option<i32>,
    pub oom_score_adj: Option<i32>,
}

/// Parse the header. Field order and spacing vary by version (`oomkilladj=`
/// in 2.6.18, `oom_adj=` until 3.x, `nodemask=(null),  order=0` with two
/// spaces in 4.x), so fields are read as `key=value` pairs; `gfp_mask` and
/// `order` are required.
pub fn parse_header(t: &str) -> Option<Header<'_>> {
    let h = header_fields(t)?;
    (!h.gfp_mask.is_empty() && h.order.is_some()).then_some(h)
}

/// A header cut short (the mark removed): the task's name and the fields
/// whole before the cut (`gfp_mask` empty when lost).
pub fn parse_header_cut(t: &str) -> Option<Header<'_>> {
    let at = t.find("invoked oom-killer:")?;
    let fields = &t[at..];
    let whole = match fields.rfind([' ', ',']) {
        _ if fields.ends_with([' ', ',']) => fields,
        Some(cut) => &fields[..cut],
        None => fields,
    };
    let whole = whole.trim_end_matches([' ', ',']);
    let mut h = header_fields(&t[..at + whole.len()])?;
    h.gfp_mask = h.gfp_mask.trim();
    if h.gfp_mask.is_empty() {
        // Cut inside the flags that follow it: the mask itself is whole.
        if let Some(v) = fields[whole.len()..]
            .trim_start_matches([' ', ','])
            .strip_prefix("gfp_mask=")
        {
            if let Some((mask, _)) = v.split_once('(') {
                if mask.len() > 2 && mask.starts_with("0x") && mask[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
                    h.gfp_mask = mask;
                }
            }
        }
    }
    Some(h)
}

/// The header's fields as far as they are there.
fn header_fields(t: &str) -> Option<Header<'_>> {
    // Early 2.6 kernels printed `oom-killer: gfp_mask=0xd0, order=0` without
    // the allocating task's name.
    let (comm, rest) = match t.find("invoked oom-killer:") {
        // The name is everything before the one separating space: it may
        // itself end in a blank or a control character.
        Some(at) => (
            t[..at].strip_suffix(' ').unwrap_or(&t[..at]),
            &t[at + "invoked oom-killer:".len()..],
        ),
        None => ("", t.strip_prefix("oom-killer:")?),
    };
    let rest = rest.trim_start();
    let mut h = Header {
        comm,
        gfp_mask: "",
        gfp_flags: Vec::new(),
        nodemask: None,
        order: None,
        oom_score_adj: None,
    };
    for (key, value) in key_values(rest) {
        match key {
            "gfp_mask" => {
                let (mask, flags) = match value.find('(') {
                    Some(p) => (&value[..p], value[p + 1..].trim_end_matches(')')),
                    None => (value, ""),
                };
                if !mask.starts_with("0x") || !mask[2..].bytes().all(|b| b.is_ascii_hexdigit()) || mask.len() < 3 {
                    return None;
                }
                h.gfp_mask = mask;
                h.gfp_flags = flags.split('|').filter(|f| !f.is_empty() && *f != "none").collect();
            }
            "nodemask" if value != "(null)" => h.nodemask = Some(value),
            "order" => h.order = Some(all(i32_dec, value)?),
            "oom_score_adj" => h.oom_score_adj = Some(all(i32_dec, value)?),
            _ => {}
        }
    }
    Some(h)
}

/// Split `a=1, b=(x|y), nodemask=0,2, order=0` into pairs. A comma ends a
/// value only when a `key=` follows it, because a nodemask list such as `0,2`
/// has commas of its own.
fn key_values(s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let mut end = after.len();
        let mut search = 0;
        while let Some(c) = after[search..].find(',') {
            let comma = search + c;
            let next = after[comma + 1..].trim_start();
            let is_key = next
                .find('=')
                .is_some_and(|e| e > 0 && next[..e].bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            if is_key {
                end = comma;
                break;
            }
            search = comma + 1;
        }
        out.push((key, after[..end].trim()));
        if end == after.len() {
            break;
        }
        rest = &after[end + 1..];
    }
    out
}

/// Pre-4.19 `<comm> cpuset=<path> mems_allowed=<list>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpusetLine<'a> {
    pub comm: &'a str,
    pub cpuset: &'a str,
    pub mems_allowed: &'a str,
}

/// Parse the cpuset line printed right after the header by old kernels.
pub fn parse_cpuset_line(t: &str) -> Option<CpusetLine<'_>> {
    // Most lines looked at have no `=` at all.
    memchr::memchr(b'=', t.as_bytes())?;
    let c = t.find(" cpuset=")?;
    let m = t.rfind(" mems_allowed=")?;
    if m < c {
        return None;
    }
    Some(CpusetLine {
        comm: &t[..c],
        cpuset: &t[c + " cpuset=".len()..m],
        mems_allowed: &t[m + " mems_allowed=".len()..],
    })
}

/// A `CPU:`/`Pid:` line cut short (the mark removed): the pid and the
/// task's name when a blank after it shows the name is whole.
pub fn parse_cpu_line_cut(t: &str) -> Option<CpuLine<'_>> {
    let (pid_part, after) = if t.starts_with("CPU: ") {
        let p = t.find(" PID: ")?;
        let c = t.find(" Comm: ")?;
        (t.get(p + 6..c)?, &t[c + 7..])
    } else {
        let rest = t.strip_prefix("Pid: ")?;
        let c = rest.find(", comm: ")?;
        (&rest[..c], &rest[c + 8..])
    };
    let pid = all(u32_dec, pid_part.trim())?;
    let (comm, _) = after.split_once(' ')?;
    (!comm.is_empty()).then_some(CpuLine {
        pid,
        comm,
        kernel: None,
    })
}

/// The `CPU:` line (or the 2.6 `Pid:` line) of the dumped stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuLine<'a> {
    pub pid: u32,
    pub comm: &'a str,
    pub kernel: Option<&'a str>,
}

/// `CPU: 1 UID: 0 PID: 1887 Comm: python3 Not tainted 6.18.44-fc-v769 #1 …`,
/// `CPU: 3 PID: 9 Comm: java Kdump: loaded Tainted: G W ------------ 3.10.0-… #1`,
/// `Pid: 1234, comm: java Not tainted 2.6.32-431.el6.x86_64 #1`.
pub fn parse_cpu_line(t: &str) -> Option<CpuLine<'_>> {
    let (pid_part, comm_and_rest) = if t.starts_with("CPU: ") {
        let p = t.find(" PID: ")?;
        let c = t.find(" Comm: ")?;
        // `… PID: Comm: …` (the pid lost) overlaps the two markers.
        (t.get(p + 6..c)?, &t[c + 7..])
    } else if let Some(rest) = t.strip_prefix("Pid: ") {
        let c = rest.find(", comm: ")?;
        (&rest[..c], &rest[c + 8..])
    } else {
        return None;
    };
    let pid = all(u32_dec, pid_part.trim())?;
    let markers = [" Kdump: ", " Not tainted", " Tainted: "];
    let cut = markers.iter().filter_map(|m| comm_and_rest.find(m)).min()?;
    let comm = &comm_and_rest[..cut];
    // The release is the first token after the taint part that starts with a
    // digit and has a dot: taint flags are letters, RHEL adds `------------`.
    let kernel = comm_and_rest[cut..]
        .split_whitespace()
        .find(|w| w.as_bytes()[0].is_ascii_digit() && w.contains('.'));
    Some(CpuLine { pid, comm, kernel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_line_without_its_pid() {
        // Found by the fuzzer: the two markers overlap.
        assert!(parse_cpu_line("CPU: 0 UID: 0 PID: Comm: python3 Not tainted 6.18.44 #1").is_none());
        assert!(parse_cpu_line("CPU: 0 Comm: x PID: 5 Not tainted").is_none());
    }

    #[test]
    fn header_6_18() {
        // Real line, 6.18.44, this lab.
        let h =
            parse_header("python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0").unwrap();
        assert_eq!(h.comm, "python3");
        assert_eq!(h.gfp_mask, "0xcc0");
        assert_eq!(h.gfp_flags, ["GFP_KERNEL"]);
        assert_eq!(h.order, Some(0));
        assert_eq!(h.oom_score_adj, Some(0));
        assert_eq!(h.nodemask, None);
    }

    #[test]
    fn header_4_x_double_space_and_nodemask_list() {
        // 4.14 format: `nodemask=%*pbl,  order=` (two spaces).
        let h = parse_header(
            "stress invoked oom-killer: gfp_mask=0x14280ca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO), nodemask=0,2,  order=0, oom_score_adj=0",
        )
        .unwrap();
        assert_eq!(h.gfp_flags, ["GFP_HIGHUSER_MOVABLE", "__GFP_ZERO"]);
        assert_eq!(h.nodemask, Some("0,2"));
        assert_eq!(h.order, Some(0));
    }

    #[test]
    fn header_old_kernels_and_sysrq() {
        // 2.6.18: oomkilladj, no flags.
        let h = parse_header("java invoked oom-killer: gfp_mask=0x201d2, order=0, oomkilladj=0").unwrap();
        assert_eq!((h.gfp_mask, h.order, h.oom_score_adj), ("0x201d2", Some(0), None));
        // 2.6.32: oom_adj and oom_score_adj.
        let h =
            parse_header("java invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=-17").unwrap();
        assert_eq!(h.oom_score_adj, Some(-17));
        // sysrq-f: order=-1, comm with a slash.
        let h = parse_header("kworker/0:2 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=-1, oom_score_adj=0")
            .unwrap();
        assert_eq!((h.comm, h.order), ("kworker/0:2", Some(-1)));
        // comm with spaces.
        let h = parse_header(
            "Web Content invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=167",
        )
        .unwrap();
        assert_eq!(h.comm, "Web Content");
        // Early 2.6: no comm.
        let h = parse_header("oom-killer: gfp_mask=0xd0, order=0").unwrap();
        assert_eq!((h.comm, h.gfp_mask), ("", "0xd0"));
        assert!(parse_header("x invoked oom-killer: gfp_mask=0xzz, order=0").is_none());
        assert!(parse_header("x invoked oom-killer: order=0").is_none());
        assert!(parse_header("x invoked oom-killer: gfp_mask=0x1, order=99999999999").is_none());
    }

    #[test]
    fn cpu_lines() {
        let c = parse_cpu_line("CPU: 1 UID: 0 PID: 1887 Comm: python3 Not tainted 6.18.44-fc-v769 #1 PREEMPT(none) ")
            .unwrap();
        assert_eq!((c.pid, c.comm, c.kernel), (1887, "python3", Some("6.18.44-fc-v769")));
        let c = parse_cpu_line("CPU: 3 PID: 21051 Comm: java Kdump: loaded Tainted: G        W  OE  ------------   3.10.0-1160.el7.x86_64 #1").unwrap();
        assert_eq!(
            (c.pid, c.comm, c.kernel),
            (21051, "java", Some("3.10.0-1160.el7.x86_64"))
        );
        let c = parse_cpu_line("Pid: 1234, comm: kworker/u8:2 Not tainted 2.6.32-431.el6.x86_64 #1").unwrap();
        assert_eq!(
            (c.pid, c.comm, c.kernel),
            (1234, "kworker/u8:2", Some("2.6.32-431.el6.x86_64"))
        );
        assert!(parse_cpu_line("CPU: 0 PID: x Comm: a Not tainted 5.4.0").is_none());
    }

    #[test]
    fn cpuset_line() {
        let c = parse_cpuset_line("java cpuset=/ mems_allowed=0-1").unwrap();
        assert_eq!((c.comm, c.cpuset, c.mems_allowed), ("java", "/", "0-1"));
    }
}
