//! Kubernetes attribution from a cgroup path: the pod UID and container id
//! that kubelet encodes in cgroup names (REFERENCE.md §5), for both the
//! cgroupfs driver (`/kubepods/burstable/pod<uid>/<id>`) and the systemd
//! driver (`…kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`).
//! Matching is by path segment, never by prefix, so custom cgroup roots work.

/// Pod UID (with dashes) and container id found in a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub pod_uid: String,
    pub container_id: Option<String>,
}

/// The pod and container a cgroup path belongs to, if it is a pod's.
pub fn pod_ref(path: &str) -> Option<PodRef> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (i, uid) = segs.iter().enumerate().find_map(|(i, s)| pod_uid(s).map(|u| (i, u)))?;
    let container_id = segs.get(i + 1).and_then(|s| container_id(s));
    Some(PodRef {
        pod_uid: uid,
        container_id,
    })
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
fn container_id(seg: &str) -> Option<String> {
    let s = seg.strip_suffix(".scope").unwrap_or(seg);
    let id = if let Some((_, id)) = s.rsplit_once(':') {
        id
    } else if s.starts_with("crio-conmon-") {
        return None;
    } else {
        ["docker-", "cri-containerd-", "crio-"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .unwrap_or(s)
    };
    (id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
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
}
