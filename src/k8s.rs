//! Kubernetes attribution from a cgroup path: the pod UID and container id
//! that kubelet encodes in cgroup names (REFERENCE.md §5), for both the
//! cgroupfs driver (`/kubepods/burstable/pod<uid>/<id>`) and the systemd
//! driver (`…kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`).
//! Matching is by path segment, never by prefix, so custom cgroup roots work.

use crate::model::Text;
use crate::model::{ContainerRef, Episode, K8s};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// Pod UID (with dashes) and container id found in a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub pod_uid: String,
    pub container_id: Option<String>,
}

/// Everything a cgroup path says about who owns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// Pod UID with dashes (static pods: 32 hex digits as kubelet wrote it).
    pub pod_uid: Option<String>,
    /// `guaranteed`, `burstable` or `besteffort`.
    pub qos: Option<String>,
    /// Container id (full, as in the path).
    pub container_id: Option<String>,
    /// `docker`, `containerd` or `cri-o` when the path names it.
    pub runtime: Option<String>,
    /// systemd unit the cgroup is (`foo.service`, `session-3.scope`).
    pub unit: Option<String>,
}

/// The pod and container a cgroup path belongs to, if it is a pod's.
pub fn pod_ref(path: &str) -> Option<PodRef> {
    let a = attribute(path);
    Some(PodRef {
        pod_uid: a.pod_uid?,
        container_id: a.container_id,
    })
}

/// Attribute a cgroup path (cgroupfs or systemd driver, any cgroup root).
pub fn attribute(path: &str) -> Attribution {
    // `…-pod<uid>.slice:cri-containerd:<id>` (containerd's cgroupfs names
    // under a systemd kubelet) is a pod and a container in one segment.
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .flat_map(|s| match s.find(".slice:") {
            Some(i) => [Some(&s[..i + 6]), Some(&s[i + 7..])],
            None => [Some(s), None],
        })
        .flatten()
        .collect();
    let mut a = Attribution::default();
    let pod = segs.iter().enumerate().find_map(|(i, s)| pod_uid(s).map(|u| (i, u)));
    if let Some((i, uid)) = pod {
        a.pod_uid = Some(uid);
        a.qos = Some(qos(&segs[..=i]).to_owned());
        if let Some((id, rt)) = segs.get(i + 1).and_then(|s| container_id(s)) {
            a.container_id = Some(id);
            a.runtime = rt.map(str::to_owned);
        }
    } else if let Some(i) = segs.iter().position(|s| *s == "docker") {
        // Plain docker with the cgroupfs driver: /docker/<id>.
        if let Some((id, _)) = segs.get(i + 1).and_then(|s| container_id(s)) {
            a.container_id = Some(id);
            a.runtime = Some("docker".to_owned());
        }
    } else if let Some((id, Some(rt))) = segs.last().and_then(|s| container_id(s)) {
        // systemd driver outside Kubernetes: docker-<id>.scope.
        a.container_id = Some(id);
        a.runtime = Some(rt.to_owned());
    }
    if a.container_id.is_none() {
        a.unit = segs
            .last()
            .filter(|s| s.ends_with(".service") || s.ends_with(".scope"))
            .map(|s| (*s).to_owned());
    }
    a
}

/// Fill an episode's `k8s`, `container` and `unit` from its cgroup paths:
/// the victim's own cgroup (`task_memcg`, often the container) first, then
/// the cgroup whose limit was hit (often the pod).
pub fn attribute_episode(ep: &mut Episode) {
    let paths: Vec<&str> = ep
        .task_memcg
        .iter()
        .chain(ep.memcg.as_ref().and_then(|m| m.path.as_ref()))
        .chain(ep.memcg_stats.iter().map(|s| &s.path).take(1))
        .map(Text::as_str)
        .collect();
    let mut k8s: Option<K8s> = None;
    let mut container: Option<ContainerRef> = None;
    let mut unit = None;
    for (i, p) in paths.iter().enumerate() {
        // The same path again (the victim's cgroup is most often the one
        // whose limit was hit) attributes nothing new.
        if paths[..i].contains(p) {
            continue;
        }
        let a = attribute(p);
        if k8s.is_none() {
            if let Some(uid) = a.pod_uid {
                k8s = Some(K8s {
                    pod_uid: uid.into(),
                    qos: a.qos.map(Text::from),
                    ..K8s::default()
                });
            }
        }
        if container.is_none() {
            if let Some(id) = a.container_id {
                container = Some(ContainerRef {
                    id: id.into(),
                    runtime: a.runtime.map(Text::from),
                });
            }
        }
        if unit.is_none() {
            unit = a.unit.map(Text::from);
        }
    }
    ep.k8s = k8s;
    ep.unit = if container.is_none() { unit } else { None };
    ep.container = container;
}

/// Pod and container names from `kubectl get pods -A -o json`, by pod UID
/// and container id.
#[derive(Debug, Default)]
pub struct PodIndex {
    pods: HashMap<String, (Text, Text)>,
    containers: HashMap<String, Text>,
}

impl PodIndex {
    /// Read `kubectl get pods -A -o json` (a `List` of pods) or one pod.
    pub fn from_json(text: &str) -> Result<PodIndex, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let items: Vec<&Value> = match v.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None if v.get("metadata").is_some() => vec![&v],
            None => return Err("no \"items\": not the output of kubectl get pods -o json".to_owned()),
        };
        let mut idx = PodIndex::default();
        for pod in items {
            let meta = &pod["metadata"];
            let (Some(uid), Some(name)) = (meta["uid"].as_str(), meta["name"].as_str()) else {
                continue;
            };
            let ns = meta["namespace"].as_str().unwrap_or("default");
            idx.pods.insert(uid.to_owned(), (Text::new(ns), Text::new(name)));
            for key in [
                "containerStatuses",
                "initContainerStatuses",
                "ephemeralContainerStatuses",
            ] {
                for c in pod["status"][key].as_array().into_iter().flatten() {
                    let (Some(cname), Some(cid)) = (c["name"].as_str(), c["containerID"].as_str()) else {
                        continue;
                    };
                    // `containerd://<id>`, `docker://<id>`, `cri-o://<id>`.
                    let id = cid.rsplit("://").next().unwrap_or(cid);
                    idx.containers.insert(id.to_owned(), Text::new(cname));
                }
            }
        }
        Ok(idx)
    }

    /// Pods indexed.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// True if no pod was found.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Name the episode's pod and container.
    pub fn resolve(&self, ep: &mut Episode) {
        let cid = ep.container.as_ref().map(|c| c.id.clone());
        if let Some(k) = ep.k8s.as_mut() {
            if let Some((ns, name)) = self.pods.get(k.pod_uid.as_str()) {
                k.namespace = Some(ns.clone());
                k.pod = Some(name.clone());
            }
            if let Some(name) = cid.and_then(|id| self.containers.get(id.as_str())) {
                k.container_name = Some(name.clone());
            }
        }
    }
}

/// QoS class from the segments down to the pod's.
fn qos(segs: &[&str]) -> &'static str {
    if segs.iter().any(|s| s.contains("besteffort")) {
        "besteffort"
    } else if segs.iter().any(|s| s.contains("burstable")) {
        "burstable"
    } else {
        "guaranteed"
    }
}

/// `pod<uid>` (cgroupfs) or `kubepods[-qos]-pod<uid_>.slice` (systemd).
fn pod_uid(seg: &str) -> Option<String> {
    let body = seg.strip_suffix(".slice").unwrap_or(seg);
    let at = body.rfind("pod")?;
    if at > 0 && !body[..at].ends_with('-') {
        return None;
    }
    let uid = body[at + 3..].replace('_', "-");
    let hex = uid.bytes().filter(u8::is_ascii_hexdigit).count();
    let well_formed = uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    (well_formed && hex == 32 && (uid.len() == 32 || uid.len() == 36)).then_some(uid)
}

/// `<64 hex>`, `docker-<id>.scope`, `cri-containerd-<id>.scope`,
/// `crio-<id>.scope`, `…:cri-containerd:<id>`; not `crio-conmon-…`.
/// Returns the id and the runtime when the name says it.
fn container_id(seg: &str) -> Option<(String, Option<&'static str>)> {
    let s = seg.strip_suffix(".scope").unwrap_or(seg);
    let runtime = |prefix: &str| match prefix {
        "docker" => Some("docker"),
        "cri-containerd" => Some("containerd"),
        "crio" => Some("cri-o"),
        _ => None,
    };
    let (id, rt) = if let Some((head, id)) = s.rsplit_once(':') {
        (id, head.rsplit(':').next().and_then(runtime))
    } else if s.starts_with("crio-conmon-") {
        return None;
    } else {
        match ["docker", "cri-containerd", "crio"]
            .iter()
            .find_map(|p| s.strip_prefix(&format!("{p}-")).map(|id| (id, runtime(p))))
        {
            Some(x) => x,
            None => (s, None),
        }
    };
    (id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| (id.to_owned(), rt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroupfs_and_systemd_paths() {
        let r = pod_ref("/kubepods/burstable/pod6b212546-f5dd-4fdf-bcc7-72a686638102/ea887b1c9c5c8e734ac798fedd2bf5d39c0b7ce5ad961027dfc1ca138a23a2e8").unwrap();
        assert_eq!(r.pod_uid, "6b212546-f5dd-4fdf-bcc7-72a686638102");
        assert_eq!(
            r.container_id.as_deref(),
            Some("ea887b1c9c5c8e734ac798fedd2bf5d39c0b7ce5ad961027dfc1ca138a23a2e8")
        );
        let r = pod_ref("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b212546_f5dd_4fdf_bcc7_72a686638102.slice/cri-containerd-ab12cd34ef56ab12cd34ef56.scope").unwrap();
        assert_eq!(r.pod_uid, "6b212546-f5dd-4fdf-bcc7-72a686638102");
        assert_eq!(r.container_id.as_deref(), Some("ab12cd34ef56ab12cd34ef56"));
        let r = pod_ref("/kubepods/pod0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!((r.pod_uid.len(), r.container_id), (32, None));
        assert!(pod_ref("/user.slice/user-1000.slice").is_none());
        assert!(pod_ref("/system.slice/ipod.service").is_none());
        let r = pod_ref(
            "/kubepods.slice/kubepods-pod6b212546_f5dd_4fdf_bcc7_72a686638102.slice/crio-conmon-ab12cd34ef56ab12.scope",
        )
        .unwrap();
        assert_eq!(r.container_id, None);
    }

    #[test]
    fn kubectl_pods_name_pod_and_container() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"importer-x","namespace":"cdi","uid":"6b212546-f5dd-4fdf-bcc7-72a686638102"},"status":{"containerStatuses":[{"name":"importer","containerID":"containerd://ea887b1c9c5c8e734ac798fedd2bf5d39c0b7ce5ad961027dfc1ca138a23a2e8"}]}}]}"#;
        let idx = PodIndex::from_json(json).unwrap();
        assert_eq!(idx.len(), 1);
        let mut ep = Episode {
            task_memcg: Some("/kubepods/burstable/pod6b212546-f5dd-4fdf-bcc7-72a686638102/ea887b1c9c5c8e734ac798fedd2bf5d39c0b7ce5ad961027dfc1ca138a23a2e8".into()),
            ..Episode::default()
        };
        attribute_episode(&mut ep);
        idx.resolve(&mut ep);
        let k = ep.k8s.unwrap();
        assert_eq!(
            (k.namespace.as_deref(), k.pod.as_deref(), k.container_name.as_deref()),
            (Some("cdi"), Some("importer-x"), Some("importer"))
        );
        assert_eq!(k.qos.as_deref(), Some("burstable"));
        assert!(PodIndex::from_json("[]").is_err());
        assert!(PodIndex::from_json("{").is_err());
    }

    #[test]
    fn qos_runtime_and_non_kubernetes() {
        let a = attribute("/kubelet.slice/kubelet-kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod6b212546_f5dd_4fdf_bcc7_72a686638102.slice/crio-0123456789abcdef0123.scope");
        assert_eq!(
            (a.qos.as_deref(), a.runtime.as_deref()),
            (Some("besteffort"), Some("cri-o"))
        );
        let a = attribute(
            "/kubepods.slice/kubepods-pod6b212546_f5dd_4fdf_bcc7_72a686638102.slice/docker-0123456789abcdef0123.scope",
        );
        assert_eq!(
            (a.qos.as_deref(), a.runtime.as_deref()),
            (Some("guaranteed"), Some("docker"))
        );
        let a = attribute(
            "/kubepods-burstable-pod6b212546_f5dd_4fdf_bcc7_72a686638102.slice:cri-containerd:0123456789abcdef0123",
        );
        assert_eq!(
            (a.qos.as_deref(), a.runtime.as_deref(), a.container_id.as_deref()),
            (Some("burstable"), Some("containerd"), Some("0123456789abcdef0123"))
        );
        let a = attribute("/docker/0123456789abcdef0123456789abcdef");
        assert_eq!((a.pod_uid, a.runtime.as_deref()), (None, Some("docker")));
        let a = attribute("/system.slice/docker-0123456789abcdef0123.scope");
        assert_eq!(a.runtime.as_deref(), Some("docker"));
        let a = attribute("/system.slice/mysqld.service");
        assert_eq!((a.unit.as_deref(), a.container_id), (Some("mysqld.service"), None));
        assert_eq!(attribute("/"), Attribution::default());
    }
}
