//! The container image (Containerfile, scripts/build-image) in a real
//! runtime: podman with runc, through scripts/podman and its settings.
//!
//! - the image holds the static binary and nothing else, small, labelled
//!   with the version and commit, the binary with `cap_syslog=p`;
//! - `analyze` in it prints what the corpus goldens and the host's binary do;
//! - `watch` in it, run as deploy/oomctl.yaml runs it (its security
//!   context, mounts, limits and arguments, translated to podman flags),
//!   reports a real memcg OOM caused on this host, holding no capability
//!   while it watches. This one causes an OOM kill, so it runs only with
//!   `OOMCTL_LIVE_HOST=1`, in a child cgroup of this test's own memory
//!   cgroup (tests/util/host.rs).
//!
//! The image is built once per run by scripts/build-image, which reuses
//! cargo's static release build when nothing changed (the first build takes
//! 1–2 min). Without root, podman or runc these tests skip saying why, and
//! fail under CI.
//!
//! Cgroups: runc cannot run a container without them here (crun, which
//! can, refuses this host's hybrid layout), so each container is given a
//! relative `--cgroup-parent`: runc puts it under this process's own cgroup
//! in every hierarchy (its memory cgroup; the root of the others, where
//! this process is). podman removes each container's cgroup; the parent is
//! removed when the test ends ([`CgroupParent`]). conmon stays in this
//! process's cgroups (`--cgroups no-conmon`).

mod util;

use serde_json::Value;
use serde_yaml::Value as Yaml;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use util::host::{lines_from, oom_in, start_in, Memcg, LIMIT};
use util::TempDir;

/// Root, podman and runc, or why not.
fn runtime() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or("?")
        .to_owned();
    if euid != "0" {
        return Err(format!("not root (euid {euid}): podman here runs rootful"));
    }
    // Each with a flag it answers with success.
    for (tool, flag) in [("podman", "--version"), ("runc", "--version"), ("setcap", "-h")] {
        let runs = Command::new(tool)
            .arg(flag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !runs.is_ok_and(|s| s.success()) {
            return Err(format!(
                "{tool} is not installed (apt-get install podman runc libcap2-bin)"
            ));
        }
    }
    Ok(())
}

/// The image reference scripts/build-image prints last, built once per
/// test run; None (printing why) without root, podman or runc. A failed
/// build fails the test: that is no missing component.
fn image() -> Option<&'static str> {
    util::need(runtime())?;
    static BUILT: OnceLock<String> = OnceLock::new();
    Some(BUILT.get_or_init(|| {
        let t = Instant::now();
        let out = Command::new("scripts/build-image")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/build-image");
        assert!(out.status.success(), "scripts/build-image: {}", out.status);
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        let r = stdout.lines().last().expect("an image reference").to_owned();
        eprintln!("scripts/build-image: {r} in {:.1} s", t.elapsed().as_secs_f64());
        r
    }))
}

fn podman(args: &[&str]) -> Output {
    Command::new("scripts/podman")
        .args(args)
        .output()
        .expect("run scripts/podman")
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "scripts/podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// This process's cgroup directory in every mounted hierarchy (v1 and v2).
fn own_cgroup_dirs() -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    // (mount point, fstype, super options) of cgroup mounts of the whole hierarchy.
    let mounts: Vec<(String, String, String)> = mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            (f.get(3) == Some(&"/") && r.first().is_some_and(|t| t.starts_with("cgroup")))
                .then(|| (f[4].to_owned(), r[0].to_owned(), r.get(2).unwrap_or(&"").to_string()))
        })
        .collect();
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
    own.lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
            let (mnt, _, _) = mounts.iter().find(|(_, fstype, opts)| {
                if ctrls.is_empty() {
                    fstype == "cgroup2"
                } else {
                    fstype == "cgroup" && ctrls.split(',').all(|c| opts.split(',').any(|o| o == c))
                }
            })?;
            Some(PathBuf::from(format!("{mnt}{path}")))
        })
        .collect()
}

/// The `--cgroup-parent` of a test's containers (see the module comment);
/// removed from every hierarchy when dropped, once podman has removed the
/// containers' own cgroups below it.
struct CgroupParent(String);

impl CgroupParent {
    fn new(tag: &str) -> CgroupParent {
        CgroupParent(format!("oomctl-image-{tag}-{}", std::process::id()))
    }
}

impl Drop for CgroupParent {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for dir in own_cgroup_dirs().iter().map(|d| d.join(&self.0)) {
            while dir.exists() && std::fs::remove_dir(&dir).is_err() {
                if Instant::now() > deadline {
                    eprintln!("warning: could not remove {}", dir.display());
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// A container started by a test: removed (with whatever runs in it, which
/// can only be what this test started) when dropped.
struct Container {
    name: String,
    child: Child,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "0", &self.name]);
        let _ = self.child.wait();
    }
}

/// `podman run` flags every test container gets: its name, no network, the
/// cgroup parent, conmon in this process's cgroups.
fn base_flags(name: &str, parent: &CgroupParent) -> Vec<String> {
    [
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "none",
        "--cgroups",
        "no-conmon",
        "--cgroup-parent",
        &parent.0,
    ]
    .map(str::to_owned)
    .to_vec()
}

// ---- the image itself ---------------------------------------------------

/// A tar entry: name, type flag, and its PAX records (`SCHILY.xattr.*`
/// carry extended attributes, as raw bytes).
type TarEntry = (String, u8, Vec<(String, Vec<u8>)>);

/// The entries of an (uncompressed) tar archive.
fn tar_entries(tar: &[u8]) -> Vec<TarEntry> {
    let field = |b: &[u8]| String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap()).into_owned();
    let mut out = Vec::new();
    let mut pax = Vec::new();
    let mut at = 0;
    while let Some(h) = tar.get(at..at + 512) {
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = usize::from_str_radix(field(&h[124..136]).trim(), 8).expect("octal size");
        let data = &tar[at + 512..at + 512 + size];
        let (prefix, name) = (field(&h[345..500]), field(&h[0..100]));
        let name = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        match h[156] {
            b'x' => {
                // Records: "LEN key=value\n", LEN counting the whole record.
                let mut rest = data;
                while !rest.is_empty() {
                    let sp = rest.iter().position(|&c| c == b' ').expect("a PAX length");
                    let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
                    let rec = &rest[sp + 1..len - 1];
                    let eq = rec.iter().position(|&c| c == b'=').expect("key=value");
                    pax.push((String::from_utf8_lossy(&rec[..eq]).into_owned(), rec[eq + 1..].to_vec()));
                    rest = &rest[len..];
                }
            }
            t => out.push((name, t, std::mem::take(&mut pax))),
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// One file's bytes from a tar archive on disk.
fn from_archive(archive: &Path, member: &str) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(member)
        .output()
        .expect("tar");
    assert!(out.status.success(), "{member} in {}", archive.display());
    out.stdout
}

fn blob(archive: &Path, digest: &str) -> Vec<u8> {
    from_archive(
        archive,
        &format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap()),
    )
}

/// The binary's commit, as the host build of this tree reports it.
fn commit() -> String {
    let v = util::oomctl(&["--version"]).stdout_str();
    v.trim().rsplit_once('(').unwrap().1.trim_end_matches(')').to_owned()
}

#[test]
fn image_holds_only_the_static_binary_small_and_labelled() {
    let Some(image) = image() else {
        return;
    };
    let version = env!("CARGO_PKG_VERSION");
    let inspect: Value = serde_json::from_str(&podman_ok(&["image", "inspect", image])).unwrap();
    let i = &inspect[0];
    let size = i["Size"].as_u64().unwrap();
    eprintln!("{image}: {size} bytes");
    assert!(size <= 10_000_000, "{size} bytes: over 10 MB");
    assert_eq!(i["Config"]["User"], "65532:65532");
    assert_eq!(i["Config"]["Entrypoint"], serde_json::json!(["/oomctl"]));
    let labels = &i["Config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], version);
    assert_eq!(labels["org.opencontainers.image.revision"], commit().as_str());

    // The archive a user pushes: its manifest's annotations, its one layer.
    let archive = PathBuf::from(format!("target/image/oomctl-{version}.oci.tar"));
    let index: Value = serde_json::from_slice(&from_archive(&archive, "index.json")).unwrap();
    let manifest: Value =
        serde_json::from_slice(&blob(&archive, index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let notes = &manifest["annotations"];
    assert_eq!(notes["org.opencontainers.image.version"], version);
    assert_eq!(notes["org.opencontainers.image.revision"], commit().as_str());
    assert!(notes["org.opencontainers.image.created"].is_string());
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{layers:?}");
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&blob(&archive, layers[0]["digest"].as_str().unwrap())[..])
        .read_to_end(&mut tar)
        .unwrap();
    let entries = tar_entries(&tar);
    let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["oomctl"], "the binary and nothing else: no shell");
    let (_, kind, pax) = &entries[0];
    assert_eq!(*kind, b'0', "a regular file");
    let cap = pax
        .iter()
        .find(|(k, _)| k == "SCHILY.xattr.security.capability")
        .map(|(_, v)| v.clone())
        .expect("the file capability");
    // vfs_cap_data revision 2 without the effective flag; permitted: bit
    // 34 (CAP_SYSLOG) alone, in the second 32-bit word; no inheritable.
    let word = |i: usize| u32::from_le_bytes(cap[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!(cap.len(), 20);
    assert_eq!(
        [word(0), word(1), word(2), word(3), word(4)],
        [0x0200_0000, 0, 0, 1 << (34 - 32), 0],
        "cap_syslog=p"
    );
}

// ---- analyze in the image -------------------------------------------------

#[test]
fn analyze_in_the_image_prints_what_the_host_build_does() {
    let Some(image) = image() else {
        return;
    };
    let parent = CgroupParent::new("analyze");
    let corpus = std::fs::canonicalize("corpus").unwrap();
    let run = |name: &str, args: &[&str]| {
        let mut a = base_flags(name, &parent);
        // The image's own user, no capability, nothing writable.
        a.extend(
            [
                "--cap-drop=all",
                "--read-only",
                "--read-only-tmpfs=false",
                "--workdir=/",
                &format!("--volume={}:/corpus:ro", corpus.display()),
                image,
                "analyze",
                "--format=jsonl",
                "-j1",
            ]
            .map(str::to_owned),
        );
        a.extend(args.iter().map(|s| s.to_string()));
        Command::new("scripts/podman").args(&a).output().expect("podman run")
    };
    // One bundled log: exactly its golden.
    let log = "corpus/articles/seed-004-cdi-importer.rst";
    let out = run(&format!("oomctl-analyze-one-{}", std::process::id()), &[log]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let golden = std::fs::read_to_string(format!("{log}.expected.jsonl")).unwrap();
    let got = String::from_utf8(out.stdout).unwrap();
    assert_eq!(got, golden, "{}", util::diff(&golden, &got));
    // The whole corpus: what the host's build of this tree prints.
    let out = run(&format!("oomctl-analyze-all-{}", std::process::id()), &["corpus"]);
    let host = util::oomctl(&["analyze", "--format=jsonl", "-j1", "corpus"]);
    assert_eq!(out.status.code(), Some(host.code()));
    let got = String::from_utf8(out.stdout).unwrap();
    assert!(got.lines().count() > 50, "{} episodes", got.lines().count());
    assert_eq!(got, host.stdout_str(), "{}", util::diff(&host.stdout_str(), &got));
}

// ---- watch in the image, as the DaemonSet runs it --------------------------

/// deploy/oomctl.yaml's DaemonSet container as `podman run` flags, and its
/// arguments: the security context (the pod's, then the container's),
/// hostPID, the volumes (an emptyDir is `empty_dir`, mode 0777 as the
/// kubelet makes it), the memory limit, the environment. Capabilities are
/// passed only when not privileged: a privileged container's list is
/// ignored by Kubernetes' runtimes. `--k8s-events` is left out (no API
/// server here; tests/k8s_events.rs posts to a stand-in).
fn daemonset_as_podman(empty_dir: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string("deploy/oomctl.yaml").unwrap();
    let docs: Vec<Yaml> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let ds = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let spec = &ds["spec"]["template"]["spec"];
    let c = &spec["containers"][0];
    let mut sc = spec["securityContext"].as_mapping().cloned().unwrap_or_default();
    sc.extend(c["securityContext"].as_mapping().cloned().unwrap_or_default());
    let sc = Yaml::Mapping(sc);
    let mut f: Vec<String> = Vec::new();
    if spec["hostPID"] == true {
        f.push("--pid=host".into());
    }
    let privileged = sc["privileged"] == true;
    if privileged {
        f.push("--privileged".into());
    } else {
        for (key, flag) in [("drop", "--cap-drop"), ("add", "--cap-add")] {
            for cap in sc["capabilities"][key].as_sequence().into_iter().flatten() {
                f.push(format!("{flag}={}", cap.as_str().unwrap()));
            }
        }
    }
    if let Some(uid) = sc["runAsUser"].as_u64() {
        let gid = sc["runAsGroup"].as_u64().unwrap_or(uid);
        f.push(format!("--user={uid}:{gid}"));
    }
    if sc["readOnlyRootFilesystem"] == true {
        // Kubernetes mounts no tmpfs of its own on a read-only root.
        f.extend(["--read-only".into(), "--read-only-tmpfs=false".into()]);
    }
    if sc["allowPrivilegeEscalation"] == false {
        f.push("--security-opt=no-new-privileges".into());
    }
    for m in c["volumeMounts"].as_sequence().unwrap() {
        let v = spec["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == m["name"])
            .unwrap();
        let source = if let Some(p) = v["hostPath"]["path"].as_str() {
            p.to_owned()
        } else if v["emptyDir"].is_mapping() {
            empty_dir.display().to_string()
        } else {
            panic!("a volume this test cannot stand in for: {v:?}");
        };
        let ro = if m["readOnly"] == true { ":ro" } else { "" };
        f.push(format!("--volume={source}:{}{ro}", m["mountPath"].as_str().unwrap()));
    }
    if let Some(mem) = c["resources"]["limits"]["memory"].as_str() {
        let mib = mem.strip_suffix("Mi").expect("a limit in Mi");
        // No swap on top, as on a Kubernetes node.
        f.extend([format!("--memory={mib}m"), format!("--memory-swap={mib}m")]);
    }
    for e in c["env"].as_sequence().into_iter().flatten() {
        let value = match e["value"].as_str() {
            Some(v) => v.to_owned(),
            // The downward API's spec.nodeName: this host.
            None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap()
                .trim()
                .to_owned(),
        };
        f.push(format!("--env={}={value}", e["name"].as_str().unwrap()));
    }
    let args = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .filter(|a| a != "--k8s-events")
        .collect();
    (f, args)
}

/// What is left to read from an ended process's output: the lines until
/// its end (at most 5 s more).
fn drain(rx: &std::sync::mpsc::Receiver<(Instant, String)>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    while let Ok((_, l)) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        out.push(l);
    }
    out
}

/// A /proc/PID/status field's value.
fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn watch_in_the_image_as_the_daemonset_runs_it_reports_a_real_oom() {
    let Some((memcg, memcg_path)) = util::host::lab(false) else {
        return;
    };
    let Some(image) = image() else {
        return;
    };
    let parent = CgroupParent::new("watch");
    let state = TempDir::new("image-state");
    // An emptyDir as the kubelet makes it: anyone may write.
    std::fs::set_permissions(&state.0, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (flags, args) = daemonset_as_podman(&state.0);
    let name = format!("oomctl-watch-{}", std::process::id());
    let mut cmd = base_flags(&name, &parent);
    cmd.extend(flags);
    cmd.push(image.to_owned());
    cmd.extend(args.clone());
    eprintln!("scripts/podman {}", cmd.join(" "));
    let mut child = Command::new("scripts/podman")
        .args(&cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podman run");
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let mut c = Container { name, child };
    let lines = lines_from(stdout);
    let err = lines_from(stderr);
    let mut said = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, l) = err
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("watch in the container never said it watches: {said:?}"));
        said.push(l);
        let l = said.last().unwrap();
        assert!(!l.contains("error"), "{said:?}");
        if l.contains("watching /dev/kmsg") {
            break;
        }
    }

    // It holds no capability while it watches, in any thread, as 65532.
    let pid = podman_ok(&["inspect", "--format", "{{.State.Pid}}", &c.name]);
    let pid = pid.trim();
    let tasks: Vec<PathBuf> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!tasks.is_empty());
    for t in &tasks {
        let st = std::fs::read_to_string(t.join("status")).unwrap();
        assert_eq!(status_field(&st, "Uid"), "65532 65532 65532 65532", "{}", t.display());
        for set in ["CapEff", "CapPrm", "CapAmb", "CapInh"] {
            assert_eq!(status_field(&st, set), "0000000000000000", "{set} of {}", t.display());
        }
    }

    // A real OOM in a child cgroup of this test's own, beside an idle
    // process the live snapshot must list (read from /proc by 65532).
    let cg = Memcg::create(&memcg, &memcg_path, &format!("oomctl-image-oom-{}", std::process::id()));
    let mut idle = start_in(&cg.dir, "sleep 60");
    let idle_pid = idle.id().to_string();
    util::wait_until(5, "the idle process in the cgroup", || {
        std::fs::read_to_string(cg.dir.join("cgroup.procs")).is_ok_and(|p| p.lines().any(|l| l == idle_pid))
    });
    let victim = oom_in(&cg);
    let (_, line) = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("watch in the container reports the OOM");
    let e: Value = serde_json::from_str(&line).expect("one JSON episode");
    assert_eq!(e["victims"][0]["pid"], victim, "{line}");
    assert_eq!(e["victims"][0]["comm"], "tail");
    assert_eq!(e["scope"], "memcg");
    assert_eq!(e["memcg"]["path"], cg.kernel_path.as_str());
    assert_eq!(e["memcg"]["limit_bytes"], LIMIT);
    assert_eq!(e["complete"], true);
    assert_eq!(e["source"]["file"], "/dev/kmsg");
    let snap = &e["snapshots"][0];
    assert_eq!(
        snap["path"],
        cg.kernel_path.as_str(),
        "a live snapshot through the read-only cgroupfs"
    );
    assert_eq!(snap["limit_bytes"], LIMIT);
    let procs = snap["processes"].as_array().unwrap();
    assert!(
        procs.iter().any(|p| p["pid"].as_u64() == Some(u64::from(idle.id()))
            && p["comm"] == "sleep"
            && p["oom_score"].is_u64()),
        "the idle process, from the host's /proc: {procs:?}"
    );
    let _ = idle.kill();
    let _ = idle.wait();

    // The watcher's memory, against the DaemonSet's limit.
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    eprintln!(
        "watch in the container: VmHWM {}, VmRSS {}",
        status_field(&st, "VmHWM"),
        status_field(&st, "VmRSS")
    );

    // SIGTERM: it finishes, saves its state (as 65532, on the emptyDir)
    // and exits 0.
    podman_ok(&["stop", "--time", "10", &c.name]);
    let code = c.child.wait().unwrap().code();
    let rest = drain(&err);
    assert_eq!(code, Some(0), "{said:?} {rest:?}");
    for l in said.iter().chain(&rest) {
        assert!(!l.contains("oomctl: warning") && !l.contains("oomctl: error"), "{l}");
    }
    let more = drain(&lines);
    assert!(more.is_empty(), "one episode only: {more:?}");
    let state_file = state.path("state.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state_file).expect("--state written")).unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(saved["boot_id"], boot.trim());
    assert!(saved["seq"].is_u64());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&state_file).unwrap().uid(),
        65532,
        "written by the non-root user"
    );
    drop(c);
    drop(cg);
}
