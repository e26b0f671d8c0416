//! `--group-by` sink: episodes counted per group (the same pod, cgroup,
//! cause, … as the keys say) and written at the end, one row per group,
//! the most episodes first, as a table, JSON lines, one JSON document or
//! CSV. The row is [`GroupRow`] (README "Grouping"). Memory is bounded:
//! at most [`GROUPS_MAX`] groups are counted apart, each remembering at
//! most [`VICTIMS_MAX`] victim names; the episodes of later groups are
//! counted in one `rest` row.

mod render;

pub(super) use self::render::causes_text;
use self::render::{table, write_csv};
use super::cells::Style;
use super::{jsonw, Sink, Summary};
use crate::model::{Episode, GroupRow, GroupTime, GroupVictim, Text, Time};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

/// Groups counted apart; the episodes of more are counted in the `rest` row.
pub const GROUPS_MAX: usize = 10_000;
/// Victim names counted per group; a group killing more kinds of process
/// counts the first ones (the most frequent is almost always among them).
pub const VICTIMS_MAX: usize = 64;

/// What an episode is grouped by (`--group-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// `namespace/pod` where `--pods` names it, else the pod's uid.
    Pod,
    Namespace,
    /// The container's name where `--pods` names it, else its id.
    Container,
    /// The memcg that ran out (else the victim's cgroup).
    Cgroup,
    Unit,
    Cause,
    /// The first victim's name (else the selected process's).
    Comm,
    Host,
    Scope,
}

impl GroupKey {
    /// Every key, in the order of the docs.
    pub const ALL: [GroupKey; 9] = [
        GroupKey::Pod,
        GroupKey::Namespace,
        GroupKey::Container,
        GroupKey::Cgroup,
        GroupKey::Unit,
        GroupKey::Cause,
        GroupKey::Comm,
        GroupKey::Host,
        GroupKey::Scope,
    ];

    /// The key's name in `--group-by`, JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKey::Pod => "pod",
            GroupKey::Namespace => "namespace",
            GroupKey::Container => "container",
            GroupKey::Cgroup => "cgroup",
            GroupKey::Unit => "unit",
            GroupKey::Cause => "cause",
            GroupKey::Comm => "comm",
            GroupKey::Host => "host",
            GroupKey::Scope => "scope",
        }
    }

    /// The episode's value of this key; `None` where it does not say.
    pub fn value(self, ep: &Episode) -> Option<Text> {
        let k = ep.k8s.as_ref();
        match self {
            GroupKey::Pod => k.map(|k| Text::new(&k.pod_name())),
            GroupKey::Namespace => k.and_then(|k| k.namespace.clone()),
            GroupKey::Container => k
                .and_then(|k| k.container_name.clone())
                .or_else(|| ep.container.as_ref().map(|c| c.id.clone())),
            GroupKey::Cgroup => ep.cgroup().map(Text::new),
            GroupKey::Unit => ep.unit.clone(),
            GroupKey::Cause => Some(Text::new(cause(ep))),
            GroupKey::Comm => ep
                .victims
                .first()
                .map(|v| v.comm.clone())
                .or_else(|| ep.selected.as_ref().map(|s| s.comm.clone())),
            GroupKey::Host => ep.host.clone(),
            GroupKey::Scope => ep.scope.map(|s| Text::new(s.as_str())),
        }
    }
}

impl std::str::FromStr for GroupKey {
    type Err = String;
    fn from_str(s: &str) -> Result<GroupKey, String> {
        GroupKey::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = GroupKey::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown key {s:?}; expected one or more of {}", names.join(", "))
        })
    }
}

fn cause(ep: &Episode) -> &'static str {
    ep.diagnosis.as_ref().map_or("unknown", |d| d.cause.as_str())
}

/// The formats a grouping is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupFormat {
    Table,
    Jsonl,
    Json,
    Csv,
}

/// `--group-by` and `--top`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBy {
    /// At least one, no key twice.
    pub keys: Vec<GroupKey>,
    /// Keep only the N groups with the most episodes.
    pub top: Option<usize>,
    pub format: GroupFormat,
}

/// What is counted of one group (also the `html` sink's group summary).
#[derive(Debug, Default)]
pub(super) struct Acc {
    episodes: u64,
    first: Option<GroupTime>,
    last: Option<GroupTime>,
    causes: BTreeMap<&'static str, u64>,
    victims: BTreeMap<Text, u64>,
    /// Usage, limit, unlimited of the episode with the highest usage.
    peak: Option<(u64, Option<u64>, bool)>,
}

/// How much a time says: a wall clock beats an uptime beats nothing.
fn rank(t: &GroupTime) -> u8 {
    match (&t.wall, t.uptime_s) {
        (Some(_), _) => 2,
        (None, Some(_)) => 1,
        (None, None) => 0,
    }
}

/// `a` against `b`: ISO 8601 walls compare as written (the decoder writes
/// one form per log), uptimes as numbers.
fn cmp_time(a: &GroupTime, b: &GroupTime) -> Ordering {
    match (&a.wall, &b.wall, a.uptime_s, b.uptime_s) {
        (Some(x), Some(y), _, _) => x.as_str().cmp(y.as_str()),
        (None, None, Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => Ordering::Equal,
    }
}

/// Replace `slot` with `t` when `t` says more, or as much and is `want`.
fn keep(slot: &mut Option<GroupTime>, t: &GroupTime, want: Ordering) {
    let better = match slot {
        None => true,
        Some(old) => rank(t) > rank(old) || (rank(t) == rank(old) && cmp_time(t, old) == want),
    };
    if better {
        *slot = Some(t.clone());
    }
}

impl Acc {
    pub(super) fn add(&mut self, ep: &Episode) {
        self.episodes += 1;
        let t = group_time(&ep.time);
        keep(&mut self.first, &t, Ordering::Less);
        keep(&mut self.last, &t, Ordering::Greater);
        *self.causes.entry(cause(ep)).or_default() += 1;
        for v in &ep.victims {
            let room = self.victims.len() < VICTIMS_MAX;
            match self.victims.get_mut(&v.comm) {
                Some(n) => *n += 1,
                None if room => {
                    self.victims.insert(v.comm.clone(), 1);
                }
                None => {}
            }
        }
        if let Some(m) = &ep.memcg {
            if let Some(u) = m.usage_bytes {
                if self.peak.is_none_or(|(p, _, _)| u > p) {
                    self.peak = Some((u, m.limit_bytes, m.unlimited));
                }
            }
        }
    }

    pub(super) fn row(&self, key: BTreeMap<String, Option<Text>>, rest: bool) -> GroupRow {
        let victim = self
            .victims
            .iter()
            .fold(None::<(&Text, u64)>, |best, (c, &n)| match best {
                Some((_, b)) if b >= n => best,
                _ => Some((c, n)),
            })
            .map(|(c, n)| GroupVictim {
                comm: c.clone(),
                kills: n,
            });
        GroupRow {
            key,
            episodes: self.episodes,
            first: self.first.clone().unwrap_or_default(),
            last: self.last.clone().unwrap_or_default(),
            causes: self.causes.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect(),
            victim,
            peak_usage_bytes: self.peak.map(|p| p.0),
            limit_bytes: self.peak.and_then(|p| p.1),
            unlimited: self.peak.is_some_and(|p| p.2),
            rest,
        }
    }
}

fn group_time(t: &Time) -> GroupTime {
    GroupTime {
        wall: t.wall.clone(),
        uptime_s: t.uptime_s,
    }
}

/// Counts episodes per group and writes the groups at the end.
pub struct GroupSink<'w> {
    out: Box<dyn Write + 'w>,
    style: Style,
    by: GroupBy,
    groups: HashMap<Vec<Option<Text>>, Acc>,
    /// Episodes of groups past [`GROUPS_MAX`].
    rest: Acc,
}

impl<'w> GroupSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, by: GroupBy, style: Style) -> Self {
        GroupSink {
            out,
            style,
            by,
            groups: HashMap::new(),
            rest: Acc::default(),
        }
    }

    /// The rows to write, the most episodes first (then by key), cut to
    /// `--top`; the `rest` row last; and what `--top` left out (groups,
    /// episodes).
    fn rows(&self) -> (Vec<GroupRow>, (usize, u64)) {
        let mut groups: Vec<(&Vec<Option<Text>>, &Acc)> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.1.episodes.cmp(&a.1.episodes).then_with(|| a.0.cmp(b.0)));
        let keep = self.by.top.unwrap_or(usize::MAX);
        let dropped = groups
            .iter()
            .skip(keep)
            .fold((0, 0), |(g, e), (_, a)| (g + 1, e + a.episodes));
        let named = |values: &[Option<Text>]| -> BTreeMap<String, Option<Text>> {
            self.by
                .keys
                .iter()
                .zip(values)
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect()
        };
        let mut rows: Vec<GroupRow> = groups.iter().take(keep).map(|(k, a)| a.row(named(k), false)).collect();
        if self.rest.episodes > 0 {
            rows.push(self.rest.row(named(&vec![None; self.by.keys.len()]), true));
        }
        (rows, dropped)
    }
}

impl Sink for GroupSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        let key: Vec<Option<Text>> = self.by.keys.iter().map(|k| k.value(ep)).collect();
        let room = self.groups.len() < GROUPS_MAX;
        match self.groups.get_mut(&key) {
            Some(a) => a.add(ep),
            None if room => self.groups.entry(key).or_default().add(ep),
            None => self.rest.add(ep),
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let (rows, dropped) = self.rows();
        let mut buf = Vec::new();
        match self.by.format {
            GroupFormat::Jsonl => {
                for r in &rows {
                    jsonw::write(&mut buf, r)?;
                    buf.push(b'\n');
                }
            }
            GroupFormat::Json => {
                buf.extend_from_slice(b"{\"groups\":[");
                for (i, r) in rows.iter().enumerate() {
                    buf.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                    jsonw::write(&mut buf, r)?;
                }
                buf.extend_from_slice(if rows.is_empty() { b"" } else { b"\n" });
                buf.extend_from_slice(b"],\"summary\":");
                jsonw::write(&mut buf, summary)?;
                buf.extend_from_slice(b"}\n");
            }
            GroupFormat::Csv => write_csv(&mut buf, &self.by.keys, &rows)?,
            GroupFormat::Table => {
                let lines = table(&rows, &self.by.keys, self.style, dropped, summary);
                for l in lines {
                    buf.extend_from_slice(l.as_bytes());
                    buf.push(b'\n');
                }
            }
        }
        self.out.write_all(&buf)?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(wall: Option<&str>, up: Option<f64>) -> GroupTime {
        GroupTime {
            wall: wall.map(Text::new),
            uptime_s: up,
        }
    }

    #[test]
    fn first_and_last_prefer_a_wall_clock_then_order_by_it() {
        let mut first = None;
        let mut last = None;
        for t in [
            at(None, None),
            at(None, Some(50.0)),
            at(Some("2026-11-22T10:00:20"), Some(900.0)),
            at(Some("2026-11-21T09:00:00"), None),
            at(None, Some(1.0)),
            at(Some("2026-11-23T00:00:00"), None),
        ] {
            keep(&mut first, &t, Ordering::Less);
            keep(&mut last, &t, Ordering::Greater);
        }
        assert_eq!(first.unwrap().wall.as_deref(), Some("2026-11-21T09:00:00"));
        assert_eq!(last.unwrap().wall.as_deref(), Some("2026-11-23T00:00:00"));
        let mut first = None;
        for t in [at(None, Some(50.0)), at(None, Some(7.5)), at(None, None)] {
            keep(&mut first, &t, Ordering::Less);
        }
        assert_eq!(first.unwrap().uptime_s, Some(7.5));
    }

    #[test]
    fn keys_parse_by_their_names() {
        for k in GroupKey::ALL {
            assert_eq!(k.as_str().parse::<GroupKey>(), Ok(k));
        }
        let e = "pods".parse::<GroupKey>().unwrap_err();
        assert!(
            e.contains("unknown key \"pods\"") && e.contains("pod, namespace"),
            "{e}"
        );
    }
}
