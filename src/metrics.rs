//! Prometheus metrics in the text exposition format (version 0.0.4): the
//! same families from `watch`/`guard` (`--metrics ADDR`, served on
//! `/metrics`) and from `analyze --format prom` (for node_exporter's
//! textfile collector).
//!
//! Labels are bounded: scope, cause, and Kubernetes namespace/pod/container
//! names only when `--pods` (or the guard) knows them; never a pid, a comm
//! or a container id, whose values are unbounded. `simulate --format prom`
//! adds the simulated guard outcomes as a family of their own.

use crate::model::{Episode, GuardOutcome};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Escape a label value (backslash, double quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

type Labels = Vec<(&'static str, String)>;

fn labels(l: &Labels) -> String {
    if l.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{}\"", esc(v))).collect();
    format!("{{{}}}", inner.join(","))
}

#[derive(Debug, Default)]
struct Inner {
    kills: BTreeMap<Labels, u64>,
    episodes: BTreeMap<Labels, u64>,
    last_kill: Option<f64>,
    guard: BTreeMap<Labels, u64>,
    simulated: BTreeMap<Labels, u64>,
    records: u64,
    lost: u64,
}

/// The counters, shared between the live loop and the HTTP server.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
    /// Live commands count kmsg records; analyze does not.
    pub live: bool,
}

/// Seconds since the epoch of an ISO 8601 UTC time (`…Z`).
fn epoch(wall: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(wall)
        .ok()
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6)
}

impl Metrics {
    pub fn new(live: bool) -> Metrics {
        Metrics {
            inner: Arc::default(),
            live,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count one episode and its kills.
    pub fn episode(&self, ep: &Episode) {
        let scope = ep.scope.map_or("unknown", |s| s.as_str()).to_owned();
        let cause = ep.diagnosis.as_ref().map_or("unknown", |d| d.cause.as_str()).to_owned();
        let k = ep.k8s.as_ref();
        let l: Labels = vec![
            ("scope", scope.clone()),
            ("cause", cause),
            (
                "namespace",
                k.and_then(|k| k.namespace.clone()).unwrap_or_default().into(),
            ),
            ("pod", k.and_then(|k| k.pod.clone()).unwrap_or_default().into()),
            (
                "container",
                k.and_then(|k| k.container_name.clone()).unwrap_or_default().into(),
            ),
        ];
        let mut m = self.lock();
        // A kill counted only in memory.events is a kill with no name.
        let kills = match ep.printed {
            crate::model::Printed::Nothing => 1,
            _ => ep.victims.len() as u64,
        };
        if kills > 0 {
            *m.kills.entry(l).or_default() += kills;
            if let Some(t) = ep.time.wall.as_deref().filter(|w| w.ends_with('Z')).and_then(epoch) {
                m.last_kill = Some(m.last_kill.map_or(t, |l| l.max(t)));
            }
        }
        let complete = if ep.complete { "true" } else { "false" };
        *m.episodes
            .entry(vec![
                ("scope", scope),
                ("complete", complete.to_owned()),
                ("printed", ep.printed.as_str().to_owned()),
            ])
            .or_default() += 1;
    }

    pub fn records(&self, n: u64) {
        self.lock().records += n;
    }

    pub fn lost(&self, n: u64) {
        self.lock().lost += n;
    }

    /// One guard decision.
    pub fn guard_action(&self, action: &str, policy: &str, dry_run: bool) {
        let l: Labels = vec![
            ("action", action.to_owned()),
            ("policy", policy.to_owned()),
            ("dry_run", dry_run.to_string()),
        ];
        *self.lock().guard.entry(l).or_default() += 1;
    }

    /// One episode's simulated guard outcome (`simulate -f prom`), kept
    /// apart from the live guard's actions so no dashboard adds the two.
    pub fn guard_simulated(&self, g: &GuardOutcome) {
        let l: Labels = vec![
            ("policy", g.policy.as_str().to_owned()),
            ("action", g.action.to_string()),
            ("outcome", simulated_outcome(g).to_owned()),
        ];
        *self.lock().simulated.entry(l).or_default() += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut s = String::new();
        let family = |s: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(&mut s, "oomctl_build_info", "gauge", "oomctl build; always 1.");
        let _ = writeln!(
            s,
            "oomctl_build_info{} 1",
            labels(&vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("commit", crate::COMMIT.to_owned())
            ])
        );
        family(
            &mut s,
            "oomctl_oom_kills_total",
            "counter",
            "Processes killed for lack of memory, by scope and cause.",
        );
        for (l, v) in &m.kills {
            let _ = writeln!(s, "oomctl_oom_kills_total{} {v}", labels(l));
        }
        family(
            &mut s,
            "oomctl_oom_episodes_total",
            "counter",
            "OOM episodes (kernel reports), by scope, completeness and what the log printed of them.",
        );
        for (l, v) in &m.episodes {
            let _ = writeln!(s, "oomctl_oom_episodes_total{} {v}", labels(l));
        }
        if let Some(t) = m.last_kill {
            family(
                &mut s,
                "oomctl_last_oom_kill_timestamp_seconds",
                "gauge",
                "Wall clock of the last OOM kill seen.",
            );
            let _ = writeln!(s, "oomctl_last_oom_kill_timestamp_seconds {t:.6}");
        }
        if !m.guard.is_empty() {
            family(
                &mut s,
                "oomctl_guard_actions_total",
                "counter",
                "Guard decisions at a threshold, by action and policy.",
            );
            for (l, v) in &m.guard {
                let _ = writeln!(s, "oomctl_guard_actions_total{} {v}", labels(l));
            }
        }
        if !m.simulated.is_empty() {
            family(
                &mut s,
                "oomctl_guard_simulated_episodes_total",
                "counter",
                "Episodes simulated under a guard policy, by what the guard would have done.",
            );
            for (l, v) in &m.simulated {
                let _ = writeln!(s, "oomctl_guard_simulated_episodes_total{} {v}", labels(l));
            }
        }
        if self.live {
            family(
                &mut s,
                "oomctl_kmsg_records_total",
                "counter",
                "Kernel log records read.",
            );
            let _ = writeln!(s, "oomctl_kmsg_records_total {}", m.records);
            family(
                &mut s,
                "oomctl_kmsg_records_lost_total",
                "counter",
                "Kernel log records lost to ring-buffer overruns.",
            );
            let _ = writeln!(s, "oomctl_kmsg_records_lost_total {}", m.lost);
        }
        s
    }
}

/// The `outcome` label of a simulated guard outcome: why it did not act,
/// or how its choice compares with the kernel's victim (a bounded set).
fn simulated_outcome(g: &GuardOutcome) -> &'static str {
    if g.threshold_bytes.is_none() {
        "no_threshold"
    } else if !g.fired {
        "not_fired"
    } else if g.held_back {
        "held_back"
    } else if g.victim.is_none() {
        "no_victim"
    } else {
        match g.same_victim {
            Some(true) => "same_victim",
            Some(false) => "other_victim",
            None => "kernel_victim_unknown",
        }
    }
}

fn respond(mut c: TcpStream, m: &Metrics) -> io::Result<()> {
    c.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut line = String::new();
    let mut r = BufReader::new(c.try_clone()?);
    r.read_line(&mut line)?;
    // Drain the headers (bounded).
    let mut h = String::new();
    for _ in 0..100 {
        h.clear();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, ctype, body) = match path {
        "/metrics" => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", m.render()),
        "/healthz" => ("200 OK", "text/plain", "ok\n".to_owned()),
        _ => ("404 Not Found", "text/plain", "not found\n".to_owned()),
    };
    write!(
        c,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    c.flush()
}

/// Serve `/metrics` and `/healthz` on `addr` from a background thread.
/// Returns the bound address (`:0` picks a port).
pub fn serve(addr: &str, m: Metrics) -> io::Result<std::net::SocketAddr> {
    // `:9742` means every interface, as Go's listeners read it.
    let addr = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    };
    let l = TcpListener::bind(&addr)?;
    let bound = l.local_addr()?;
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let m = m.clone();
            // One short-lived thread per scrape; a slow client blocks nobody.
            std::thread::spawn(move || {
                let _ = respond(c, &m);
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{K8s, Scope, Victim};

    #[test]
    fn families_and_escaping() {
        let m = Metrics::new(true);
        let mut ep = Episode {
            scope: Some(Scope::Memcg),
            victims: vec![Victim::default(), Victim::default()],
            complete: true,
            k8s: Some(K8s {
                pod_uid: "u".into(),
                namespace: Some("ns".into()),
                pod: Some("a\"b\\c\nd".into()),
                ..K8s::default()
            }),
            ..Episode::default()
        };
        ep.time.wall = Some("2026-11-23T11:16:11.500000Z".into());
        m.episode(&ep);
        m.records(7);
        m.guard_action("kill_process", "process", false);
        let t = m.render();
        // The newline was escaped as `\x0a` when it entered the model; the
        // exposition format then escapes that backslash.
        assert!(t.contains(r#"oomctl_oom_kills_total{scope="memcg",cause="unknown",namespace="ns",pod="a\"b\\c\\x0ad",container=""} 2"#), "{t}");
        assert!(
            t.contains("oomctl_last_oom_kill_timestamp_seconds 1795432571.500000"),
            "{t}"
        );
        assert!(t.contains("oomctl_kmsg_records_total 7"));
        assert!(t.contains(r#"oomctl_guard_actions_total{action="kill_process",policy="process",dry_run="false"} 1"#));
        assert!(!Metrics::new(false).render().contains("kmsg"));
        assert!(!t.contains("simulated"), "only simulate counts simulations");
    }

    #[test]
    fn simulated_outcomes_have_their_own_family() {
        use crate::model::{Policy, Proc};
        let m = Metrics::new(false);
        let mut g = GuardOutcome {
            policy: Policy::Process,
            margin_bytes: Some(1 << 20),
            threshold_bytes: Some(31 << 20),
            fired: true,
            held_back: false,
            action: "kill_process".into(),
            victim: Some(Proc::default()),
            killed: Vec::new(),
            kernel_victim: Some(Proc::default()),
            same_victim: Some(true),
            note: "".into(),
        };
        m.guard_simulated(&g);
        m.guard_simulated(&g);
        g.same_victim = None;
        m.guard_simulated(&g);
        g.held_back = true;
        g.action = "none".into();
        m.guard_simulated(&g);
        g.threshold_bytes = None;
        g.policy = Policy::Noop;
        m.guard_simulated(&g);
        let t = m.render();
        let lines: Vec<&str> = t.lines().filter(|l| l.contains("simulated")).collect();
        assert_eq!(
            lines,
            [
                "# HELP oomctl_guard_simulated_episodes_total Episodes simulated under a guard policy, by what the guard would have done.",
                "# TYPE oomctl_guard_simulated_episodes_total counter",
                r#"oomctl_guard_simulated_episodes_total{policy="noop",action="none",outcome="no_threshold"} 1"#,
                r#"oomctl_guard_simulated_episodes_total{policy="process",action="kill_process",outcome="kernel_victim_unknown"} 1"#,
                r#"oomctl_guard_simulated_episodes_total{policy="process",action="kill_process",outcome="same_victim"} 2"#,
                r#"oomctl_guard_simulated_episodes_total{policy="process",action="none",outcome="held_back"} 1"#,
            ]
        );
    }
}
