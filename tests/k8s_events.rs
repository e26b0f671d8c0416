//! Kubernetes Events against a local stand-in for the API server that
//! enforces what the real one validates for core/v1 Events (no real API
//! server can run on this machine): the object name is a DNS-1123
//! subdomain, the namespace matches the path and the involved object,
//! kind/name/reason/source are present, type is Normal or Warning, the
//! bearer token is checked, names are unique (409), and a PATCH needs an
//! existing event (404).

use oomctl::live::k8s_events::{EventPoster, KubeConfig, MESSAGE_MAX};
use oomctl::model::{Episode, K8s, Memcg, Scope, Victim};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

type Store = Arc<Mutex<HashMap<String, Value>>>;

fn dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

fn validate(ns: &str, e: &Value) -> Result<(), String> {
    if e["apiVersion"] != "v1" || e["kind"] != "Event" {
        return Err("apiVersion/kind".into());
    }
    let name = e["metadata"]["name"].as_str().ok_or("metadata.name: Required")?;
    if !dns_subdomain(name) {
        return Err(format!("metadata.name: Invalid value: {name:?}"));
    }
    if e["metadata"]["namespace"].as_str().is_some_and(|n| n != ns) {
        return Err("metadata.namespace: does not match the request".into());
    }
    let io = &e["involvedObject"];
    if io["kind"].as_str().is_none_or(str::is_empty) || io["name"].as_str().is_none_or(str::is_empty) {
        return Err("involvedObject: kind and name Required".into());
    }
    if io["kind"] != "Node" && io["namespace"].as_str() != Some(ns) {
        return Err("involvedObject.namespace: does not match event.namespace".into());
    }
    if !matches!(e["type"].as_str(), Some("Normal") | Some("Warning")) {
        return Err("type: Unsupported value".into());
    }
    let reason = e["reason"].as_str().unwrap_or("");
    if reason.is_empty() || reason.len() > 128 {
        return Err("reason".into());
    }
    if e["message"].as_str().unwrap_or("").len() > MESSAGE_MAX {
        return Err("message: Too long".into());
    }
    if e["source"]["component"].as_str().is_none_or(str::is_empty) {
        return Err("source.component: Required".into());
    }
    Ok(())
}

/// Answer one request on `c`.
fn handle(c: &mut (impl Read + Write), store: &Store, token: &str) {
    let mut r = BufReader::new(&mut *c);
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let (mut len, mut auth) = (0, String::new());
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        if lower.starts_with("authorization:") {
            auth = h["authorization:".len()..].trim().to_owned();
        }
        if h == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    drop(r);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
    let (code, reply) = if auth != format!("Bearer {token}") {
        (401, "Unauthorized".to_owned())
    } else {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segs.as_slice()) {
            ("POST", ["api", "v1", "namespaces", ns, "events"]) => {
                let e: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match validate(ns, &e) {
                    Err(m) => (422, m),
                    Ok(()) => {
                        let key = format!("{ns}/{}", e["metadata"]["name"].as_str().unwrap());
                        match store.lock().unwrap().entry(key) {
                            std::collections::hash_map::Entry::Occupied(_) => (409, "AlreadyExists".into()),
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert(e);
                                (201, "{}".into())
                            }
                        }
                    }
                }
            }
            ("PATCH", ["api", "v1", "namespaces", ns, "events", name]) => {
                let p: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut s = store.lock().unwrap();
                match s.get_mut(&format!("{ns}/{name}")) {
                    None => (404, "NotFound".into()),
                    Some(e) => {
                        for (k, v) in p.as_object().unwrap() {
                            e[k] = v.clone();
                        }
                        (200, "{}".into())
                    }
                }
            }
            _ => (404, "NotFound".into()),
        }
    };
    let _ = write!(
        c,
        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = c.flush();
}

/// The stand-in API server, over TLS (the test CA's server certificate for
/// 127.0.0.1) or plain HTTP; returns its URL.
fn stand_in(store: Store, token: &'static str, tls: bool) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let config = tls.then(|| {
        let certs: Vec<_> = rustls_pemfile::certs(&mut &include_bytes!("data/server.crt")[..])
            .map(Result::unwrap)
            .collect();
        let key = rustls_pemfile::private_key(&mut &include_bytes!("data/server.key")[..])
            .unwrap()
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        )
    });
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            match &config {
                Some(cfg) => {
                    let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
                    let mut s = rustls::StreamOwned::new(conn, c);
                    handle(&mut s, &store, token);
                    s.conn.send_close_notify();
                    let _ = s.flush();
                }
                None => {
                    let mut c = c;
                    handle(&mut c, &store, token);
                }
            }
        }
    });
    format!("{}://{addr}", if tls { "https" } else { "http" })
}

fn plain_again(store: &Store) -> String {
    stand_in(store.clone(), "s3cret", false)
}

fn episode(scope: Scope, victims: &[(u32, &str)]) -> Episode {
    Episode {
        scope: Some(scope),
        victims: victims
            .iter()
            .map(|(pid, comm)| Victim {
                pid: *pid,
                comm: (*comm).into(),
                ..Victim::default()
            })
            .collect(),
        complete: true,
        ..Episode::default()
    }
}

#[test]
fn events_pass_the_api_servers_validation() {
    let store: Store = Arc::default();
    let url = stand_in(store.clone(), "s3cret", true);
    let d = std::env::temp_dir().join(format!("oomctl-kube-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let token = d.join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    std::env::set_var("NODE_NAME", "Node_1.Example");
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ca.crt");
    let cfg = KubeConfig::resolve(Some(url.clone()), Some(token.to_str().unwrap()), Some(ca), None).unwrap();
    let mut poster = EventPoster::new(cfg).unwrap();

    // A global OOM: kubelet's SystemOOM on the Node.
    poster.post(&episode(Scope::Global, &[(4242, "java")])).unwrap();
    // A pod's container: OOMKilled on the Pod, in its namespace.
    let mut pod = episode(Scope::Memcg, &[(18524, "cdi-importer")]);
    pod.k8s = Some(K8s {
        pod_uid: "6b212546-f5dd-4fdf-bcc7-72a686638102".into(),
        namespace: Some("vms".into()),
        pod: Some("importer-disk-0".into()),
        container_name: Some("importer".into()),
        ..K8s::default()
    });
    poster.post(&pod).unwrap();
    // The same again: counted on the first event.
    poster.post(&pod).unwrap();
    // A pod whose name is unknown, with a huge group kill: Node event,
    // message cut to the API's limit.
    let many: Vec<(u32, String)> = (0..200).map(|i| (1000 + i, format!("worker-{i}"))).collect();
    let refs: Vec<(u32, &str)> = many.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let mut anon = episode(Scope::Memcg, &refs);
    anon.memcg = Some(Memcg {
        path: Some("/kubepods/x".into()),
        ..Memcg::default()
    });
    poster.post(&anon).unwrap();

    let s = store.lock().unwrap();
    assert_eq!(s.len(), 3, "{s:#?}");
    let by_reason = |r: &str| s.values().find(|e| e["reason"] == r).cloned().unwrap();
    let sys = by_reason("SystemOOM");
    assert_eq!(
        sys["message"],
        "System OOM encountered, victim process: java, pid: 4242"
    );
    assert_eq!(sys["involvedObject"]["kind"], "Node");
    assert_eq!(sys["involvedObject"]["name"], "Node_1.Example");
    assert_eq!(sys["metadata"]["namespace"], "default");
    let oom = by_reason("OOMKilled");
    assert_eq!(oom["involvedObject"]["namespace"], "vms");
    assert_eq!(oom["involvedObject"]["name"], "importer-disk-0");
    assert_eq!(oom["count"], 2, "the repeat was counted");
    assert!(oom["message"].as_str().unwrap().contains("in container importer"));
    let node = by_reason("OOMKilling");
    assert!(node["message"].as_str().unwrap().len() <= MESSAGE_MAX);
    assert!(node["message"].as_str().unwrap().ends_with("..."));
    drop(s);

    // The stand-in does reject what the API server would.
    let pem = std::fs::read(ca).unwrap();
    let bad = KubeConfig {
        api: url.clone(),
        token: Some("wrong".into()),
        ca_pem: Some(pem.clone()),
        node: "n".into(),
    };
    let e = EventPoster::new(bad)
        .unwrap()
        .post(&episode(Scope::Global, &[(1, "x")]));
    assert!(e.unwrap_err().contains("401"));
    // A server the trusted CA did not sign is refused.
    let wrong = KubeConfig {
        api: url,
        token: Some("s3cret".into()),
        ca_pem: Some(include_bytes!("data/other-ca.crt").to_vec()),
        node: "n".into(),
    };
    let e = EventPoster::new(wrong)
        .unwrap()
        .post(&episode(Scope::Global, &[(2, "z")]));
    assert!(e.is_err(), "an untrusted server must be refused");
    // Plain http (a kubectl proxy) works too.
    let plain = stand_in(store.clone(), "s3cret", false);
    let cfg = KubeConfig::resolve(Some(plain), Some(token.to_str().unwrap()), None, None).unwrap();
    EventPoster::new(cfg)
        .unwrap()
        .post(&episode(Scope::Global, &[(7, "y")]))
        .unwrap();
    assert_eq!(store.lock().unwrap().len(), 4);
    assert!(KubeConfig::resolve(Some("ftp://x".into()), None, None, Some("n")).is_err());

    // oom-guard's kill (seed 002's event): its own reason, on the Node.
    let seed = std::fs::read_to_string("corpus/articles/seed-002-oom-guard.md.txt").unwrap();
    let line = seed.lines().find(|l| l.contains("oomcgroup")).unwrap();
    let snap = oomctl::snapshot::parse_guard_event(line).unwrap();
    let guard = oomctl::snapshot::guard_episode(&snap, "seed", 1);
    let cfg = KubeConfig::resolve(Some(plain_again(&store)), Some(token.to_str().unwrap()), None, None).unwrap();
    EventPoster::new(cfg).unwrap().post(&guard).unwrap();
    let s = store.lock().unwrap();
    let g = s
        .values()
        .find(|e| e["reason"] == "OomGuardKillContainer")
        .expect("guard event");
    assert_eq!(g["involvedObject"]["kind"], "Node");
    assert!(g["message"]
        .as_str()
        .unwrap()
        .contains("victim process: fakeOOM, pid: 16481"));
    drop(s);
    std::fs::remove_dir_all(&d).unwrap();
}
