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
