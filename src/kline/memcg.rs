//! Memory-cgroup lines of a report: the usage/limit/failcnt counters, the
//! pre-4.19 `Task in … killed as a result of limit of …`, the stats blocks in
//! their three layouts, the 4.19+ `oom-kill:` summary and the group-kill line.

use super::num::{all, kb_bytes, sep, u32_dec, u64_dec};
use crate::model::Counter;
use nom::bytes::complete::tag;
use nom::sequence::tuple;

/// Which counter a `…: usage NkB, limit NkB, failcnt N` line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterKind {
    Memory,
    MemSwap,
    Kmem,
    Swap,
}

/// `memory: usage 32768kB, limit 32768kB, failcnt 19` and its
/// `memory+swap:`, `kmem:` (v1) and `swap:` (v2) twins.
pub fn parse_counter(t: &str) -> Option<(CounterKind, Counter)> {
    // Every name below starts so: most lines looked at are not searched.
    if !(t.starts_with("memory") || t.starts_with("kmem") || t.starts_with("swap")) {
        return None;
    }
    let (name, rest) = t.split_once(": usage ")?;
    let kind = match name {
        "memory" => CounterKind::Memory,
        "memory+swap" => CounterKind::MemSwap,
        "kmem" => CounterKind::Kmem,
        "swap" => CounterKind::Swap,
        _ => return None,
    };
    let parse = tuple((
        kb_bytes,
        sep(","),
        tag("limit "),
        kb_bytes,
        sep(","),
        tag("failcnt "),
        u64_dec,
    ));
    let (usage_bytes, _, _, limit, _, _, failcnt) = all(parse, rest.trim_end())?;
    let (limit_bytes, unlimited) = crate::units::limit(limit);
    Some((
        kind,
        Counter {
            usage_bytes,
            limit_bytes,
            unlimited,
            failcnt,
        },
    ))
}

/// `Task in /a/b killed as a result of limit of /a` → (task_memcg, oom_memcg).
pub fn parse_task_in(t: &str) -> Option<(&str, &str)> {
    let rest = t.strip_prefix("Task in ")?;
    let (task, oom) = rest.split_once(" killed as a result of limit of ")?;
    Some((task, oom.trim_end()))
}

/// `Memory cgroup stats for <path>:` with, in the pre-5.3 one-line form, the
/// `key:NKB` pairs that follow on the same line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsHeader<'a> {
    pub path: &'a str,
    /// The one-line form's pairs, values in bytes; None for the multi-line
    /// form whose `key value` lines follow.
    pub oneline: Option<Vec<(&'a str, u64)>>,
}

/// Parse a stats header in either form.
pub fn parse_stats_header(t: &str) -> Option<StatsHeader<'_>> {
    let rest = t.strip_prefix("Memory cgroup stats for ")?.trim_end();
    if let Some(path) = rest.strip_suffix(':') {
        if !path.contains(": ") {
            return Some(StatsHeader { path, oneline: None });
        }
    }
    // One-line form: the path ends at the first `: ` after which every
    // token is `key:NKB` (paths such as `…slice:cri-containerd:id` hold
    // colons, never `: `).
    let (path, pairs) = rest.split_once(": ")?;
    let mut out = Vec::new();
    for tok in pairs.split_whitespace() {
        let (key, value) = tok.split_once(':')?;
        out.push((key, all(kb_bytes, value)?));
    }
    Some(StatsHeader {
        path,
        oneline: Some(out),
    })
}

/// A multi-line stats entry `key value` (`rss 33488896`, `anon 1234`).
pub fn parse_stat_kv(t: &str) -> Option<(&str, u64)> {
    // A byte loop, not `split_once`: the key is a few bytes, and memchr's
    // setup costs more than it finds (forty lines a report).
    let t = t.trim();
    let sp = t.bytes().position(|b| b == b' ')?;
    let (key, value) = (&t[..sp], &t[sp + 1..]);
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    Some((key, all(u64_dec, value.trim_start())?))
}

/// The 4.19+ summary line (after the `oom-kill:` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomKill<'a> {
    pub constraint: &'a str,
    pub nodemask: Option<&'a str>,
    pub cpuset: Option<&'a str>,
    pub mems_allowed: Option<&'a str>,
    /// None for `global_oom`.
    pub oom_memcg: Option<&'a str>,
    pub task_memcg: Option<&'a str>,
    /// The victim; None only where the line was cut before it.
    pub task: Option<&'a str>,
    pub pid: Option<u32>,
    pub uid: Option<u32>,
}

/// Parse `constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=python3,pid=1887,uid=0`.
/// Values may hold commas (nodemask lists, cgroup and task names), so each
/// field is cut at the separator that introduces the NEXT known key: from the
/// right for the task part, from the left for the constraint part.
pub fn parse_oom_kill(s: &str) -> Option<OomKill<'_>> {
    let s = s.trim_end();
    let (rest, uid) = match s.rfind(",uid=") {
        Some(at) => (&s[..at], Some(all(u32_dec, &s[at + 5..])?)),
        None => (s, None),
    };
    let at = rest.rfind(",pid=")?;
    let pid = all(u32_dec, &rest[at + 5..])?;
    let rest = &rest[..at];
    let at = rest.rfind(",task=")?;
    let task = &rest[at + 6..];
    let rest = &rest[..at];
    let (rest, task_memcg) = match rest.rfind(",task_memcg=") {
        Some(at) => (&rest[..at], Some(&rest[at + 12..])),
        None => (rest, None),
    };
    let (rest, oom_memcg) = if let Some(r) = rest.strip_suffix(",global_oom") {
        (r, None)
    } else if let Some(at) = rest.rfind(",oom_memcg=") {
        (&rest[..at], Some(&rest[at + 11..]))
    } else {
        (rest, None)
    };
    let rest = rest.strip_prefix("constraint=")?;
    let cut = |r: &'static str| -> (usize, usize) { (rest.find(r).unwrap_or(rest.len()), r.len()) };
    let (c_end, _) = cut(",nodemask=");
    let constraint = &rest[..c_end];
    if !constraint.starts_with("CONSTRAINT_") {
        return None;
    }
    let field = |key: &str, next: &str| -> Option<&str> {
        let start = rest.find(key)? + key.len();
        let end = rest[start..].find(next).map_or(rest.len(), |e| start + e);
        Some(&rest[start..end])
    };
    Some(OomKill {
        constraint,
        nodemask: field(",nodemask=", ",cpuset=").filter(|n| *n != "(null)"),
        cpuset: field(",cpuset=", ",mems_allowed="),
        mems_allowed: field(",mems_allowed=", "\u{0}"),
        oom_memcg,
        task_memcg,
        task: Some(task),
        pid: Some(pid),
        uid,
    })
}

/// An `oom-kill:` line cut short (`…,cpuset=/,mems_al...`, the mark
/// already removed): every field whole before the cut, read from the left;
/// the field the cut fell in is lost (unless `s` ends with its comma).
pub fn parse_oom_kill_cut(s: &str) -> Option<OomKill<'_>> {
    const KEYS: [&str; 9] = [
        ",nodemask=",
        ",cpuset=",
        ",mems_allowed=",
        ",global_oom",
        ",oom_memcg=",
        ",task_memcg=",
        ",task=",
        ",pid=",
        ",uid=",
    ];
    let whole_last = s.ends_with(',');
    let rest = s.trim_end_matches(',').strip_prefix("constraint=")?;
    let mut fields: Vec<(&str, &str)> = Vec::new();
    let (mut key, mut start) = ("constraint=", 0);
    for next in KEYS {
        if let Some(at) = rest[start..].find(next) {
            fields.push((key, &rest[start..start + at]));
            (key, start) = (next.trim_start_matches(','), start + at + next.len());
        }
    }
    if whole_last {
        fields.push((key, &rest[start..]));
    }
    let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
    let constraint = get("constraint=")?;
    if !constraint.starts_with("CONSTRAINT_") {
        return None;
    }
    Some(OomKill {
        constraint,
        nodemask: get("nodemask=").filter(|n| *n != "(null)"),
        cpuset: get("cpuset="),
        mems_allowed: get("mems_allowed="),
        oom_memcg: get("oom_memcg="),
        task_memcg: get("task_memcg="),
        task: get("task="),
        pid: get("pid=").and_then(|p| all(u32_dec, p)),
        uid: get("uid=").and_then(|u| all(u32_dec, u)),
    })
}

/// `Tasks in /a/b are going to be killed due to memory.oom.group set`
pub fn parse_group_kill(t: &str) -> Option<&str> {
    let rest = t.strip_prefix("Tasks in ")?;
    let (path, _) = rest.split_once(" are going to be killed due to memory.oom.group set")?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters() {
        // Seed 004 (4.x, cgroup v1).
        let (k, c) = parse_counter("memory: usage 585936kB, limit 585936kB, failcnt 75129").unwrap();
        assert_eq!(k, CounterKind::Memory);
        assert_eq!(
            c,
            Counter {
                usage_bytes: 585936 * 1024,
                limit_bytes: Some(585936 * 1024),
                unlimited: false,
                failcnt: 75129
            }
        );
        let (k, c) = parse_counter("memory+swap: usage 585936kB, limit 9007199254740988kB, failcnt 0").unwrap();
        assert_eq!((k, c.limit_bytes, c.unlimited), (CounterKind::MemSwap, None, true));
        assert_eq!(
            parse_counter("kmem: usage 24148kB, limit 9007199254740988kB, failcnt 0")
                .unwrap()
                .0,
            CounterKind::Kmem
        );
        assert_eq!(
            parse_counter("swap: usage 0kB, limit 0kB, failcnt 0").unwrap().0,
            CounterKind::Swap
        );
        assert!(parse_counter("memory: usage 1kB, limit").is_none());
        assert!(parse_counter("tcp: usage 1kB, limit 2kB, failcnt 0").is_none());
    }

    /// Every form the kernel prints for "no limit" in a counter line (see
    /// `crate::units::is_unlimited`), each from a real report where one
    /// was found, and the largest real limits beside them, which stay.
    #[test]
    fn unlimited_counters_in_every_kernel_form() {
        for line in [
            // 3.19+, 64-bit, 4K pages: corpus/real (6.18, cgroup v1).
            "memory+swap: usage 32768kB, limit 9007199254740988kB, failcnt 0",
            // The same on cgroup v2: corpus/vm/6.1-v2-memcg.kmsg.log.
            "swap: usage 0kB, limit 9007199254740988kB, failcnt 0",
            // 16K pages: a kubepods OOM on loongarch64 (4.19.0 uelc20), from
            // a public write-up of a Prometheus pod's OOMs.
            "kmem: usage 0kB, limit 9007199254740976kB, failcnt 0",
            // 64K pages (arm64, ppc64le), written to the kernel's format.
            "memory+swap: usage 0kB, limit 9007199254740928kB, failcnt 0",
            // 3.12-3.18, RES_COUNTER_MAX = ULLONG_MAX: 3.16.0-rc5, as quoted
            // on linux-mm (kernel bugzilla 80881).
            "memory+swap: usage 0kB, limit 18014398509481983kB, failcnt 0",
            // Before 3.12, RESOURCE_MAX = LLONG_MAX: RHEL 6's 2.6.32,
            // corpus/fragments/2.6.32-rhel6-starts-at-pid-line-memcg.log.
            "memory+swap: usage 4194304kB, limit 9007199254740991kB, failcnt 0",
            // 3.19+, 32-bit, 4K pages: LONG_MAX pages, written to the format.
            "kmem: usage 0kB, limit 8589934588kB, failcnt 0",
        ] {
            let (_, c) = parse_counter(line).unwrap();
            assert_eq!((c.limit_bytes, c.unlimited), (None, true), "{line}");
        }
        for (line, limit) in [
            // Seed 004 and a 100 GiB pod on the loongarch64 host above.
            ("memory: usage 585936kB, limit 585936kB, failcnt 75129", 585936 << 10),
            (
                "memory: usage 104857600kB, limit 104857600kB, failcnt 434715",
                100 << 30,
            ),
            // v2 swap.max 0 (corpus/vm, 6.1): a limit of nothing, not none.
            ("swap: usage 0kB, limit 0kB, failcnt 0", 0),
        ] {
            let (_, c) = parse_counter(line).unwrap();
            assert_eq!((c.limit_bytes, c.unlimited), (Some(limit), false), "{line}");
        }
    }

    #[test]
    fn task_in() {
        assert_eq!(
            parse_task_in(
                "Task in /kubepods/burstable/pod1/abc killed as a result of limit of /kubepods/burstable/pod1"
            ),
            Some(("/kubepods/burstable/pod1/abc", "/kubepods/burstable/pod1"))
        );
    }

    #[test]
    fn stats_headers() {
        let h = parse_stats_header("Memory cgroup stats for /process_api/442c/oomctl-probe:").unwrap();
        assert_eq!((h.path, h.oneline), ("/process_api/442c/oomctl-probe", None));
        // 3.10 one-line form.
        let h = parse_stats_header("Memory cgroup stats for /kubepods/burstable/pod1: cache:0KB rss:0KB rss_huge:0KB mapped_file:0KB swap:0KB inactive_anon:0KB active_anon:0KB inactive_file:0KB active_file:0KB unevictable:0KB").unwrap();
        assert_eq!(h.path, "/kubepods/burstable/pod1");
        assert_eq!(h.oneline.unwrap().len(), 10);
        let h = parse_stats_header(
            "Memory cgroup stats for /kubepods.slice/x.slice:cri-containerd:ab12: cache:4KB rss:8KB",
        )
        .unwrap();
        assert_eq!(h.path, "/kubepods.slice/x.slice:cri-containerd:ab12");
        assert_eq!(h.oneline.unwrap(), [("cache", 4096), ("rss", 8192)]);
        assert!(parse_stats_header("Memory cgroup stats for /a: cache:zz").is_none());
    }

    #[test]
    fn stat_kv() {
        assert_eq!(parse_stat_kv("rss 33488896"), Some(("rss", 33488896)));
        assert_eq!(parse_stat_kv("total_inactive_file 0"), Some(("total_inactive_file", 0)));
        assert_eq!(parse_stat_kv("Tasks state (memory values in pages):"), None);
        assert_eq!(parse_stat_kv("rss -1"), None);
    }

    #[test]
    fn oom_kill_lines() {
        // Real 6.18 line (this lab).
        let o = parse_oom_kill("constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a/b,task_memcg=/a/b/c,task=python3,pid=1887,uid=0").unwrap();
        assert_eq!(o.constraint, "CONSTRAINT_MEMCG");
        assert_eq!((o.nodemask, o.cpuset, o.mems_allowed), (None, Some("/"), Some("0")));
        assert_eq!((o.oom_memcg, o.task_memcg), (Some("/a/b"), Some("/a/b/c")));
        assert_eq!((o.task, o.pid, o.uid), (Some("python3"), Some(1887), Some(0)));
        // Global, commas inside values.
        let o = parse_oom_kill("constraint=CONSTRAINT_NONE,nodemask=0,2,cpuset=/,mems_allowed=0,2,global_oom,task_memcg=/user.slice,task=a,b,pid=7,uid=1000").unwrap();
        assert_eq!(
            (o.nodemask, o.mems_allowed, o.oom_memcg),
            (Some("0,2"), Some("0,2"), None)
        );
        assert_eq!((o.task, o.pid), (Some("a,b"), Some(7)));
        assert!(parse_oom_kill("constraint=CONSTRAINT_MEMCG,pid=x").is_none());
        assert!(parse_oom_kill("garbage,task=a,pid=1").is_none());
    }

    #[test]
    fn oom_kill_cut_short() {
        let o = parse_oom_kill_cut("constraint=CONSTRAINT_MEMCG,nodemask=(null),cp").unwrap();
        assert_eq!((o.constraint, o.nodemask, o.cpuset), ("CONSTRAINT_MEMCG", None, None));
        let o = parse_oom_kill_cut(
            "constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kub",
        )
        .unwrap();
        assert_eq!(
            (o.oom_memcg, o.task_memcg, o.task, o.pid),
            (Some("/kubepods/pod1"), None, None, None)
        );
        let o = parse_oom_kill_cut("constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/a,task=java,pid=42,").unwrap();
        assert_eq!((o.task, o.pid, o.oom_memcg), (Some("java"), Some(42), None));
        assert!(parse_oom_kill_cut("constraint=CONSTRAINT_ME").is_none());
    }

    #[test]
    fn group_kill() {
        assert_eq!(
            parse_group_kill("Tasks in /kubepods.slice/a.scope are going to be killed due to memory.oom.group set"),
            Some("/kubepods.slice/a.scope")
        );
    }
}
