//! The last source of a memcg OOM's split: the victim's kill line. A
//! `dmesg | grep` paste keeps the `memory: usage … limit …` line and the
//! kill line (`anon-rss:NkB, file-rss:NkB, shmem-rss:NkB`) but neither the
//! stats nor the task table. When usage sat at the limit and one kind of
//! the victims' RSS alone is nearly all of it, that kind filled the cgroup;
//! anything less leaves the cause unknown, since the rest of usage could be
//! anything the line does not show.

use super::{share, Breakdown, Source, TopTask, AT_LIMIT};
use crate::model::Episode;
use crate::units::sat_sum;

/// One kind of the victims' RSS at or above this share of usage names the
/// cause from the kill line alone.
pub const KILL_LINE_DECIDES: f64 = 0.90;

/// The victims' anonymous, file and shared RSS against the memcg's usage,
/// when usage was at its limit and the report has no better source.
pub fn from_kill_line(ep: &Episode) -> Option<Breakdown> {
    let m = ep.memcg.as_ref()?;
    let (usage, limit) = (m.usage_bytes?, m.limit_bytes?);
    if usage == 0 || (usage as f64) < AT_LIMIT * limit as f64 {
        return None;
    }
    let rss = |f: fn(&crate::model::Victim) -> Option<u64>| -> Option<u64> {
        let known: Vec<u64> = ep.victims.iter().filter_map(f).collect();
        (!known.is_empty()).then(|| sat_sum(known))
    };
    let anon = rss(|v| v.anon_rss_bytes)?;
    Some(Breakdown {
        source: Some(Source::KillLine),
        total: Some(usage),
        anon: Some(anon),
        file: rss(|v| v.file_rss_bytes),
        shmem: rss(|v| v.shmem_rss_bytes),
        ..Breakdown::default()
    })
}

/// True when the part named the cause is enough of usage to decide.
pub fn decides(part: u64, total: u64) -> bool {
    total > 0 && part as f64 >= KILL_LINE_DECIDES * total as f64
}

/// The first victim as the top task: the only process whose RSS the
/// report shows.
pub fn victim_task(ep: &Episode, total: u64) -> Option<TopTask> {
    let v = ep.victims.first()?;
    let (a, f, s) = (
        v.anon_rss_bytes.unwrap_or(0),
        v.file_rss_bytes.unwrap_or(0),
        v.shmem_rss_bytes.unwrap_or(0),
    );
    let charged = a.saturating_add(s);
    Some(TopTask {
        pid: v.pid,
        name: v.comm.clone(),
        rss_bytes: sat_sum([a, f, s]),
        charged_bytes: charged,
        share: share(charged, total),
    })
}
