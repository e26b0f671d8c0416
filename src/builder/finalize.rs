//! Turning an assembled report into its final [`Episode`]: the page size,
//! page counts converted to bytes, the scope inferred where the kernel did
//! not print it, the cgroup path taken from the best line that names it, and
//! completeness.

use super::Open;
use crate::kline::pages_to_bytes as num_pages_to_bytes;
use crate::model::{Episode, MemInfo, PageSizeSource, Scope, StatsFormat};

/// Page sizes Linux runs with, most common first.
const PAGE_SIZES: [u64; 4] = [4096, 16384, 65536, 8192];

pub(super) fn finish(o: Open, opts: &super::BuilderOptions) -> Episode {
    let Open {
        mut ep,
        rows,
        mem_pages,
        node_bytes,
        pagecache_pages,
        ram_pages,
        pending_select,
        select_reason,
        summary,
        trace,
        kill_line,
        ..
    } = o;
    // A selection whose kill line is not in the log.
    ep.selected = pending_select;
    // The kill line lost, the `oom-kill:` summary still names the victim.
    if let (true, Some((pid, comm, uid))) = (ep.victims.is_empty(), summary) {
        ep.victims.push(crate::model::Victim {
            pid,
            comm,
            uid,
            ..Default::default()
        });
    }
    let (page_size, source) = match opts.page_size {
        Some(p) => (p, PageSizeSource::Given),
        None => match infer_page_size(&ep, &rows) {
            Some(p) => (p, PageSizeSource::Inferred),
            None => (4096, PageSizeSource::Assumed),
        },
    };
    ep.page_size = page_size;
    ep.page_size_source = source;
    // Nothing printed before the kill: the kernel's ratelimit (or a lost
    // log) left only the kill line.
    if !ep.victims.is_empty()
        && rows.is_empty()
        && ep.trigger.is_none()
        && ep.memcg.is_none()
        && ep.constraint.is_none()
        && ep.task_memcg.is_none()
        && ep.memcg_stats.is_empty()
        && ep.mem_info.is_none()
        && ep.group_kill.is_none()
        && mem_pages.is_empty()
    {
        ep.printed = crate::model::Printed::KillLine;
    }
    ep.tasks = rows.into_iter().map(|r| r.into_bytes(page_size)).collect();
    if !mem_pages.is_empty()
        || !node_bytes.is_empty()
        || pagecache_pages.is_some()
        || ram_pages.is_some()
        || ep.mem_info.is_some()
    {
        let mi = ep.mem_info.get_or_insert_with(MemInfo::default);
        // The system counters; where a paste lost them (it starts at a
        // node's line), the nodes' sum.
        mi.counters_bytes = match mem_pages.is_empty() {
            true => node_bytes,
            false => mem_pages
                .into_iter()
                .map(|(k, v)| (k, num_pages_to_bytes(v, page_size)))
                .collect(),
        };
        mi.pagecache_bytes = pagecache_pages.map(|p| num_pages_to_bytes(p, page_size));
        mi.ram_bytes = ram_pages.map(|p| num_pages_to_bytes(p, page_size));
    }
    for s in &mut ep.memcg_stats {
        // An empty multi-line block (its lines lost) says nothing of format.
        if s.format == StatsFormat::V1 && s.stats.keys().any(|k| k == "anon" || k == "file") {
            s.format = StatsFormat::V2;
        }
    }
    if ep.memcg.as_ref().is_none_or(|m| m.path.is_none()) {
        // 5.3+ and v1 multi-line dumps print the OOM memcg's own stats
        // first: where nothing else names the memcg, that block does.
        // A path a viewer shortened in the middle (`ku....scope`) is lost.
        if let Some(first) = ep.memcg_stats.first().map(|s| s.path.clone()) {
            if !crate::kline::elided_inside(&first) {
                ep.memcg.get_or_insert_with(Default::default).path = Some(first);
            }
        }
    }
    ep.filesystem = trace.filesystem.map(crate::model::Text::new);
    infer_scope(&mut ep, trace, select_reason.as_deref());
    ep.complete = kill_line || ep.no_killable || ep.panic.is_some();
    ep
}

/// The page size that makes the victim's task row (pages) match its kill
/// line (kB): the kernel prints both from the same counter.
fn infer_page_size(ep: &Episode, rows: &[crate::kline::RawRow]) -> Option<u64> {
    for v in &ep.victims {
        let Some(vm) = v.total_vm_bytes else { continue };
        let Some(row) = rows.iter().find(|r| r.0.pid == v.pid) else {
            continue;
        };
        let Some(pages) = row.total_vm_pages().filter(|p| *p > 0) else {
            continue;
        };
        if let Some(p) = PAGE_SIZES.iter().find(|p| pages.checked_mul(**p) == Some(vm)) {
            return Some(*p);
        }
    }
    None
}

/// The scope from the constraint, or from the report's shape: the memcg
/// lines and the kill line's prefix, then the call trace's frames.
fn infer_scope(ep: &mut Episode, trace: super::Trace, select_reason: Option<&str>) {
    if let Some(s) = ep.constraint.as_deref().and_then(Scope::from_constraint) {
        ep.scope = Some(s);
        ep.scope_inferred = false;
        return;
    }
    ep.scope_inferred = true;
    // The kill lines' prefixes, or a selection line's without its kill.
    let reasons = || {
        ep.victims
            .iter()
            .filter_map(|v| v.reason.as_deref())
            .chain(select_reason)
    };
    let memcg_reason = reasons().any(|r| r.starts_with("Memory cgroup"));
    let global_reason = reasons().any(|r| r.starts_with("Out of"));
    ep.scope =
        if ep.memcg.is_some() || !ep.memcg_stats.is_empty() || ep.task_memcg.is_some() || memcg_reason || trace.memcg {
            Some(Scope::Memcg)
        } else if ep.manual {
            Some(Scope::Global)
        } else if ep.mem_info.is_some() || global_reason || trace.global {
            // Without the oom-kill: line a cpuset OOM looks like a global one;
            // a printed nodemask is what marks a mempolicy-constrained one,
            // unless it is the cpuset's own (4.x put `mems_allowed` there
            // for any allocation without a policy once cpusets are in use).
            if ep
                .trigger
                .as_ref()
                .is_some_and(|t| t.nodemask.is_some() && t.nodemask != t.mems_allowed)
            {
                Some(Scope::Mempolicy)
            } else {
                Some(Scope::Global)
            }
        } else {
            None
        };
    if ep.scope.is_none() {
        ep.scope_inferred = false;
    }
}
