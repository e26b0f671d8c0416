//! The VM lab from the tests: run a shell scenario as root on a second,
//! real kernel (Debian's 6.1 under QEMU, `scripts/vm-lab`), on cgroup v2 or
//! v1, and get back what it wrote under `/out`. Real OOMs happen there, never
//! on the host.
//!
//! ```ignore
//! let Some(lab) = util::need(vm::lab()) else { return };
//! let run = lab.run("echo hi > /out/hi", false, &[]);
//! run.expect_status(0);
//! assert_eq!(run.read("hi"), "hi\n");
//! ```
//!
//! The scenario sees `OOMCTL`, `ALLOC`, `CG_VERSION`, `CG_ROOT` (with
//! `--disk`, `DISK`) and the helpers `in-cgroup` and `wait-for` (see
//! `scripts/vm-lab`).

use super::TempDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One boot at a time: a boot keeps both cores of the machine busy (TCG,
/// two vCPUs), and two at once would make each slow enough to fail its
/// timeouts.
static BOOT: Mutex<()> = Mutex::new(());

/// Seconds a scenario may run before the VM is killed and the run fails.
pub const TIMEOUT_S: u32 = 120;

/// The set-up lab: `scripts/vm-lab` with its kernel and QEMU.
pub struct Lab {
    script: PathBuf,
}

/// What one boot gave back.
pub struct VmRun {
    /// The scenario's exit status, or why the run failed as a whole (a
    /// kernel panic, a timeout, missing output), from `scripts/vm-lab`.
    pub status: Result<i32, String>,
    /// Everything the scenario wrote under `/out` in the guest, and
    /// `console.log`, the whole serial console.
    pub out: TempDir,
    /// The serial console: scenario output, kernel errors, the transfer.
    pub console: String,
    /// What `scripts/vm-lab` said on stderr.
    pub stderr: String,
}

/// The lab, or why it cannot run here (with what to do about it).
pub fn lab() -> Result<Lab, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/vm-lab");
    if !script.exists() {
        return Err(format!("{} is missing", script.display()));
    }
    let qemu = Command::new("qemu-system-x86_64").arg("--version").output();
    if !qemu.is_ok_and(|o| o.status.success()) {
        return Err("the VM lab is not set up: qemu-system-x86_64 is missing (run scripts/vm-lab setup)".to_owned());
    }
    if !Path::new("/bin/busybox").exists() {
        return Err("the VM lab is not set up: /bin/busybox is missing (run scripts/vm-lab setup)".to_owned());
    }
    let kernel = root.join("target/vm-lab/vmlinuz");
    if !kernel.exists() {
        return Err(format!(
            "the VM lab is not set up: the kernel is not fetched ({} is missing; run scripts/vm-lab setup)",
            kernel.display()
        ));
    }
    Ok(Lab { script })
}

impl Lab {
    /// Boot, run `scenario` (shell script text) as root, power off. `v1`
    /// lays out cgroup v1 memory like a hybrid host; `files` are copied in
    /// (host path, absolute guest path).
    pub fn run(&self, scenario: &str, v1: bool, files: &[(&Path, &str)]) -> VmRun {
        self.run_with(scenario, v1, files, &[])
    }

    /// [`Lab::run`] with more `scripts/vm-lab run` options: `--disk ext4`
    /// (a disk mounted at `$DISK`, /mnt, in the guest), `--disk-write-bps N`.
    pub fn run_with(&self, scenario: &str, v1: bool, files: &[(&Path, &str)], options: &[&str]) -> VmRun {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let out = TempDir::new(&format!("vm-out-{n}"));
        let scratch = TempDir::new(&format!("vm-scenario-{n}"));
        let script = scratch.path("scenario.sh");
        std::fs::write(&script, scenario).expect("write the scenario");

        let mut cmd = Command::new(&self.script);
        cmd.arg("run")
            .args(["--timeout", &TIMEOUT_S.to_string()])
            .arg("--out")
            .arg(&out.0);
        if v1 {
            cmd.arg("--v1");
        }
        cmd.args(options);
        for (host, guest) in files {
            cmd.arg("--file").arg(format!("{}:{guest}", host.display()));
        }
        cmd.arg(&script).env("OOMCTL_BIN", env!("CARGO_BIN_EXE_oomctl"));

        let output = {
            let _one = BOOT.lock().unwrap_or_else(|e| e.into_inner());
            cmd.output().expect("run scripts/vm-lab")
        };
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let console = std::fs::read(out.path("console.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let status = match stderr.lines().find_map(|l| l.strip_prefix("vm-lab: FAILED: ")) {
            Some(why) => Err(why.to_owned()),
            None => match output.status.code() {
                Some(c) => Ok(c),
                None => Err(format!("scripts/vm-lab ended by {}", output.status)),
            },
        };
        VmRun {
            status,
            out,
            console,
            stderr,
        }
    }
}

impl VmRun {
    /// Panic unless the VM ran the scenario to its end with status `want`,
    /// showing the console.
    pub fn expect_status(&self, want: i32) {
        match &self.status {
            Ok(c) if *c == want => {}
            Ok(c) => panic!("the scenario exited {c}, not {want}\n{}", self.console_tail(60)),
            Err(why) => panic!("the VM run failed: {why}\n{}", self.console_tail(60)),
        }
    }

    /// A file the scenario wrote under /out, as text.
    pub fn read(&self, name: &str) -> String {
        let p = self.out.path(name);
        match std::fs::read(&p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => panic!("the scenario left no /out/{name} ({e})\n{}", self.console_tail(60)),
        }
    }

    /// The last `n` lines of the console, for failure messages.
    pub fn console_tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.console.lines().collect();
        let tail = lines[lines.len().saturating_sub(n)..].join("\n");
        format!(
            "--- console (last {n} lines) ---\n{tail}\n--- scripts/vm-lab stderr ---\n{}",
            self.stderr
        )
    }
}
