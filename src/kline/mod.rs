//! Kernel line shapes: classify one bare kernel message (its log container
//! already removed by [`crate::envelope`]) as a piece of an OOM report.
//!
//! Each printk shape of `mm/oom_kill.c`, `mm/memcontrol.c` and `show_mem` has
//! its own small parser in a submodule, unit-tested on real lines. Shapes that
//! only mean something in context (memcg stat `key value` lines, task-table
//! rows, Mem-Info counters) are parsed by the [`crate::builder`] while it is in
//! the matching section, through the functions re-exported here.
//!
//! Every line is sorted into recognised, unrelated or malformed: a line that
//! carries an OOM phrase but does not parse is [`KLine::Malformed`], never a
//! panic.

mod header;
mod kill;
mod memcg;
mod meminfo;
mod num;
mod tasks;
mod trace;

pub use header::{
    parse_cpu_line, parse_cpu_line_cut, parse_cpuset_line, parse_header, parse_header_cut, CpuLine, CpusetLine, Header,
};
pub use kill::{parse_kill, parse_reaper, parse_select, parse_select_cut, Kill, NotKill, Reaper, Select};
pub use memcg::{
    parse_counter, parse_group_kill, parse_oom_kill, parse_oom_kill_cut, parse_stat_kv, parse_stats_header,
    parse_task_in, CounterKind, OomKill, StatsHeader,
};
pub use meminfo::{parse_mem_info_line, starts_counters, BuddyLine, MemInfoLine, ZoneLine};
pub use num::pages_to_bytes;
pub use tasks::{parse_task_header, parse_task_header_cut, parse_task_row, Column, Layout, RawRow};
pub use trace::{frame_function, frame_kind, FrameKind};

use crate::model::Counter;

/// One kernel message, sorted.
#[derive(Debug, Clone, PartialEq)]
pub enum KLine<'a> {
    /// `<comm> invoked oom-killer: gfp_mask=…, order=N, oom_score_adj=N`
    Header(Box<Header<'a>>),
    /// Pre-4.19 `<comm> cpuset=<path> mems_allowed=<list>`
    Cpuset(CpusetLine<'a>),
    /// `CPU: N PID: N Comm: … <release>` or the 2.6 `Pid: N, comm: …`
    Cpu(CpuLine<'a>),
    /// `memory:`, `memory+swap:`, `kmem:` or `swap:` usage/limit/failcnt
    Counter(CounterKind, Counter),
    /// Pre-4.19 `Task in <task_memcg> killed as a result of limit of <oom_memcg>`
    TaskIn { task_memcg: &'a str, oom_memcg: &'a str },
    /// A `Task in` line cut before its limit's cgroup: the task's only.
    TaskInCut(&'a str),
    /// A `memory: usage …` line cut before its end: usage, and the limit
    /// if it is whole.
    UsageCut { usage_bytes: u64, limit_bytes: Option<u64> },
    /// `Memory cgroup stats for <path>:` (and the pre-5.3 one-line form)
    StatsHeader(StatsHeader<'a>),
    /// `Mem-Info:` (2.6 arch show_mem: `Mem-info:`)
    MemInfoStart,
    /// The first line of Mem-Info's counters (`active_anon:N …`,
    /// `Active_anon:N …`, `Active:N …`) where no `Mem-Info:` line came
    /// before it: a paste that cut it out, or starts here. The block
    /// begins with it.
    MemInfoCounters,
    /// `Tasks state (memory values in pages):`
    TasksState,
    /// A task-table row met outside a table (its header lost), read by
    /// its own shape.
    TaskRow(Box<RawRow>),
    /// `[ pid ]   uid  tgid total_vm …` with its column layout
    TaskHeader(Layout),
    /// `oom-kill:constraint=…`
    OomKill(Box<OomKill<'a>>),
    /// `Tasks in <path> are going to be killed due to memory.oom.group set`
    GroupKill(&'a str),
    /// Pre-5.1 `… Kill process N (comm) score S or sacrifice child`
    Select(Select<'a>),
    /// `… Killed process N (comm) total-vm:…` in all its variants
    Kill(Box<Kill<'a>>),
    /// 3.x `Kill process N (comm) sharing same memory`
    SharedKill { pid: u32, comm: &'a str },
    /// `oom_reaper: reaped process N (comm), now anon-rss:…`
    Reaper(Reaper<'a>),
    /// `Out of memory and no killable processes...`
    NoKillable,
    /// `Kernel panic - not syncing: <reason>` for an OOM panic
    Panic(&'a str),
    /// `sysrq: Manual OOM execution`
    ManualOom,
    /// A stack frame, by what it says about the OOM.
    Frame(FrameKind),
    /// `<snip>`, `...` and the like: a person cut lines out here.
    Elision,
    /// Registers and other lines of a report we skip over.
    Noise,
    /// A line of another subsystem.
    Unrelated,
    /// An OOM line that did not parse; the reason says what was expected.
    Malformed(&'static str),
}

impl KLine<'_> {
    /// True for the lines that belong to a report even though they carry no
    /// data we keep (stack traces, registers).
    pub fn is_report_noise(&self) -> bool {
        matches!(self, KLine::Noise | KLine::Elision | KLine::Frame(_))
    }

    /// True for the lines that show, by themselves, that an OOM report is
    /// being read (not a `CPU:` line, stack noise or another frame, which
    /// every kernel splat prints).
    pub fn shows_oom(&self) -> bool {
        match self {
            KLine::Frame(k) => k.is_oom(),
            KLine::Cpu(_)
            | KLine::MemInfoStart
            | KLine::MemInfoCounters
            | KLine::Noise
            | KLine::Elision
            | KLine::ManualOom
            | KLine::Unrelated
            | KLine::Malformed(_) => false,
            _ => true,
        }
    }

    /// True for the sections a report prints before its kill line: one of
    /// them seen again after the kill begins another capture of a report.
    pub fn precedes_kill(&self) -> bool {
        matches!(
            self,
            KLine::Header(_)
                | KLine::Cpuset(_)
                | KLine::Counter(..)
                | KLine::TaskIn { .. }
                | KLine::TaskInCut(_)
                | KLine::UsageCut { .. }
                | KLine::StatsHeader(_)
                | KLine::MemInfoStart
                | KLine::MemInfoCounters
                | KLine::TasksState
                | KLine::TaskHeader(_)
                | KLine::OomKill(_)
                | KLine::Select(_)
        )
    }
}

/// Phrases searched for in most lines classified: memchr's finder is built
/// once, where `str::contains` would set up its searcher at every call.
type Phrase = std::sync::LazyLock<memchr::memmem::Finder<'static>>;

macro_rules! phrase {
    ($name:ident, $p:literal) => {
        static $name: Phrase = Phrase::new(|| memchr::memmem::Finder::new($p));
    };
}
phrase!(INVOKED, " invoked oom-killer:");
phrase!(KILLED_PROCESS, "Killed process");
phrase!(ILL_PROCESS, "ill process");
phrase!(ILL, "ill");
phrase!(PROCESS, " process ");
phrase!(DOTS, "...");
phrase!(ELLIPSIS, "…");
phrase!(TOTAL_VM, " total-vm:");
phrase!(VSZ, " vsz:");

/// Where `phrase` is in `t`.
fn find(phrase: &Phrase, t: &str) -> Option<usize> {
    phrase.find(t.as_bytes())
}

/// Sort one kernel message by its context-free shape.
pub fn classify(text: &str) -> KLine<'_> {
    // Only the blanks printk and pasting add: a name may begin or end with
    // any other byte (a `\r`, a NEL) that is part of it.
    let t = text.trim_matches([' ', '\t']);
    let mut k = classify_whole(t);
    if matches!(k, KLine::Unrelated | KLine::Malformed(_)) {
        // A kill or selection line quoted inside something else: a JSON
        // event's `"message": "…"`, a `kubectl describe` table, Markdown.
        if let Some(inner) = embedded(t) {
            let e = classify_whole(inner);
            if !matches!(e, KLine::Unrelated | KLine::Malformed(_)) {
                k = e;
            }
        }
    }
    // A line a terminal or a viewer cut short, marked so: what is whole
    // before the mark still counts, and only that (a whole reading of a
    // cut line would take `4.19....` for a kernel release). The kernel's
    // own `Out of memory and no killable processes...` is whole.
    let marked = t.ends_with("...") || t.ends_with('…');
    // Of the shapes a cut line can still be read as, only the `CPU:` line
    // and the task table read as nothing at all when cut (the others are
    // malformed): other unrelated lines are not searched for a mark.
    let may_be_cut = match k {
        KLine::Malformed(_) => true,
        KLine::Unrelated => marked || t.starts_with("CPU: ") || t.starts_with("Pid: ") || t.starts_with('['),
        KLine::NoKillable | KLine::Elision => false,
        _ => marked,
    };
    if may_be_cut {
        if let Some(c) = cut_text(t).and_then(classify_cut) {
            return c;
        }
    }
    k
}

/// The kill or selection line inside `t`, which holds more before it:
/// from its prefix (after a blank, a quote or a backtick) to the end, less
/// the quoting that closes it.
fn embedded(t: &str) -> Option<&str> {
    // Every kill and selection line has this: most lines looked at do not.
    find(&PROCESS, t)?;
    const STARTS: &[&str] = &[
        "Memory cgroup out of memory: ",
        "Out of memory: ",
        "Out of memory (",
        "Killed process ",
    ];
    let at = STARTS
        .iter()
        .filter_map(|p| t.find(p))
        .filter(|&i| i > 0 && t[..i].ends_with([' ', '"', '`', '\'', '\t']))
        .min()?;
    Some(unquoted(&t[at..]))
}

/// A line quoted from where it starts to the end of the text that quotes
/// it, without the quote's end (`"`, `}`, a comma).
fn unquoted(t: &str) -> &str {
    // ASCII bytes cut: the end stays on a character's boundary.
    &t[..unquoted_len(t.as_bytes())]
}

/// The length of `t` without the quote's end ([`unquoted`]).
fn unquoted_len(t: &[u8]) -> usize {
    t.iter().rposition(|b| !b"\"'`, }".contains(b)).map_or(0, |i| i + 1)
}

/// Whether `before`, what a message holds before its `Killed process`,
/// is a prefix the kernel puts there, as [`classify`] tells one (a kill
/// line after any other is another program's; one after a prefix that
/// starts as the kernel's is read, and malformed if it does not parse).
pub fn kernel_kill_prefix(before: &[u8]) -> bool {
    // As `classify` trims the message's start.
    let b = &before[before
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(before.len())..];
    // One that starts as the kernel's; else only one that is nothing but
    // blanks and colons, trimmed as `split_reason` trims it (rare: read as
    // text).
    kill::starts_as_kernel_reason(b)
        || b.iter()
            .all(|&c| matches!(c, b'\t'..=b'\r' | b' ' | b':') || !c.is_ascii())
            && std::str::from_utf8(b).map_or(true, |b| kill::is_kernel_reason(b.trim_end().trim_end_matches(':')))
}

/// Whether a line whose `Killed process` (the start of `t`) follows
/// another program's `name: ` is read as a kill all the same, as
/// [`classify`] reads it: a kill line quoted whole after a label
/// (`message: Killed process 7 (x)`; without figures, as kernels before
/// 2.6.2x print it). (Cut short, such a line is not read as a kill.) The
/// prefilter skips such lines only when not. Bytes that are not UTF-8 may
/// be anything: true.
pub fn kill_after_name(t: &[u8]) -> bool {
    // As `classify` trims it, then as `embedded` unquotes it.
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let t = match t.iter().rposition(|b| !blank(b)) {
        Some(i) => &t[t.iter().position(|b| !blank(b)).unwrap_or(0)..=i],
        None => &t[..0],
    };
    let t = &t[..unquoted_len(t)];
    // Without figures (`total-vm:`, `vsz:`: no colon) a kill line ends at
    // its name's `)` (RHEL 7's goes on with `, UID n,`), what follows
    // trimmed as parsing trims it: one that goes on otherwise (`(sshd) with
    // signal SIGKILL.`, most lines asked about) is ruled out before
    // parsing.
    let tail = memchr::memrchr(b')', t).map_or(&t[..0], |i| &t[i + 1..]);
    let ends = std::str::from_utf8(tail).map_or(true, |tail| {
        let tail = tail.trim();
        matches!(tail, "" | "." | ",") || tail.starts_with(", UID ")
    });
    if !ends && memchr::memchr(b':', t).is_none() {
        return false;
    }
    std::str::from_utf8(t).map_or(true, |t| parse_kill(t).is_ok())
}

/// The text of a line cut short and marked with `...` or `…`, before the
/// mark (None for other lines, and for elision lines). The mark may also
/// stand inside (journalctl keeps a line's end): what follows it is a
/// fragment of unknown fields, and is dropped.
fn cut_text(t: &str) -> Option<&str> {
    let body = match t.strip_suffix("...").or_else(|| t.strip_suffix('…')) {
        Some(body) => body,
        None => {
            // Both marks hold a byte that log text rarely does (`.` twice
            // over, or the first byte of `…`): look for them only then.
            &t[..find(&DOTS, t).or_else(|| find(&ELLIPSIS, t))?]
        }
    };
    (!body.trim_end_matches('.').trim().is_empty()).then_some(body)
}

/// True if `s` (a cgroup path, a name) was shortened by a viewer: `...` or
/// `…` stands inside it.
pub fn elided_inside(s: &str) -> bool {
    s.contains("...") || s.contains('…')
}

/// The shapes a cut line can still be read as, from what precedes the cut:
/// every field that ends before it (the field it falls in is lost).
fn classify_cut(body: &str) -> Option<KLine<'_>> {
    if let Some(rest) = body.strip_prefix("memory: usage ") {
        let fields = whole_fields(rest);
        let mut parts = fields.split(", ");
        let usage_bytes = num::all(num::kb_bytes, parts.next()?.trim())?;
        let limit_bytes = parts
            .next()
            .and_then(|l| l.strip_prefix("limit "))
            .and_then(|l| num::all(num::kb_bytes, l.trim()));
        return Some(KLine::UsageCut {
            usage_bytes,
            limit_bytes,
        });
    }
    if body.starts_with("Memory cgroup stats for ") {
        // The one-line form's pairs up to the cut.
        return parse_stats_header(whole_fields(body)).map(KLine::StatsHeader);
    }
    if let Some(rest) = body.strip_prefix("Task in ") {
        // The task's cgroup is whole where a blank follows it.
        let (task, _) = rest.split_once(' ')?;
        return Some(KLine::TaskInCut(task));
    }
    if let Some(rest) = body.strip_prefix("oom-kill:") {
        return parse_oom_kill_cut(rest).map(|k| KLine::OomKill(Box::new(k)));
    }
    if body.contains(" invoked oom-killer:") {
        return parse_header_cut(body).map(|h| KLine::Header(Box::new(h)));
    }
    if body.contains("Killed process ") {
        return parse_kill(whole_fields(body)).ok().map(|k| KLine::Kill(Box::new(k)));
    }
    if body.contains("ill process ") {
        return parse_select_cut(body).map(KLine::Select);
    }
    if body.starts_with("[ ") && body.contains("pid") && body.contains("uid") {
        // The columns after the cut are unknown: each row is read by its
        // own shape.
        return parse_task_header_cut(body).map(KLine::TaskHeader);
    }
    if body.starts_with("CPU: ") || body.starts_with("Pid: ") {
        return parse_cpu_line_cut(body).map(KLine::Cpu);
    }
    None
}

/// `body` without the field the cut fell in: up to the last blank or comma
/// (a body ending in one was cut between fields, and loses nothing).
fn whole_fields(body: &str) -> &str {
    if body.ends_with([' ', ',']) {
        return body.trim_end_matches([' ', ',']);
    }
    match body.rfind([' ', ',']) {
        Some(at) => body[..at].trim_end_matches([' ', ',']),
        None => "",
    }
}

/// [`classify`] of a line as it stands.
fn classify_whole(t: &str) -> KLine<'_> {
    if t.is_empty() {
        return KLine::Unrelated;
    }
    // A report's most common line, read without the chain below.
    if let Some(f) = trace::plain_frame(t) {
        return KLine::Frame(frame_kind(f));
    }
    classify_chain(t)
}

/// [`classify_whole`] for every line but a plain frame, rule by rule.
fn classify_chain(t: &str) -> KLine<'_> {
    // The header, kill and selection phrases all hold `ill`: one search
    // rules the three out for most lines (registers, counters, frames).
    let ill = find(&ILL, t).is_some();
    if ill
        && (find(&INVOKED, t).is_some()
            || t.starts_with("invoked oom-killer:")
            || t.starts_with("oom-killer: gfp_mask="))
    {
        return parse_header(t).map_or(KLine::Malformed("oom-killer header"), |h| KLine::Header(Box::new(h)));
    }
    if let Some(rest) = t.strip_prefix("oom-kill:") {
        return parse_oom_kill(rest).map_or(KLine::Malformed("oom-kill: summary"), |k| KLine::OomKill(Box::new(k)));
    }
    if t.starts_with("oom_reaper:") {
        return match parse_reaper(t) {
            Some(r) => KLine::Reaper(r),
            // `oom_reaper: unable to reap pid:N (comm)` carries nothing we keep.
            None if t.contains("unable to reap") => KLine::Noise,
            None => KLine::Malformed("oom_reaper line"),
        };
    }
    if ill && find(&KILLED_PROCESS, t).is_some() {
        return match parse_kill(t) {
            Ok(k) => KLine::Kill(Box::new(k)),
            Err(NotKill::Foreign) => KLine::Unrelated,
            Err(NotKill::Malformed) => KLine::Malformed("kill line"),
        };
    }
    if ill && find(&ILL_PROCESS, t).is_some() {
        if let Some(rest) = t.strip_prefix("Kill process ") {
            if let Some((pid, comm)) = kill::pid_comm_sharing(rest) {
                return KLine::SharedKill { pid, comm };
            }
        }
        if let Some(s) = parse_select(t) {
            return KLine::Select(s);
        }
        if t.contains("or sacrifice child") || t.contains("or a child") {
            return KLine::Malformed("kill selection line");
        }
    }
    if let Some((kind, counter)) = parse_counter(t) {
        return KLine::Counter(kind, counter);
    }
    if t.starts_with("Memory cgroup stats for ") {
        return parse_stats_header(t).map_or(KLine::Malformed("memcg stats header"), KLine::StatsHeader);
    }
    if t.starts_with("Task in ") {
        if let Some((task_memcg, oom_memcg)) = parse_task_in(t) {
            return KLine::TaskIn { task_memcg, oom_memcg };
        }
    }
    if t.starts_with("Tasks state (memory values in pages)") {
        return KLine::TasksState;
    }
    if t.starts_with("[ ") && t.contains("pid") && t.contains("uid") {
        return parse_task_header(t).map_or(KLine::Malformed("task table header"), KLine::TaskHeader);
    }
    if t.starts_with('[') {
        if let Some(row) = Layout::guess(t).and_then(|l| parse_task_row(&l, t)) {
            return KLine::TaskRow(Box::new(row));
        }
    }
    if t.starts_with("Tasks in ") && t.contains("memory.oom.group") {
        return parse_group_kill(t).map_or(KLine::Malformed("oom group line"), KLine::GroupKill);
    }
    if t.starts_with("Out of memory and no killable processes") {
        return KLine::NoKillable;
    }
    if let Some(reason) = t.strip_prefix("Kernel panic - not syncing: ") {
        if reason.contains("ut of memory") || reason.contains("deadlocked on memory") {
            return KLine::Panic(reason);
        }
        return KLine::Unrelated;
    }
    if t == "Mem-Info:" || t == "Mem-info:" {
        return KLine::MemInfoStart;
    }
    if starts_counters(t) {
        return KLine::MemInfoCounters;
    }
    if let Some(cpu) = parse_cpu_line(t) {
        return KLine::Cpu(cpu);
    }
    if let Some(c) = parse_cpuset_line(t) {
        return KLine::Cpuset(c);
    }
    if t.ends_with("Manual OOM execution") {
        return KLine::ManualOom;
    }
    if is_elision(t) {
        return KLine::Elision;
    }
    if let Some(f) = frame_function(t) {
        return KLine::Frame(frame_kind(f));
    }
    if is_noise(t) {
        return KLine::Noise;
    }
    KLine::Unrelated
}

/// A line by which a person marks lines they cut out of a pasted log:
/// `...`, `…`, `<snip>`, `[snip]`, `[...]`, `--snip--`, `(trimmed)`.
pub fn is_elision(t: &str) -> bool {
    // The longest: `--- snipped ---` and the like.
    if t.len() > 40 {
        return false;
    }
    let t = t.trim_matches([' ', '\t']);
    if t.len() >= 3 && t.bytes().all(|b| b == b'.') || !t.is_empty() && t.chars().all(|c| c == '…') {
        return true;
    }
    let inner = t.trim_matches(['<', '>', '[', ']', '(', ')', '-', ' ', '.', '…']);
    if inner.is_empty() {
        return t.len() >= 3;
    }
    inner.len() <= 12
        && ["snip", "snipped", "cut", "trimmed", "truncated", "skipped", "omitted"]
            .iter()
            .any(|w| inner.eq_ignore_ascii_case(w))
}

/// Stack traces, register dumps and other lines printed inside a report.
fn is_noise(t: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Call Trace:",
        "<TASK>",
        "</TASK>",
        "<IRQ>",
        "</IRQ>",
        "Hardware name:",
        "RIP:",
        "RSP:",
        "RAX:",
        "RDX:",
        "RBP:",
        "R10:",
        "R13:",
        "Code:",
        "FS:",
        "CS:",
        "CR2:",
        "DR0:",
        "DR3:",
        "Stack:",
        "Workqueue:",
        "COMPACTION is disabled",
        "oom killer ",
        "task: ",
        "Unreclaimable slab info:",
        "Name                      Used          Total",
        "? ",
        "[<",
        // After an OOM panic's trace.
        "Kernel Offset:",
        "---[ end Kernel panic",
    ];
    if PREFIXES.iter().any(|p| t.starts_with(p)) {
        return true;
    }
    // A stack frame: `func+0x59/0x90 [module]`.
    if t.contains("+0x") && t.contains("/0x") {
        return true;
    }
    // Raw stack words of a pre-4.x dump: `ffff8807f0d6b980 0000000051be382e …`.
    let mut words = t.split_ascii_whitespace();
    let hex_word = |w: &str| matches!(w.len(), 8 | 16) && w.bytes().all(|b| b.is_ascii_hexdigit());
    words.clone().count() >= 2 && words.all(hex_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kill_after_name` says what `classify` reads of a line where another
    /// program's name precedes `Killed process`: a kill or nothing.
    #[test]
    fn kill_after_name_agrees_with_classify() {
        let figures = "total-vm:8kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB";
        let mut afters = Vec::new();
        for kill in [
            "Killed process 7 (x)".to_owned(),
            "Killed process 7 (x y) z)".to_owned(),
            "Killed process 7, UID 0, (java)".to_owned(),
            "Killed process 7 (java), UID 1000,".to_owned(),
            format!("Killed process 7 (x) {figures}"),
            format!("Killed process 7 (x) {figures} (a) b"),
            "Killed process 7 (x) vsz:8kB, anon-rss:4kB, file-rss:0kB".to_owned(),
            "Killed process 1234 (sshd) with signal SIGKILL".to_owned(),
            "Killed process 7 (x) total-v".to_owned(),
            "Killed process 7 (ja".to_owned(),
            "Killed process x (y)".to_owned(),
            "Killed process 7".to_owned(),
        ] {
            for end in [
                "", ".", ",", "\",", "\"}", "`", " ", "\t", "\r", "\u{b}", "\u{c}", ". \u{b}", "\u{a0}", "\u{2003}",
                "...", "…", " :", ": x",
            ] {
                afters.push(format!("{kill}{end}"));
            }
        }
        let befores = [
            "foo: ",
            " session-3.scope: ",
            "Out of memory in foo: ",
            "Out of Memory z: ",
            "Out of memoryd: ",
            "Memory cgroup out of memory: ",
            "  ",
            "\u{a0}: ",
        ];
        for after in &afters {
            let line = format!("foo: {after}");
            let kill = matches!(classify(&line), KLine::Kill(_));
            assert_eq!(kill_after_name(after.as_bytes()), kill, "{line:?}");
            // What the prefilter relies on: after a prefix neither function
            // claims, the line is nothing at all (no kill, nothing malformed
            // to count).
            for before in befores {
                let line = format!("{before}{after}");
                if !kernel_kill_prefix(before.as_bytes()) && !kill_after_name(after.as_bytes()) {
                    assert_eq!(classify(&line), KLine::Unrelated, "{line:?}");
                }
            }
        }
        // And both say so of some.
        assert!(kernel_kill_prefix(b"Out of memory in foo: ") && !kernel_kill_prefix(b" session-3.scope: "));
    }

    /// The plain frame shortcut reads a line as the chain does, on every
    /// line of the corpus and on lines made to look like frames.
    #[test]
    fn plain_frames_read_as_the_chain_reads_them() {
        let mut lines: Vec<String> = [
            "dump_stack_lvl+0x64/0x90",
            "? __pfx_oom_kill_process+0x10/0x10",
            "out_of_memory.cold+0x5/0x9 [kvm_intel]",
            "mem_cgroup_out_of_memory+0x13a/0x150",
            "f+0x1/0x2 [a-b]",
            "f+0x1/0x2 [",
            "f+0x1/0x2 []",
            "f+0x1/0x2 [x] ",
            "f+0x1/0x",
            "f+0x/0x1",
            ".f+0x1/0x2",
            "f+0x1g/0x2",
            "? ? f+0x1/0x2",
            "oom-kill:task=f+0x1/0x2",
            "Killed+0x1/0x2 [process]",
            "snip+0x1/0x2",
        ]
        .map(str::to_owned)
        .to_vec();
        for path in crate::corpus_files() {
            let bytes = std::fs::read(&path).unwrap();
            for raw in String::from_utf8_lossy(&bytes).lines() {
                let mut out = Vec::new();
                crate::envelope::Decoder::new(crate::envelope::Container::Auto, None).decode(raw.as_bytes(), &mut out);
                lines.extend(out.into_iter().map(|l| l.text.trim_matches([' ', '\t']).to_owned()));
            }
        }
        let mut plain = 0;
        for t in &lines {
            if let Some(f) = trace::plain_frame(t) {
                plain += 1;
                assert_eq!(classify_chain(t), KLine::Frame(frame_kind(f)), "{t:?}");
                assert_eq!(frame_function(t), Some(f), "{t:?}");
            }
        }
        assert!(plain > 1000, "{plain} plain frames");
    }

    // Real lines, kernel 6.18.44 memcg v1 OOM captured in this project's lab.
    #[test]
    fn classifies_a_real_6_18_report() {
        let lines = [
            "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
            "CPU: 1 UID: 0 PID: 1887 Comm: python3 Not tainted 6.18.44-fc-v769 #1 PREEMPT(none) ",
            "Call Trace:",
            "dump_stack_lvl+0x59/0x90",
            "memory: usage 32768kB, limit 32768kB, failcnt 19",
            "Memory cgroup stats for /process_api/442c08a392b2a2bb7f469f721f58bc64/oomctl-probe:",
            "Tasks state (memory values in pages):",
            "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a/b,task_memcg=/a/b,task=python3,pid=1887,uid=0",
            "Memory cgroup out of memory: Killed process 1887 (python3) total-vm:49460kB, anon-rss:39552kB, file-rss:6704kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0",
        ];
        let kinds: Vec<&str> = lines
            .iter()
            .map(|l| match classify(l) {
                KLine::Header(_) => "header",
                KLine::Cpu(_) => "cpu",
                KLine::Noise => "noise",
                KLine::Frame(_) => "frame",
                KLine::Counter(..) => "counter",
                KLine::StatsHeader(_) => "stats",
                KLine::TasksState => "tasks",
                KLine::TaskHeader(_) => "taskhdr",
                KLine::OomKill(_) => "oomkill",
                KLine::Kill(_) => "kill",
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            ["header", "cpu", "noise", "frame", "counter", "stats", "tasks", "taskhdr", "oomkill", "kill"]
        );
    }

    #[test]
    fn unrelated_and_malformed() {
        assert_eq!(classify("EXT4-fs (vda): mounted filesystem"), KLine::Unrelated);
        assert_eq!(classify(""), KLine::Unrelated);
        assert_eq!(
            classify("java invoked oom-killer: gfp_mask=zzz"),
            KLine::Malformed("oom-killer header")
        );
        assert_eq!(classify("Killed process abc"), KLine::Malformed("kill line"));
        assert_eq!(
            classify("Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled"),
            KLine::Panic("Out of memory: system-wide panic_on_oom is enabled")
        );
        assert_eq!(
            classify("Kernel panic - not syncing: VFS: Unable to mount root fs"),
            KLine::Unrelated
        );
        assert_eq!(classify("sysrq: Manual OOM execution"), KLine::ManualOom);
    }

    // Issue 13: one test per damaged shape.

    #[test]
    fn lines_cut_at_the_end_keep_their_whole_fields() {
        let KLine::Header(h) = classify("java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_s...")
        else {
            panic!("header");
        };
        assert_eq!(
            (h.comm, h.gfp_mask, h.order, h.oom_score_adj),
            ("java", "0xcc0", Some(0), None)
        );
        let KLine::OomKill(o) = classify("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cp…") else {
            panic!("oom-kill");
        };
        assert_eq!(o.constraint, "CONSTRAINT_MEMCG");
        let KLine::Kill(k) = classify("Memory cgroup out of memory: Killed process 61402 (java) total-vm:4...") else {
            panic!("kill");
        };
        assert_eq!((k.pid, k.comm, k.total_vm_bytes), (61402, "java", None));
        assert!(matches!(
            classify("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swap..."),
            KLine::TaskHeader(_)
        ));
        assert!(matches!(
            classify("CPU: 3 PID: 4711 Comm: java Not tai..."),
            KLine::Cpu(_)
        ));
        // A line that reads whole even so keeps nothing of its cut field.
        let KLine::Cpu(c) = classify("CPU: 3 PID: 4711 Comm: java Not tainted 4.19...") else {
            panic!("cpu");
        };
        assert_eq!((c.pid, c.kernel), (4711, None));
        assert_eq!(
            classify("memory: usage 3145728kB, limit 3145728kB, failcnt..."),
            KLine::UsageCut {
                usage_bytes: 3145728 << 10,
                limit_bytes: Some(3145728 << 10)
            }
        );
        assert_eq!(
            classify("memory: usage 3145728kB, limit 31457..."),
            KLine::UsageCut {
                usage_bytes: 3145728 << 10,
                limit_bytes: None
            }
        );
        assert_eq!(
            classify("Task in /system.slice/celery.service kille..."),
            KLine::TaskInCut("/system.slice/celery.service")
        );
        assert_eq!(classify("Task in /system.sli..."), KLine::Unrelated);
        let KLine::StatsHeader(h) = classify("Memory cgroup stats for /a: cache:5284KB rss:3121680KB rss_hu...") else {
            panic!("stats");
        };
        assert_eq!((h.path, h.oneline.map(|p| p.len())), ("/a", Some(2)));
        let KLine::Header(h) = classify("python3 invoked oom-killer: gfp_mask=0x6000c0(GFP_KE...") else {
            panic!("header");
        };
        assert_eq!(h.gfp_mask, "0x6000c0");
        // The kernel's own `...` is no cut.
        assert_eq!(
            classify("Out of memory and no killable processes..."),
            KLine::NoKillable
        );
    }

    #[test]
    fn lines_cut_in_the_middle_keep_what_precedes_the_mark() {
        // journalctl --no-full keeps a line's end after the `...`.
        let KLine::Header(h) =
            classify("java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_s...adj=936")
        else {
            panic!("header");
        };
        assert_eq!((h.gfp_mask, h.order, h.oom_score_adj), ("0xcc0", Some(0), None));
        let KLine::Kill(k) = classify("Memory cgroup out of memory: Killed process 61402 (java) total-vm:4...adj:936")
        else {
            panic!("kill");
        };
        assert_eq!((k.pid, k.comm), (61402, "java"));
        assert!(elided_inside("/kubepods.slice/kubepods-burstable.slice/ku....scope"));
        assert!(!elided_inside("/kubepods.slice/x.scope"));
    }

    #[test]
    fn elision_lines() {
        for t in [
            "...",
            "…",
            "<snip>",
            "[snip]",
            "[.......]",
            "--- snipped ---",
            "(trimmed)",
        ] {
            assert_eq!(classify(t), KLine::Elision, "{t}");
        }
        assert_eq!(classify("snippet of a config"), KLine::Unrelated);
    }

    #[test]
    fn kill_lines_inside_other_text() {
        // A Kubernetes event's JSON message, `kubectl describe`, Markdown.
        let json = r#"    "message": "Memory cgroup out of memory: Killed process 3504804 (kubectl) total-vm:753508kB, anon-rss:58776kB, file-rss:29400kB, shmem-rss:0kB, UID:0 pgtables:288kB oom_score_adj:999","#;
        let KLine::Kill(k) = classify(json) else { panic!("json") };
        assert_eq!((k.pid, k.comm, k.oom_score_adj), (3504804, "kubectl", Some(999)));
        let table = "  Warning  PodOOMKilling  2m    kernel-monitor, n1  Memory cgroup out of memory: Kill process 25169 (hyperkube) score 2109 or sacrifice child";
        let KLine::Select(s) = classify(table) else {
            panic!("table")
        };
        assert_eq!((s.pid, s.comm, s.score), (25169, "hyperkube", Some(2109)));
        let KLine::Kill(k) =
            classify("`Out of memory: Killed process 2922 (sabnzbdplus) total-vm:3193576kB, anon-rss:1172284kB, `")
        else {
            panic!("backticks");
        };
        assert_eq!((k.pid, k.anon_rss_bytes), (2922, Some(1172284 * 1024)));
        // Prose that names the phrase is no kill line.
        assert_eq!(classify("see the Killed process line above"), KLine::Unrelated);
    }

    #[test]
    fn report_noise_of_old_stacks_and_panics() {
        assert_eq!(
            classify("ffff8807f0d6b980 0000000051be382e ffff88039bc07ca8 ffffffff8163515c"),
            KLine::Noise
        );
        assert_eq!(classify("804142d2 00000034 00000000 00000001"), KLine::Noise);
        assert_eq!(
            classify("---[ end Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled ]---"),
            KLine::Noise
        );
        assert_eq!(
            classify("Kernel Offset: 0x1e000000 from 0xffffffff81000000"),
            KLine::Noise
        );
        assert_eq!(classify("deadbeef"), KLine::Unrelated);
    }
}
