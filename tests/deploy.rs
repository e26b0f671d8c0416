//! deploy/oomctl.yaml: the manifests parse, grant least privilege, mount
//! what watch needs, and pass oomctl only flags it has.

mod util;

use serde::Deserialize;
use serde_yaml::Value;
use util::oomctl;

fn docs() -> Vec<Value> {
    let text = std::fs::read_to_string("deploy/oomctl.yaml").expect("deploy/oomctl.yaml");
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).expect("valid YAML"))
        .collect()
}

fn kind<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == k).unwrap_or_else(|| panic!("no {k}"))
}

#[test]
fn manifests_are_valid_and_least_privilege() {
    let docs = docs();
    for d in &docs {
        assert!(d["apiVersion"].is_string() && d["kind"].is_string(), "{d:?}");
        assert!(d["metadata"]["name"].is_string());
    }
    // RBAC: events create/patch and nothing else.
    let role = kind(&docs, "ClusterRole");
    let rules = role["rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["resources"], Value::from(vec!["events"]));
    assert_eq!(rules[0]["verbs"], Value::from(vec!["create", "patch"]));
    let binding = kind(&docs, "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], "oomctl");
    assert_eq!(binding["subjects"][0]["name"], "oomctl");

    let ds = kind(&docs, "DaemonSet");
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"],
        ds["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(spec["hostPID"], true);
    assert_eq!(spec["serviceAccountName"], "oomctl");
    let c = &spec["containers"][0];
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert!(mounts.contains(&"/dev/kmsg") && mounts.contains(&"/sys/fs/cgroup"));
    let vols: Vec<&str> = spec["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for m in c["volumeMounts"].as_sequence().unwrap() {
        assert!(
            vols.contains(&m["name"].as_str().unwrap()),
            "mount of an undeclared volume"
        );
    }
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");

    // The args: a real subcommand, only flags it has, the probe's port.
    let args: Vec<String> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(args[0], "watch");
    let help = oomctl(&["watch", "--help"]).stdout_str();
    for a in &args[1..] {
        let flag = a.split('=').next().unwrap();
        assert!(help.contains(flag), "oomctl watch has no {flag}");
    }
    let port = c["livenessProbe"]["httpGet"]["port"].as_u64().unwrap();
    assert!(args.iter().any(|a| a == &format!("--metrics=:{port}")));
    assert!(c["env"][0]["name"] == "NODE_NAME");
}

/// The pod spec's container, and the pod's and container's security
/// contexts merged (the container's fields win, as in Kubernetes).
fn container_and_security(docs: &[Value]) -> (Value, serde_yaml::Mapping) {
    let spec = &kind(docs, "DaemonSet")["spec"]["template"]["spec"];
    let mut sc = spec["securityContext"].as_mapping().cloned().unwrap_or_default();
    let c = spec["containers"][0].clone();
    for (k, v) in c["securityContext"].as_mapping().cloned().unwrap_or_default() {
        sc.insert(k, v);
    }
    (c, sc)
}

/// The security settings SECURITY.md explains (and tests/image.rs runs in
/// a real runtime): privileged only for the device cgroup, so never root;
/// no capability list a privileged container would ignore; read-only root;
/// hostPaths mounted read-only; the state on a small emptyDir; limits.
#[test]
fn daemonset_drops_what_the_kernel_allows() {
    let docs = docs();
    let (c, sc) = container_and_security(&docs);
    let get = |k: &str| sc.get(k).cloned().unwrap_or(Value::Null);
    assert_eq!(get("privileged"), true, "the device cgroup admits /dev/kmsg only so");
    assert_eq!(get("runAsNonRoot"), true);
    let uid = get("runAsUser").as_u64().expect("runAsUser");
    let gid = get("runAsGroup").as_u64().expect("runAsGroup");
    assert_ne!(uid, 0, "not root: CAP_SYSLOG comes from the binary's file capability");
    assert_ne!(gid, 0);
    assert_eq!(get("readOnlyRootFilesystem"), true);
    assert!(
        get("capabilities").is_null(),
        "a privileged container's capability list is ignored by the runtime: it would only mislead"
    );
    assert_ne!(
        get("allowPrivilegeEscalation"),
        false,
        "the API refuses it with privileged, and no_new_privs would withhold the file capability"
    );
    // The image's own default user is the same.
    let containerfile = std::fs::read_to_string("Containerfile").expect("Containerfile");
    assert!(
        containerfile.lines().any(|l| l == format!("USER {uid}:{gid}")),
        "Containerfile's USER is {uid}:{gid}"
    );

    // Mounts: every hostPath read-only; the state on an emptyDir with a size limit.
    let spec = &kind(&docs, "DaemonSet")["spec"]["template"]["spec"];
    let volume = |name: &str| {
        spec["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"))
            .clone()
    };
    let mut writable = Vec::new();
    for m in c["volumeMounts"].as_sequence().unwrap() {
        let v = volume(m["name"].as_str().unwrap());
        if v["hostPath"].is_mapping() {
            assert_eq!(m["readOnly"], true, "hostPath {m:?} must be read-only");
        } else {
            assert!(v["emptyDir"]["sizeLimit"].is_string(), "{v:?}");
            writable.push(m["mountPath"].as_str().unwrap().to_owned());
        }
    }
    let state = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|a| a.as_str()?.strip_prefix("--state="))
        .expect("--state");
    assert!(
        writable.iter().any(|w| state.starts_with(&format!("{w}/"))),
        "--state={state} must be on a writable volume: {writable:?}"
    );

    // Resources: requests, and a memory limit no larger than 64 MiB.
    let r = &c["resources"];
    assert!(r["requests"]["cpu"].is_string() && r["requests"]["memory"].is_string());
    let limit = r["limits"]["memory"].as_str().unwrap();
    let mib: u64 = limit.strip_suffix("Mi").expect("in Mi").parse().unwrap();
    assert!((16..=64).contains(&mib), "{limit}");
}

/// The image is named so that a user can point it at a registry: the name
/// scripts/build-image gives it (`oomctl`, the package version as tag), and
/// a kustomization whose `images` entry matches it.
#[test]
fn image_is_named_for_kustomize_and_build_image() {
    let docs = docs();
    let (c, _) = container_and_security(&docs);
    let image = c["image"].as_str().unwrap();
    let (name, tag) = image.rsplit_once(':').expect("a tagged image");
    assert_eq!(name, "oomctl");
    assert_eq!(tag, env!("CARGO_PKG_VERSION"), "the tag scripts/build-image gives");
    let build = std::fs::read_to_string("scripts/build-image").unwrap();
    assert!(
        build.contains("ref=localhost/oomctl:$version"),
        "build-image names it oomctl:VERSION"
    );

    let text = std::fs::read_to_string("deploy/kustomization.yaml").expect("deploy/kustomization.yaml");
    let k: Value = serde_yaml::from_str(&text).expect("valid YAML");
    assert_eq!(k["kind"], "Kustomization");
    assert_eq!(k["resources"], Value::from(vec!["oomctl.yaml"]));
    let images = k["images"].as_sequence().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["name"], name, "kustomize edit set image {name}=… must match");
    assert_eq!(images[0]["newTag"], tag);
}
