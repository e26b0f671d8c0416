//! Kill lines in all their variants, the pre-5.1 selection line, and the
//! oom_reaper's report.
//!
//! Process names (comm) may hold spaces, parentheses and colons
//! (`runc:[2:INIT]`, `(sd-pam)`), so a name ends at the last `)` before the
//! field list, never at the first.

use super::num::{all, i32_dec, i64_dec, kb_bytes, u32_dec};

/// One `Killed process` line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kill<'a> {
    /// `Out of memory`, `Memory cgroup out of memory`, … (None before 5.1,
    /// when the prefix was on the selection line).
    pub reason: Option<&'a str>,
    pub pid: u32,
    pub comm: &'a str,
    pub uid: Option<u32>,
    pub total_vm_bytes: Option<u64>,
    pub anon_rss_bytes: Option<u64>,
    pub file_rss_bytes: Option<u64>,
    pub shmem_rss_bytes: Option<u64>,
    pub pgtables_bytes: Option<u64>,
    pub oom_score_adj: Option<i32>,
}

/// True for the prefixes the kernel puts before its kill and selection
/// lines; other programs' `Killed process` lines are not OOM kills.
pub(super) fn is_kernel_reason(prefix: &str) -> bool {
    prefix.is_empty() || starts_as_kernel_reason(prefix.as_bytes())
}

/// True if `prefix` starts as one the kernel puts before its kill and
/// selection lines.
pub(super) fn starts_as_kernel_reason(prefix: &[u8]) -> bool {
    const REASONS: [&[u8]; 3] = [b"Out of memory", b"Out of Memory", b"Memory cgroup out of memory"];
    REASONS.iter().any(|r| prefix.starts_with(r))
}

/// Split `<reason>: <verb> process …` into the reason (None when absent) and
/// what follows `process `. None when the prefix is not the kernel's.
fn split_reason<'a>(t: &'a str, verb: &str) -> Option<(Option<&'a str>, &'a str)> {
    let at = t.find(verb)?;
    let prefix = t[..at].trim_end().trim_end_matches(':');
    if !is_kernel_reason(prefix) {
        return None;
    }
    let reason = (!prefix.is_empty()).then_some(prefix);
    Some((reason, &t[at + verb.len()..]))
}

/// Distinguishes a line that is not a kernel kill line from one that is but
/// does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKill {
    /// Another program's line.
    Foreign,
    /// A kernel kill line that does not parse.
    Malformed,
}

/// Parse any kernel kill line:
/// `Memory cgroup out of memory: Killed process 1887 (python3) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0`,
/// `Killed process 1234 (java) total-vm:…kB, anon-rss:…kB, file-rss:…kB, shmem-rss:…kB` (4.x),
/// `Killed process 1234, UID 0, (java) total-vm:…` (RHEL 6, 2.6.32),
/// `Killed process 1234 (java), UID 0, total-vm:…` (RHEL 7, 3.10),
/// `Killed process 1234 (java) vsz:…kB, anon-rss:…kB, file-rss:…kB` (2.6.2x),
/// `Out of Memory: Killed process 1234 (java).` (2.4).
pub fn parse_kill(t: &str) -> Result<Kill<'_>, NotKill> {
    let (reason, rest) = split_reason(t, "Killed process ").ok_or(NotKill::Foreign)?;
    let mut k = Kill {
        reason,
        ..Kill::default()
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    k.pid = all(u32_dec, &rest[..digits]).ok_or(NotKill::Malformed)?;
    let mut rest = &rest[digits..];
    if let Some(r) = rest.strip_prefix(", UID ") {
        let d = r.bytes().take_while(u8::is_ascii_digit).count();
        k.uid = Some(all(u32_dec, &r[..d]).ok_or(NotKill::Malformed)?);
        rest = r[d..].strip_prefix(",").ok_or(NotKill::Malformed)?;
    }
    let rest = rest.trim_start().strip_prefix('(').ok_or(NotKill::Malformed)?;
    let fields_at = [&super::TOTAL_VM, &super::VSZ]
        .into_iter()
        .filter_map(|f| super::find(f, rest))
        .min();
    let head = &rest[..fields_at.unwrap_or(rest.len())];
    let close = head.rfind(')').ok_or(NotKill::Malformed)?;
    k.comm = &head[..close];
    let mut tail = head[close + 1..].trim();
    // RHEL 7 (3.10): `Killed process 1234 (java), UID 1000, total-vm:…`.
    if let Some(uid) = tail.strip_prefix(", UID ").and_then(|r| r.strip_suffix(',')) {
        k.uid = Some(all(u32_dec, uid).ok_or(NotKill::Malformed)?);
        tail = "";
    }
    if !(tail.is_empty() || tail == "." || tail == ",") {
        return Err(NotKill::Malformed);
    }
    if let Some(at) = fields_at {
        for tok in rest[at..].split(|c: char| c == ',' || c.is_whitespace()) {
            let Some((key, value)) = tok.split_once(':') else {
                continue;
            };
            let kb = || all(kb_bytes, value).ok_or(NotKill::Malformed);
            match key {
                "total-vm" | "vsz" => k.total_vm_bytes = Some(kb()?),
                "anon-rss" => k.anon_rss_bytes = Some(kb()?),
                "file-rss" => k.file_rss_bytes = Some(kb()?),
                "shmem-rss" => k.shmem_rss_bytes = Some(kb()?),
                "pgtables" => k.pgtables_bytes = Some(kb()?),
                "UID" => k.uid = Some(all(u32_dec, value).ok_or(NotKill::Malformed)?),
                "oom_score_adj" => k.oom_score_adj = Some(all(i32_dec, value).ok_or(NotKill::Malformed)?),
                _ => {}
            }
        }
    }
    Ok(k)
}

/// Pre-5.1 selection: `Memory cgroup out of memory: Kill process 1234 (java) score 999 or sacrifice child`,
/// 2.6: `Out of memory: kill process 1234 (java) score 12345 or a child`,
/// early 2.6: `Out of Memory: Kill process 1234 (java) score 1234 and children.`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select<'a> {
    pub reason: Option<&'a str>,
    pub pid: u32,
    pub comm: &'a str,
    pub score: Option<i64>,
}

/// Parse a selection line.
pub fn parse_select(t: &str) -> Option<Select<'_>> {
    let (reason, rest) = split_reason(t, "Kill process ").or_else(|| split_reason(t, "kill process "))?;
    let (pid, comm, after) = pid_paren_comm(rest, ") score ")?;
    let score_end = after.find(' ').unwrap_or(after.len());
    let score = all(i64_dec, &after[..score_end]);
    let tail = &after[score_end..];
    if !SELECT_ENDINGS
        .iter()
        .any(|k| tail.strip_prefix(' ').is_some_and(|t| t.starts_with(k)))
    {
        return None;
    }
    Some(Select {
        reason,
        pid,
        comm,
        score,
    })
}

/// How a selection line ends after its score, by kernel era.
const SELECT_ENDINGS: [&str; 3] = ["or sacrifice child", "or a child", "and children"];

/// A selection line cut short (the mark removed): pid and name, and the
/// score when a blank after it shows it is whole.
pub fn parse_select_cut(t: &str) -> Option<Select<'_>> {
    let (reason, rest) = split_reason(t, "Kill process ").or_else(|| split_reason(t, "kill process "))?;
    let (pid, comm, after) = pid_paren_comm(rest, ") score")?;
    let after = after.strip_prefix(' ').unwrap_or(after);
    let score = after.split_once(' ').and_then(|(s, _)| all(i64_dec, s));
    let tail = after.split_once(' ').map_or("", |(_, t)| t);
    if !tail.is_empty() && !SELECT_ENDINGS.iter().any(|k| k.starts_with(tail)) {
        return None;
    }
    Some(Select {
        reason,
        pid,
        comm,
        score,
    })
}

/// 3.x `Kill process N (comm) sharing same memory` (after `Kill process `).
pub fn pid_comm_sharing(rest: &str) -> Option<(u32, &str)> {
    let (pid, comm, after) = pid_paren_comm(rest, ") sharing same memory")?;
    after.is_empty().then_some((pid, comm))
}

/// `N (comm<close>…`: the pid, the comm up to the LAST occurrence of `close`,
/// and what follows `close`.
fn pid_paren_comm<'a>(s: &'a str, close: &str) -> Option<(u32, &'a str, &'a str)> {
    let (pid, rest) = s.split_once(" (")?;
    let pid = all(u32_dec, pid)?;
    let at = rest.rfind(close)?;
    Some((pid, &rest[..at], &rest[at + close.len()..]))
}

/// `oom_reaper: reaped process N (comm), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaper<'a> {
    pub pid: u32,
    pub comm: &'a str,
    pub anon_rss_bytes: u64,
    pub file_rss_bytes: u64,
    pub shmem_rss_bytes: u64,
}

/// Parse the oom_reaper line.
pub fn parse_reaper(t: &str) -> Option<Reaper<'_>> {
    let rest = t.strip_prefix("oom_reaper: reaped process ")?;
    let (pid, comm, after) = pid_paren_comm(rest, "), now ")?;
    let mut r = Reaper {
        pid,
        comm,
        anon_rss_bytes: 0,
        file_rss_bytes: 0,
        shmem_rss_bytes: 0,
    };
    for tok in after.split(", ") {
        let (key, value) = tok.split_once(':')?;
        let v = all(kb_bytes, value.trim())?;
        match key {
            "anon-rss" => r.anon_rss_bytes = v,
            "file-rss" => r.file_rss_bytes = v,
            "shmem-rss" => r.shmem_rss_bytes = v,
            _ => {}
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_6_18_real() {
        // Real line, 6.18.44, this lab.
        let k = parse_kill("Memory cgroup out of memory: Killed process 1887 (python3) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0").unwrap();
        assert_eq!(k.reason, Some("Memory cgroup out of memory"));
        assert_eq!((k.pid, k.comm, k.uid), (1887, "python3", Some(0)));
        assert_eq!(k.total_vm_bytes, Some(49460 * 1024));
        assert_eq!(k.anon_rss_bytes, Some(39552 * 1024));
        assert_eq!(k.file_rss_bytes, Some(6704 * 1024));
        assert_eq!(k.shmem_rss_bytes, Some(0));
        assert_eq!(k.pgtables_bytes, Some(140 * 1024));
        assert_eq!(k.oom_score_adj, Some(0));
    }

    #[test]
    fn kill_old_variants() {
        // 4.x: no prefix (it was on the selection line).
        let k = parse_kill(
            "Killed process 3422 (qemu-img) total-vm:767864kB, anon-rss:17520kB, file-rss:0kB, shmem-rss:0kB",
        )
        .unwrap();
        assert_eq!((k.reason, k.pid, k.comm), (None, 3422, "qemu-img"));
        // 2.6.32 (RHEL 6).
        let k = parse_kill("Killed process 23401 (java), UID 1000, total-vm:4938268kB, anon-rss:2093788kB, file-rss:2704kB, shmem-rss:0kB").unwrap();
        assert_eq!((k.pid, k.comm, k.uid), (23401, "java", Some(1000)));
        assert_eq!(k.anon_rss_bytes, Some(2093788 * 1024));
        let k = parse_kill("Killed process 2415, UID 48, (httpd) total-vm:432344kB, anon-rss:302420kB, file-rss:120kB")
            .unwrap();
        assert_eq!(
            (k.pid, k.uid, k.comm, k.shmem_rss_bytes),
            (2415, Some(48), "httpd", None)
        );
        // 2.6.2x vsz.
        let k = parse_kill("Killed process 4242 (mysqld) vsz:1214592kB, anon-rss:823412kB, file-rss:128kB").unwrap();
        assert_eq!(k.total_vm_bytes, Some(1214592 * 1024));
        // 2.4.
        let k = parse_kill("Out of Memory: Killed process 1234 (java).").unwrap();
        assert_eq!(
            (k.reason, k.pid, k.comm, k.total_vm_bytes),
            (Some("Out of Memory"), 1234, "java", None)
        );
        let k = parse_kill("Out of memory (oom_kill_allocating_task): Killed process 77 (a.out) total-vm:4kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB").unwrap();
        assert_eq!(k.reason, Some("Out of memory (oom_kill_allocating_task)"));
    }

    #[test]
    fn kill_hostile_names() {
        let k = parse_kill("Memory cgroup out of memory: Killed process 71899 (runc:[2:INIT]) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:-998").unwrap();
        assert_eq!((k.comm, k.oom_score_adj), ("runc:[2:INIT]", Some(-998)));
        let k = parse_kill(
            "Out of memory: Killed process 9 (a) b (c)) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",
        )
        .unwrap();
        assert_eq!(k.comm, "a) b (c)");
        let k = parse_kill(
            "Out of memory: Killed process 9 (x total-vm:1kB) total-vm:8kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",
        );
        // A name that contains the field key itself: the first key wins, so
        // the name cannot close; reported malformed rather than misread.
        assert_eq!(k, Err(NotKill::Malformed));
    }

    #[test]
    fn kill_rejects_foreign_and_truncated() {
        assert_eq!(
            parse_kill("systemd-oomd[1]: Killed process 1 (x)"),
            Err(NotKill::Foreign)
        );
        assert_eq!(
            parse_kill("Out of memory: Killed process 1234 (ja"),
            Err(NotKill::Malformed)
        );
        assert_eq!(
            parse_kill("Out of memory: Killed process (java)"),
            Err(NotKill::Malformed)
        );
        assert_eq!(
            parse_kill("Out of memory: Killed process 1 (x) total-vm:12"),
            Err(NotKill::Malformed)
        );
    }

    #[test]
    fn selection_lines() {
        let s = parse_select(
            "Memory cgroup out of memory: Kill process 18524 (cdi-importer) score 1999 or sacrifice child",
        )
        .unwrap();
        assert_eq!(
            (s.reason, s.pid, s.comm, s.score),
            (Some("Memory cgroup out of memory"), 18524, "cdi-importer", Some(1999))
        );
        let s = parse_select("Out of memory: kill process 1234 (java) score 12345 or a child").unwrap();
        assert_eq!(s.score, Some(12345));
        let s = parse_select("Out of Memory: Kill process 1234 (java) score 1234 and children.").unwrap();
        assert_eq!((s.reason, s.pid), (Some("Out of Memory"), 1234));
        assert_eq!(
            pid_comm_sharing("77 (worker) sharing same memory"),
            Some((77, "worker"))
        );
    }

    #[test]
    fn reaper() {
        let r = parse_reaper(
            "oom_reaper: reaped process 18524 (cdi-importer), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
        )
        .unwrap();
        assert_eq!((r.pid, r.comm, r.anon_rss_bytes), (18524, "cdi-importer", 0));
        let r =
            parse_reaper("oom_reaper: reaped process 5 (Web Content), now anon-rss:12kB, file-rss:4kB, shmem-rss:0kB")
                .unwrap();
        assert_eq!(
            (r.comm, r.anon_rss_bytes, r.file_rss_bytes),
            ("Web Content", 12288, 4096)
        );
        assert!(parse_reaper("oom_reaper: reaped process x (y), now").is_none());
    }
}
