//! Kubernetes core/v1 Events for episodes, the way kubelet writes them:
//! `SystemOOM` on the Node for global OOMs (kubelet's own reason and
//! message), and an `OOMKilled` event on the Pod for a container's memcg OOM
//! (which kubelet never records), or `OOMKilling` on the Node when the pod's
//! name is unknown. A repeat of the same (object, reason) is counted on the
//! first event with a merge patch of `count` and `lastTimestamp`, as
//! kubelet's event correlator does.
//!
//! In a pod the API server is `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
//! trusted through the service account's `ca.crt` and authenticated with
//! its token; `--kube-api`, `--kube-ca-file` and `--kube-token-file` point
//! elsewhere (http:// for a `kubectl proxy`).

use crate::model::{Episode, Scope};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// API limits the stand-in and the real server enforce.
pub const MESSAGE_MAX: usize = 1024;

/// Where and as whom to post.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// `https://host:port` of the API server, or `http://` of a proxy.
    pub api: String,
    /// Bearer token, if the endpoint wants one.
    pub token: Option<String>,
    /// PEM CA bundle to trust for https (the service account's ca.crt).
    pub ca_pem: Option<Vec<u8>>,
    /// This node's name.
    pub node: String,
}

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

impl KubeConfig {
    /// From flags and the pod environment: `--kube-api` else the in-cluster
    /// service address; `--kube-token-file` / `--kube-ca-file` else the
    /// service account's; node from `NODE_NAME`, else `host`.
    pub fn resolve(
        api: Option<String>,
        token_file: Option<&str>,
        ca_file: Option<&str>,
        host: Option<&str>,
    ) -> Result<KubeConfig, String> {
        let api = match api {
            Some(a) if a.starts_with("http://") || a.starts_with("https://") => a.trim_end_matches('/').to_owned(),
            Some(a) => return Err(format!("--kube-api {a}: expected an http:// or https:// URL")),
            None => match (
                std::env::var("KUBERNETES_SERVICE_HOST"),
                std::env::var("KUBERNETES_SERVICE_PORT"),
            ) {
                (Ok(h), Ok(p)) if h.contains(':') => format!("https://[{h}]:{p}"),
                (Ok(h), Ok(p)) => format!("https://{h}:{p}"),
                _ => return Err("--k8s-events outside a pod needs --kube-api URL".to_owned()),
            },
        };
        let read = |flag: &str, given: Option<&str>, default: &str| -> Result<Option<Vec<u8>>, String> {
            match given {
                Some(p) => std::fs::read(p).map(Some).map_err(|e| format!("{flag} {p}: {e}")),
                None => Ok(std::fs::read(format!("{SA_DIR}/{default}")).ok()),
            }
        };
        let token =
            read("--kube-token-file", token_file, "token")?.map(|t| String::from_utf8_lossy(&t).trim().to_owned());
        let ca_pem = read("--kube-ca-file", ca_file, "ca.crt")?;
        if api.starts_with("https://") && ca_pem.is_none() {
            return Err(format!("{api}: no CA to trust: give --kube-ca-file"));
        }
        let node = std::env::var("NODE_NAME")
            .ok()
            .or_else(|| host.map(str::to_owned))
            .ok_or("no node name: set NODE_NAME")?;
        Ok(KubeConfig {
            api,
            token,
            ca_pem,
            node,
        })
    }

    /// The HTTP agent: trusting only the given CA for https.
    fn agent(&self) -> Result<ureq::Agent, String> {
        let mut b = ureq::AgentBuilder::new().timeout(Duration::from_secs(5));
        if let Some(pem) = &self.ca_pem {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls_pemfile::certs(&mut pem.as_slice()) {
                let c = c.map_err(|e| format!("CA file: {e}"))?;
                roots.add(c).map_err(|e| format!("CA file: {e}"))?;
            }
            if roots.is_empty() {
                return Err("CA file holds no certificate".to_owned());
            }
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            b = b.tls_config(std::sync::Arc::new(tls));
        }
        Ok(b.build())
    }
}

/// The Event for an episode: (namespace, object key for counting, body).
pub fn event_for(ep: &Episode, node: &str, now: &str) -> (String, String, Value) {
    let victims = if ep.victims.is_empty() {
        "no victim".to_owned()
    } else {
        ep.victims
            .iter()
            .map(|v| format!("victim process: {}, pid: {}", v.comm, v.pid))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let pod = ep
        .k8s
        .as_ref()
        .and_then(|k| Some((k.namespace.clone()?, k.pod.clone()?, k.pod_uid.clone())));
    let guard_policy = (ep.killer == crate::model::Killer::OomGuard).then(|| {
        ep.snapshots
            .iter()
            .find_map(|s| s.guard.as_ref()?.policy.clone())
            .unwrap_or_default()
    });
    let (ns, object, reason, message) = match (ep.scope, pod) {
        // oom-guard's own events: on the Node, its reasons (seed 002).
        _ if guard_policy.is_some() => {
            let reason = if guard_policy
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("process"))
            {
                "OomGuardKillProcess"
            } else {
                "OomGuardKillContainer"
            };
            let cgroup = ep.memcg.as_ref().and_then(|m| m.path.clone()).unwrap_or_default();
            (
                "default".to_owned(),
                json!({"kind": "Node", "name": node, "uid": node}),
                reason,
                format!("oom-guard in {cgroup}: {victims}"),
            )
        }
        (Some(Scope::Memcg), Some((ns, name, uid))) => {
            let container = ep
                .k8s
                .as_ref()
                .and_then(|k| k.container_name.as_ref())
                .map_or(String::new(), |c| format!(" in container {c}"));
            (
                ns.to_string(),
                json!({"kind": "Pod", "apiVersion": "v1", "namespace": ns, "name": name, "uid": uid}),
                "OOMKilled",
                format!("Memory cgroup out of memory{container}, {victims}"),
            )
        }
        (Some(Scope::Memcg), None) => {
            let what = ep
                .k8s
                .as_ref()
                .map(|k| format!(" in pod {}", k.pod_uid))
                .or_else(|| {
                    ep.memcg
                        .as_ref()
                        .and_then(|m| m.path.clone())
                        .map(|p| format!(" in {p}"))
                })
                .unwrap_or_default();
            (
                "default".to_owned(),
                json!({"kind": "Node", "name": node, "uid": node}),
                "OOMKilling",
                format!("Memory cgroup out of memory{what}, {victims}"),
            )
        }
        _ => (
            "default".to_owned(),
            json!({"kind": "Node", "name": node, "uid": node}),
            "SystemOOM",
            format!("System OOM encountered, {victims}"),
        ),
    };
    let mut message = message;
    if message.len() > MESSAGE_MAX {
        let mut cut = MESSAGE_MAX - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    let key = format!("{}/{}/{}", object["kind"], object["name"], reason);
    let body = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": ns},
        "involvedObject": object,
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": {"component": "oomctl", "host": node},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    (ns, key, body)
}

/// Posts events, counting repeats.
/// Post every episode sent to the returned queue from a thread of its own,
/// so a slow API server never holds up the watcher or the guard. Problems
/// are reported on stderr; a full queue is the sender's to report.
pub fn spawn_poster(cfg: KubeConfig) -> std::sync::mpsc::SyncSender<Episode> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Episode>(256);
    std::thread::spawn(move || {
        let mut poster = match EventPoster::new(cfg) {
            Ok(p) => p,
            Err(e) => {
                crate::diag!("oomctl: warning: Kubernetes events disabled: {e}");
                return;
            }
        };
        for ep in rx {
            if let Err(e) = poster.post(&ep) {
                crate::diag!("oomctl: warning: Kubernetes event: {e}");
            }
        }
    });
    tx
}

pub struct EventPoster {
    cfg: KubeConfig,
    agent: ureq::Agent,
    seen: HashMap<String, (String, String, u64)>,
    serial: u64,
}

impl EventPoster {
    pub fn new(cfg: KubeConfig) -> Result<EventPoster, String> {
        Ok(EventPoster {
            agent: cfg.agent()?,
            cfg,
            seen: HashMap::new(),
            serial: 0,
        })
    }

    /// Post (or count) the event of one episode.
    pub fn post(&mut self, ep: &Episode) -> Result<(), String> {
        let now = crate::live::now_iso()
            .map(|t| format!("{}Z", &t[..19]))
            .unwrap_or_default();
        let (ns, key, mut body) = event_for(ep, &self.cfg.node, &now);
        if let Some((ns, name, count)) = self.seen.get_mut(&key) {
            *count += 1;
            let patch = json!({"count": *count, "lastTimestamp": now, "message": body["message"]});
            let path = format!("/api/v1/namespaces/{ns}/events/{name}");
            return self.request("PATCH", &path, "application/merge-patch+json", &patch.to_string());
        }
        self.serial += 1;
        // kubelet names events <object>.<hex unique>; lowercase, ≤ 253.
        let object = body["involvedObject"]["name"]
            .as_str()
            .unwrap_or("node")
            .to_ascii_lowercase();
        let object: String = object
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .take(200)
            .collect();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{}.{:x}{:x}", object.trim_matches(['-', '.']), stamp, self.serial);
        body["metadata"]["name"] = Value::from(name.clone());
        let path = format!("/api/v1/namespaces/{ns}/events");
        self.request("POST", &path, "application/json", &body.to_string())?;
        self.seen.insert(key, (ns, name, 1));
        Ok(())
    }
}

impl EventPoster {
    fn request(&self, method: &str, path: &str, ctype: &str, body: &str) -> Result<(), String> {
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.cfg.api))
            .set("Content-Type", ctype)
            .set("Accept", "application/json");
        if let Some(t) = &self.cfg.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        match req.send_string(body) {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, resp)) => {
                // The server's words go to a terminal: through the text gate.
                let detail: String = resp.into_string().unwrap_or_default().chars().take(300).collect();
                let detail = crate::model::Text::from(detail);
                Err(format!("{method} {path}: HTTP {code}: {detail}"))
            }
            Err(e) => Err(format!("{method} {path}: {e}")),
        }
    }
}
