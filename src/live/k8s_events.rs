//! Kubernetes core/v1 Events for episodes, the way kubelet writes them:
//! `SystemOOM` on the Node for global OOMs (kubelet's own reason and
//! message), and an `OOMKilled` event on the Pod for a container's memcg OOM
//! (which kubelet never records), or `OOMKilling` on the Node when the pod's
//! name is unknown. A repeat of the same (object, reason) is counted on the
//! first event with a merge patch of `count` and `lastTimestamp`, as
//! kubelet's event correlator does.
//!
//! Transport is plain HTTP to `--kube-api` (in a pod: `kubectl proxy` as a
//! sidecar, see deploy/). oomctl carries no TLS stack, so it does not talk
//! HTTPS to the API server directly; it says so instead of failing quietly.

use crate::model::{Episode, Scope};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

/// API limits the stand-in and the real server enforce.
pub const MESSAGE_MAX: usize = 1024;

/// Where and as whom to post.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// `http://host:port` of the API (or of `kubectl proxy`).
    pub api: String,
    /// Bearer token, if the endpoint wants one.
    pub token: Option<String>,
    /// This node's name.
    pub node: String,
}

impl KubeConfig {
    /// From flags and the pod environment: `--kube-api` (else an error that
    /// explains the in-cluster HTTPS case), `--kube-token-file` (else the
    /// service-account token if present), node from `NODE_NAME` or `host`.
    pub fn resolve(api: Option<String>, token_file: Option<&str>, host: Option<&str>) -> Result<KubeConfig, String> {
        let api = match api {
            Some(a) if a.starts_with("http://") => a.trim_end_matches('/').to_owned(),
            Some(a) => {
                return Err(format!(
                    "--kube-api {a}: only http:// is supported (oomctl has no TLS); use kubectl proxy"
                ))
            }
            None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
                return Err(
                    "--k8s-events in a pod needs --kube-api http://127.0.0.1:8001 with a kubectl proxy sidecar \
                            (oomctl does not speak HTTPS to the API server directly; deploy/ has the manifest)"
                        .to_owned(),
                )
            }
            None => return Err("--k8s-events needs --kube-api URL".to_owned()),
        };
        let token_path = token_file.unwrap_or("/var/run/secrets/kubernetes.io/serviceaccount/token");
        let token = std::fs::read_to_string(token_path).ok().map(|t| t.trim().to_owned());
        if token_file.is_some() && token.is_none() {
            return Err(format!("--kube-token-file {token_path}: cannot read it"));
        }
        let node = std::env::var("NODE_NAME")
            .ok()
            .or_else(|| host.map(str::to_owned))
            .ok_or("no node name: set NODE_NAME")?;
        Ok(KubeConfig { api, token, node })
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
    let (ns, object, reason, message) = match (ep.scope, pod) {
        (Some(Scope::Memcg), Some((ns, name, uid))) => {
            let container = ep
                .k8s
                .as_ref()
                .and_then(|k| k.container_name.clone())
                .map_or(String::new(), |c| format!(" in container {c}"));
            (
                ns.clone(),
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
pub struct EventPoster {
    cfg: KubeConfig,
    seen: HashMap<String, (String, String, u64)>,
    serial: u64,
}

impl EventPoster {
    pub fn new(cfg: KubeConfig) -> EventPoster {
        EventPoster {
            cfg,
            seen: HashMap::new(),
            serial: 0,
        }
    }

    /// Post (or count) the event of one episode.
    pub fn post(&mut self, ep: &Episode) -> Result<(), String> {
        let now = crate::snapshot::now_iso()
            .map(|t| format!("{}Z", &t[..19]))
            .unwrap_or_default();
        let (ns, key, mut body) = event_for(ep, &self.cfg.node, &now);
        if let Some((ns, name, count)) = self.seen.get_mut(&key) {
            *count += 1;
            let patch = json!({"count": *count, "lastTimestamp": now, "message": body["message"]});
            let path = format!("/api/v1/namespaces/{ns}/events/{name}");
            return request(
                &self.cfg,
                "PATCH",
                &path,
                "application/merge-patch+json",
                &patch.to_string(),
            );
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
        request(&self.cfg, "POST", &path, "application/json", &body.to_string())?;
        self.seen.insert(key, (ns, name, 1));
        Ok(())
    }
}

fn request(cfg: &KubeConfig, method: &str, path: &str, ctype: &str, body: &str) -> Result<(), String> {
    let hostport = cfg.api.trim_start_matches("http://");
    let hostport = hostport.split('/').next().unwrap_or(hostport);
    let addr = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let mut s = std::net::TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let auth = cfg
        .token
        .as_ref()
        .map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\n{auth}Content-Type: {ctype}\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let code = resp.get(9..12).unwrap_or("???");
    if code.starts_with('2') {
        Ok(())
    } else {
        let detail = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Err(format!(
            "{method} {path}: HTTP {code}: {}",
            detail.chars().take(300).collect::<String>()
        ))
    }
}
