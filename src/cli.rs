//! Command-line interface. clap types live only here and are converted once
//! into the library's validated configuration.

use clap::{Args, Parser, Subcommand, ValueEnum};
use oomctl::analyze::AnalyzeConfig;
use oomctl::builder::BuilderOptions;
use oomctl::envelope::Container;
use oomctl::output::{Format, GroupBy, GroupFormat, GroupKey};
use oomctl::scan::{ScanOptions, BLOCK};

/// One documented exit status: the code and what it means.
pub type ExitStatus = (u8, &'static str);

/// The exit statuses of `oomctl SUB` (None: of oomctl as a whole), as
/// `--help` and the man pages' EXIT STATUS section give them. main.rs
/// returns these codes; tests/man.rs holds the pages to `--help`.
pub fn exit_statuses(sub: Option<&str>) -> &'static [ExitStatus] {
    match sub {
        None => &[
            (
                0,
                "success; for analyze and simulate: at least one OOM episode was found",
            ),
            (1, "analyze and simulate: no OOM episode was found"),
            (
                2,
                "an error: an unreadable input, a bad argument, failed output; also \
                 oomctl dump, a command of systemd-oomd's oomctl, not of this one",
            ),
        ],
        Some("simulate") => &[
            (
                0,
                "at least one OOM episode was found (--over-time: samples or OOMs were judged)",
            ),
            (1, "no OOM episode was found (--over-time: no sample and no OOM)"),
            (
                2,
                "an error: an unreadable input (the other inputs are still reported), \
                 a bad argument, or failed output",
            ),
        ],
        Some("analyze") => &[
            (0, "at least one OOM episode was found"),
            (1, "no OOM episode was found"),
            (
                2,
                "an error: an unreadable input (the other inputs are still reported), \
                 a bad argument, or failed output",
            ),
        ],
        Some("snapshot") => &[
            (0, "every capture was written"),
            (
                2,
                "an error: a cgroup that cannot be found or read, a bad argument, failed output",
            ),
        ],
        Some("watch") => &[
            (0, "stopped by SIGINT or SIGTERM, or its standard output was closed"),
            (
                2,
                "an error: /dev/kmsg or cgroupfs cannot be read, a bad argument, failed output",
            ),
        ],
        Some("record" | "guard") => &[
            (0, "stopped by SIGINT or SIGTERM"),
            (
                2,
                "an error: /dev/kmsg or cgroupfs cannot be read, a bad argument, failed output",
            ),
        ],
        Some("replay") => &[
            (0, "the recording was replayed"),
            (
                2,
                "an error: the recording cannot be read, a bad argument, failed output",
            ),
        ],
        Some("man") => &[
            (0, "the page was printed, or the pages were written"),
            (2, "an error: no such page, a bad argument, failed output"),
        ],
        Some(_) => &[(0, "success"), (2, "an error: a bad argument, failed output")],
    }
}

/// `--help`'s closing "Exit status" list of `oomctl SUB`.
fn exit_help(sub: Option<&str>) -> String {
    let mut s = "Exit status:".to_owned();
    for (code, what) in exit_statuses(sub) {
        s.push_str(&format!("\n  {code}  {what}"));
    }
    s
}

/// The value parser of every byte-size flag: plain bytes or a number with
/// a unit, as `units::parse_size` reads it. clap puts the flag's name in
/// front of the message.
fn size_arg(s: &str) -> Result<u64, String> {
    oomctl::units::parse_size(s).map_err(|e| format!("{e}; expected {}", oomctl::units::SIZE_FORMS))
}

/// `oomctl --help` and oomctl(1)'s DESCRIPTION; `-h` and NAME give the
/// one-line `about` (Cargo.toml's description).
const LONG_ABOUT: &str = "Tells what happened when Linux killed a process for lack of memory. \
It rebuilds every OOM-killer episode from kernel logs (analyze), or live from /dev/kmsg \
(watch, record, replay): which limit ran out, the cgroup's usage and statistics, the task \
table, who was killed, and which pod and container that was. simulate and guard model \
or enforce an oom-guard policy.

Start with: oomctl analyze /var/log/kern.log, or dmesg | oomctl analyze.";

/// Tell what happened when Linux killed a process for lack of memory.
#[derive(Debug, Parser)]
#[command(name = "oomctl", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("OOMCTL_COMMIT"), ")"), about, long_about = LONG_ABOUT, after_help = exit_help(None))]
pub struct Cli {
    /// Colour the human formats: auto (on a terminal, unless NO_COLOR is
    /// set), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// The columns of this stdout: `COLUMNS` if set, else the terminal's, else
/// 80.
pub fn width() -> usize {
    use std::io::IsTerminal;
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| terminal_columns(&stdout, tty))
        .unwrap_or(oomctl::output::Style::DEFAULT_WIDTH)
}

/// The width `--help` wraps to: [`width`] on a terminal or with `COLUMNS`
/// set; else 0, clap's "as written" (a pipe, a script reading the help).
pub fn help_width(width: usize) -> usize {
    use std::io::IsTerminal;
    let asked = std::env::var("COLUMNS").is_ok_and(|c| !c.is_empty());
    match std::io::stdout().is_terminal() || asked {
        true => width,
        false => 0,
    }
}

/// How the human formats draw on this stdout: `width` columns ([`width`]),
/// coloured per `--color` (`auto`: on a terminal, unless `NO_COLOR` is set
/// and not empty, or `TERM` is `dumb`).
pub fn style(color: ColorArg, width: usize) -> oomctl::output::Style {
    use std::io::IsTerminal;
    let tty = std::io::stdout().is_terminal();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let color = match color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => tty && env("NO_COLOR").is_none() && env("TERM").as_deref() != Some("dumb"),
    };
    oomctl::output::Style::new(width, color)
}

#[cfg(target_os = "linux")]
fn terminal_columns(stdout: &std::io::Stdout, tty: bool) -> Option<usize> {
    use std::os::fd::AsFd;
    tty.then(|| oomctl::live::sys::terminal_columns(&stdout.as_fd()))
        .flatten()
}

#[cfg(not(target_os = "linux"))]
fn terminal_columns(_: &std::io::Stdout, _: bool) -> Option<usize> {
    None
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rebuild every OOM-killer episode from kernel logs.
    ///
    /// Reads dmesg (plain, -T, -r, -x, caller ids), syslog/kern.log/messages,
    /// journalctl -k (short, short-iso, short-monotonic, -o json), raw
    /// /dev/kmsg records, Fluent Bit kmsg JSON, gzip files, and reports pasted
    /// into other text. Directories are read recursively.
    #[command(after_help = exit_help(Some("analyze")))]
    Analyze(AnalyzeArgs),
    /// Capture the live state of memory cgroups as JSON lines.
    ///
    /// Limit, usage, peak, failcnt or events, memory.stat, oom_control,
    /// pressure and the processes with their oom_score, oom_score_adj and
    /// RSS, for cgroup v1 and v2. Give the output to `analyze --snapshots`.
    #[command(after_help = exit_help(Some("snapshot")))]
    Snapshot(SnapshotArgs),
    /// Report OOM episodes live from /dev/kmsg as they happen.
    ///
    /// Starts at the end of the kernel's ring buffer (old OOMs are not
    /// reported again) unless --since-boot or --state says otherwise; emits
    /// each episode when its report is complete, with live snapshots of its
    /// cgroups; stops cleanly on SIGINT/SIGTERM. Needs Linux and the right to
    /// read /dev/kmsg (root when kernel.dmesg_restrict=1).
    #[command(after_help = exit_help(Some("watch")))]
    Watch(WatchArgs),
    /// Record /dev/kmsg (and optionally cgroup samples) for later analysis.
    ///
    /// Prints no episodes. The same capture as watch --record; give the
    /// recording to replay, or to analyze.
    #[command(after_help = exit_help(Some("record")))]
    Record(RecordArgs),
    /// Replay a recording offline: prints what watch printed, byte for byte.
    #[command(after_help = exit_help(Some("replay")))]
    Replay(ReplayArgs),
    /// What would an oom-guard have done? Simulate its policy on logs.
    ///
    /// Simulates the policy on every memcg episode of logs or recordings:
    /// fired or not, held back by the cache rule, whom it would have killed
    /// against the kernel's victim. --sweep counts outcomes across several
    /// margins and policies. --over-time judges it over a recording's cgroup
    /// samples instead: what it would have prevented, and how much earlier,
    /// whom it would have killed for nothing, what it would have missed.
    #[command(after_help = exit_help(Some("simulate")))]
    Simulate(SimulateArgs),
    /// Be the oom-guard: kill in user space before the kernel's memcg OOM.
    ///
    /// Watches every memory cgroup with a limit under --root: on cgroup v1
    /// through usage thresholds (cgroup.event_control + eventfd), on v2 by
    /// setting memory.high to the threshold where it is max (put back at
    /// exit) and waiting on memory.events. Requests reclaim one margin
    /// before the threshold, and at the threshold acts by --policy unless
    /// clean page cache is still large. Prints one JSON line per action
    /// (oom-guard's event fields plus oomctl's episode). Never touches pid
    /// 1, kernel threads, oom_score_adj -1000, oomctl itself or anything
    /// outside --root. --dry-run and --policy noop write nothing and poll
    /// usage instead. Stops on SIGINT/SIGTERM.
    #[command(after_help = exit_help(Some("guard")))]
    Guard(GuardCmdArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = exit_help(Some("completions")))]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page, or write them all to a directory.
    ///
    /// Without --dir, prints one page (roff) on standard output: oomctl(1),
    /// or the page of the subcommand named (analyze: oomctl-analyze(1)).
    /// With --dir, writes oomctl.1 and an oomctl-SUB.1 for every subcommand
    /// (or only the page named) into DIR, made if missing, and prints the
    /// paths written.
    #[command(after_help = exit_help(Some("man")))]
    Man(ManArgs),
}

/// Whether clap refused `oomctl dump`: the command of systemd-oomd's
/// oomctl, the other program that shares this one's name, not a typo to
/// suggest a fix for. It is no subcommand of ours, so no help, completion
/// or man page offers it.
pub fn is_systemd_command(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    e.kind() == ErrorKind::InvalidSubcommand
        && matches!(e.get(ContextKind::InvalidSubcommand), Some(ContextValue::String(s)) if s == "dump")
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page: a subcommand (analyze, or oomctl-analyze) [default: oomctl(1), the top page].
    #[arg(value_name = "PAGE")]
    pub page: Option<String>,
    /// Write the pages as files into DIR (oomctl.1, oomctl-analyze.1, …)
    /// instead of printing one: what a package or an install puts in
    /// share/man/man1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct GuardCmdArgs {
    #[command(flatten)]
    pub guard: GuardArgs,
    /// The guarded subtree: a memory cgroup directory, cgroup v1 or v2
    /// [default: the first of /sys/fs/cgroup/memory/kubepods,
    /// …/memory/kubepods.slice, /sys/fs/cgroup/kubepods.slice and
    /// /sys/fs/cgroup/kubepods that exists].
    #[arg(long, value_name = "DIR")]
    pub root: Option<std::path::PathBuf>,
    /// Report what would be done; signal nothing, write nothing to cgroupfs
    /// (usage is polled every 10 ms instead of armed as thresholds).
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: oom-guard's JSON lines (jsonl), or each action's
    /// episode as report, events, otel or csv [default: report on a
    /// terminal, jsonl otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<GuardFormatArg>,
    /// POST every report as JSON to this http:// URL.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Seconds between walks of the subtree for new or changed cgroups.
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    pub rescan: f64,
    /// Serve Prometheus metrics (/metrics) and /healthz on ADDR, e.g. :9742.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// The formats a live guard can write as it acts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GuardFormatArg {
    /// oom-guard's event fields, the action and the episode, one JSON line each.
    Jsonl,
    Report,
    Events,
    Otel,
    Csv,
}

impl GuardFormatArg {
    /// None: oom-guard's JSON lines; else the sink for the episodes.
    pub fn sink_format(f: Option<GuardFormatArg>, tty: bool) -> Option<Format> {
        match f {
            Some(GuardFormatArg::Jsonl) => None,
            Some(GuardFormatArg::Report) => Some(Format::Report),
            Some(GuardFormatArg::Events) => Some(Format::Events),
            Some(GuardFormatArg::Otel) => Some(Format::Otel),
            Some(GuardFormatArg::Csv) => Some(Format::Csv),
            None if tty => Some(Format::Report),
            None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// Kill the task with the highest badness (the kernel's rule).
    Process,
    /// Kill every task of that task's container.
    Container,
    /// Report only.
    Noop,
}

/// oom-guard's settings; the flags are oom-guard's own.
#[derive(Debug, Clone, Args)]
pub struct GuardArgs {
    /// Margin below the limit, as a share of it.
    #[arg(long, value_name = "RATIO", default_value = "0.02")]
    pub margin_ratio: f64,
    /// Smallest margin: bytes, or a size with a unit (64KiB, 1M, 0.5GiB).
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = size_arg)]
    pub min_margin: u64,
    /// Largest margin: bytes, or a size with a unit.
    #[arg(long, value_name = "SIZE", default_value = "30MiB", value_parser = size_arg)]
    pub max_margin: u64,
    /// What the guard does at its threshold [default: process; simulate
    /// --sweep: every policy that kills, unless given].
    #[arg(long, value_enum)]
    pub policy: Option<PolicyArg>,
    /// Hold back while clean page cache is at least this share of the limit.
    #[arg(long, value_name = "RATIO", default_value = "0.1")]
    pub cache_hold_ratio: f64,
}

impl GuardArgs {
    pub fn policy(&self) -> Result<oomctl::guard::GuardPolicy, String> {
        for (name, v) in [
            ("--margin-ratio", self.margin_ratio),
            ("--cache-hold-ratio", self.cache_hold_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} {v}: expected a share between 0 and 1"));
            }
        }
        if self.min_margin > self.max_margin {
            return Err(format!(
                "--min-margin {} is above --max-margin {}",
                oomctl::units::human_bytes(self.min_margin),
                oomctl::units::human_bytes(self.max_margin)
            ));
        }
        Ok(oomctl::guard::GuardPolicy {
            margin_ratio: self.margin_ratio,
            min_margin: self.min_margin,
            max_margin: self.max_margin,
            policy: match self.policy.unwrap_or(PolicyArg::Process) {
                PolicyArg::Process => oomctl::guard::Policy::Process,
                PolicyArg::Container => oomctl::guard::Policy::Container,
                PolicyArg::Noop => oomctl::guard::Policy::Noop,
            },
            cache_hold_ratio: self.cache_hold_ratio,
        })
    }
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub analyze: AnalyzeArgs,
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Count outcomes for every margin ratio of --sweep-ratios and cache
    /// hold of --sweep-cache-holds, under --policy if given, else under
    /// every policy that kills (process and container), instead of one row
    /// per episode.
    #[arg(long)]
    pub sweep: bool,
    /// Margin ratios of the sweep.
    #[arg(
        long,
        value_name = "R,R,…",
        value_delimiter = ',',
        default_value = "0.01,0.02,0.05,0.1"
    )]
    pub sweep_ratios: Vec<f64>,
    /// Cache-hold ratios of the sweep.
    #[arg(long, value_name = "R,R,…", value_delimiter = ',', default_value = "0.1")]
    pub sweep_cache_holds: Vec<f64>,
    /// Judge the guard over the cgroup samples of recordings (`record
    /// --cgroup … --interval …`) beside the kernel's OOMs: one row per
    /// crossing of the threshold (prevented, false_kill, held_back) and per
    /// OOM with none before it (missed); with --sweep, one row per setting.
    #[arg(long)]
    pub over_time: bool,
    /// A recording whose cgroup samples the OOMs of the log inputs are
    /// judged by (its own kernel records are not read). Repeat for one
    /// boot's recordings in time order. Implies --over-time.
    #[arg(long, value_name = "RECORDING")]
    pub samples: Vec<std::path::PathBuf>,
}

impl SimulateArgs {
    /// `--over-time` (or `--samples`): the run and the guard's settings.
    pub fn over_time(self, tty: bool) -> Result<Option<(AnalyzeConfig, oomctl::simulate::OverTime)>, String> {
        if !self.over_time && self.samples.is_empty() {
            return Ok(None);
        }
        use oomctl::output::timeline::TimelineFormat as T;
        let format = match self.analyze.format {
            Some(FormatArg::Table) => T::Table,
            Some(FormatArg::Report) => T::Report,
            Some(FormatArg::Json) => T::Json,
            Some(FormatArg::Jsonl) => T::Jsonl,
            Some(FormatArg::Csv) => T::Csv,
            Some(FormatArg::Html) => T::Html,
            None if tty => T::Table,
            None => T::Jsonl,
            Some(f) => {
                let name = f.to_possible_value().map_or(String::new(), |v| v.get_name().to_owned());
                return Err(format!(
                    "--over-time writes table, report, json, jsonl, csv or html, not {name}"
                ));
            }
        };
        if self.analyze.follow.is_some() {
            return Err("--over-time reads recordings and logs to their end, not --follow".to_owned());
        }
        // What would silently do nothing here is refused.
        let a = &self.analyze;
        for (given, flag) in [
            (a.since.is_some(), "--since"),
            (a.until.is_some(), "--until"),
            (!a.matches.is_empty(), "--match"),
            (a.pods.is_some(), "--pods"),
            (
                !a.snapshots.is_empty() || !a.cgroup_deprecated.is_empty(),
                "--snapshots",
            ),
        ] {
            if given {
                return Err(format!(
                    "{flag} picks or adds to episodes; --over-time judges every sample of the recordings \
                     (give it the recording of the time you want)"
                ));
            }
        }
        let samples = self.samples.clone();
        // The format is the timeline's (above), not the episodes'.
        let mut me = self;
        me.analyze.format = None;
        let cfg = me.into_config(tty)?;
        let settings = match &cfg.sweep {
            Some(s) => s.settings.clone(),
            None => cfg.guard.into_iter().collect(),
        };
        let over = oomctl::simulate::OverTime {
            sink: oomctl::output::timeline::Options {
                format,
                style: cfg.style,
                sweep: cfg.sweep.is_some(),
            },
            settings,
            samples,
        };
        Ok(Some((cfg, over)))
    }

    pub fn into_config(self, tty: bool) -> Result<AnalyzeConfig, String> {
        let base = self.guard.policy()?;
        let format = self.analyze.format;
        let mut cfg = self.analyze.into_config(tty)?;
        if cfg.group.is_some() {
            return Err("--group-by is analyze's: simulate writes what the guard does per episode".to_owned());
        }
        cfg.guard = Some(base);
        if self.sweep {
            let policies = match self.guard.policy {
                Some(_) => vec![base.policy],
                None => oomctl::output::SWEPT_POLICIES.to_vec(),
            };
            let mut settings = Vec::new();
            for policy in policies {
                for &r in &self.sweep_ratios {
                    for &c in &self.sweep_cache_holds {
                        if !(0.0..=1.0).contains(&r) || !(0.0..=1.0).contains(&c) {
                            return Err(format!(
                                "--sweep-ratios {r} / --sweep-cache-holds {c}: expected shares between 0 and 1"
                            ));
                        }
                        settings.push(oomctl::guard::GuardPolicy {
                            margin_ratio: r,
                            cache_hold_ratio: c,
                            policy,
                            ..base
                        });
                    }
                }
            }
            use oomctl::output::SweepFormat;
            let format = match format {
                Some(FormatArg::Json) => SweepFormat::Json,
                Some(FormatArg::Jsonl) => SweepFormat::Jsonl,
                Some(FormatArg::Csv) => SweepFormat::Csv,
                Some(FormatArg::Table) => SweepFormat::Table,
                None if tty => SweepFormat::Table,
                None => SweepFormat::Jsonl,
                Some(f) => {
                    let name = f.to_possible_value().map_or(String::new(), |v| v.get_name().to_owned());
                    return Err(format!("--sweep prints table, json, jsonl or csv, not {name}"));
                }
            };
            cfg.sweep = Some(oomctl::output::Sweep {
                settings,
                format,
                policy_given: self.guard.policy.is_some(),
            });
        }
        Ok(cfg)
    }
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Read the records already in the ring buffer first.
    #[arg(long)]
    pub since_boot: bool,
    /// Remember the last record read (per boot) in FILE and resume after it.
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
    /// Milliseconds of quiet after a kill line before its report is final
    /// (group-kill lines follow within microseconds; an oom_reaper line later
    /// than this is not attached).
    #[arg(long, value_name = "MS", default_value = "5")]
    pub grace_ms: u64,
    /// Do not count OOM kills in cgroup v2's memory.events.local (by
    /// default they are counted wherever cgroup v2 has the memory
    /// controller: kills the log does not show are still counted, and the
    /// kill lines of rate-limited reports are given their cgroup).
    #[arg(long)]
    pub no_counters: bool,
    /// Read kernel log records from FILE (a FIFO or a file of records)
    /// instead of /dev/kmsg.
    #[arg(long, value_name = "FILE", default_value = "/dev/kmsg")]
    pub kmsg: String,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Output format [default: report on a terminal, jsonl otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<FormatArg>,
    /// Also write everything read to FILE, for `oomctl replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// With --record: cgroup samples into the recording.
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Serve Prometheus metrics (/metrics) and /healthz on ADDR, e.g. :9742.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// POST each episode as JSON to this http:// URL (bounded retries,
    /// never blocking).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, Args)]
pub struct KubeArgs {
    /// Post Kubernetes Events: SystemOOM on the Node, OOMKilled on the Pod
    /// (guard: OomGuardKillProcess/OomGuardKillContainer on the Node).
    #[arg(long)]
    pub k8s_events: bool,
    /// The API server [default in a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT].
    #[arg(long, value_name = "URL")]
    pub kube_api: Option<String>,
    /// Bearer token file [default: the pod's service-account token, if any].
    #[arg(long, value_name = "FILE")]
    pub kube_token_file: Option<String>,
    /// CA bundle to trust for https [default: the pod's service-account ca.crt].
    #[arg(long, value_name = "FILE")]
    pub kube_ca_file: Option<String>,
}

impl KubeArgs {
    /// The Events configuration, if asked for.
    pub fn config(self) -> Result<Option<oomctl::live::k8s_events::KubeConfig>, String> {
        if !self.k8s_events {
            return Ok(None);
        }
        let host = oomctl::live::hostname();
        oomctl::live::k8s_events::KubeConfig::resolve(
            self.kube_api,
            self.kube_token_file.as_deref(),
            self.kube_ca_file.as_deref(),
            host.as_deref(),
        )
        .map(Some)
    }
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The recording to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: std::path::PathBuf,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Periodic cgroup samples into a recording (`record`, `watch --record`).
#[derive(Debug, Clone, Args)]
pub struct SamplingArgs {
    /// Cgroups to snapshot every --interval into the recording (cgroupfs
    /// directories or kernel paths).
    #[arg(long = "cgroup", value_name = "CGROUP")]
    pub cgroups: Vec<String>,
    /// Seconds between cgroup samples; fractions work (0.25). Each is
    /// compact (usage, limit, counters), whole only when it first comes
    /// near the limit, near it or when a counter moved (at most every
    /// 30 s), or every 5 minutes.
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    pub interval: f64,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording made by watch --record or record, gzipped or not; `-`
    /// reads standard input.
    #[arg(value_name = "FILE")]
    pub recording: std::path::PathBuf,
    /// Output format [default: report on a terminal, jsonl otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<FormatArg>,
}

/// The live commands' format: report on a terminal, else jsonl.
pub fn live_format(f: Option<FormatArg>, tty: bool) -> Format {
    match f {
        Some(f) => format_of(f),
        None if tty => Format::Report,
        None => Format::Jsonl,
    }
}

fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Csv => Format::Csv,
        FormatArg::Report => Format::Report,
        FormatArg::Events => Format::Events,
        FormatArg::Otel => Format::Otel,
        FormatArg::Prom => Format::Prom,
        FormatArg::Html => Format::Html,
    }
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Cgroups: a cgroupfs directory or a path as the kernel prints it
    /// (`/kubepods/burstable/pod…`) [default: this process's memory cgroup].
    #[arg(value_name = "CGROUP")]
    pub cgroups: Vec<String>,
    /// Write to FILE (appending) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Seconds between captures of a series.
    #[arg(long, value_name = "SECONDS", default_value = "1")]
    pub interval: f64,
    /// Captures to take (0: until interrupted).
    #[arg(long, value_name = "N", default_value = "1")]
    pub count: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// A table for people (analyze's default on a terminal).
    Table,
    /// One JSON document {"episodes": [...], "summary": {...}}.
    Json,
    /// One JSON episode object per line (the default when not a terminal).
    Jsonl,
    /// One row per episode, flattened.
    Csv,
    /// A full report per episode for people: cause, numbers, chart, advice
    /// (watch's, replay's and guard's default on a terminal).
    Report,
    /// One line per episode in kubelet's / node-problem-detector's words.
    Events,
    /// OpenTelemetry-shaped log records (semantic-convention attribute names).
    Otel,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prom,
    /// One self-contained HTML page: timeline, group summary, episodes
    /// with charts (no script, no network).
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputFormatArg {
    /// Detect per line.
    Auto,
    /// dmesg output in any of its forms.
    Dmesg,
    /// syslog, kern.log, messages, journalctl short formats.
    Syslog,
    /// journalctl -o json.
    JournalJson,
    /// Raw /dev/kmsg records.
    Kmsg,
    /// Fluent Bit kmsg records as JSON.
    FluentBit,
    /// Bare kernel messages.
    Plain,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Log files or directories; `-` (or nothing) reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<FormatArg>,
    /// Log container of the inputs. Anything but auto forces it: every line
    /// is read as that container, and a line not in its form is read whole
    /// as a bare kernel message (no time), never as another container;
    /// such lines are counted in a warning at the end.
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormatArg,
    /// Inputs scanned in parallel [default: number of CPUs].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Year for syslog timestamps that print none (classic `Jan  3
    /// 10:00:00`) [default: from a date an earlier line printed, else the
    /// latest year not after the file's modification time].
    #[arg(long, value_name = "YEAR")]
    pub year: Option<i32>,
    /// Page size of the machine that wrote the log: bytes, or a size with a
    /// unit (64KiB) [default: inferred from each report, else 4096].
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub page_size: Option<u64>,
    /// `kubectl get pods -A -o json` output, to name the pods and containers
    /// the OOMs hit.
    #[arg(long, value_name = "FILE")]
    pub pods: Option<std::path::PathBuf>,
    /// Cgroup snapshots to join to episodes by path: `oomctl snapshot`
    /// output, a directory copied from cgroupfs, or oom-guard events.
    /// Repeatable. oom-guard events that match no episode become episodes.
    /// An input, not a filter (see --match).
    #[arg(long = "snapshots", value_name = "FILE")]
    pub snapshots: Vec<std::path::PathBuf>,
    /// Only episodes at or after TIME (their wall clock), in journalctl's
    /// forms: `2026-11-22 10:00:20`, `2026-11-22`, `10:00` (today), `now`,
    /// `today`, `yesterday`, `tomorrow`, `-2h`, `+1d`, `2h ago`,
    /// `@1700000000`. Times without a zone are compared as the log writes
    /// them; now, today and @EPOCH are UTC. Episodes without a wall clock
    /// are kept and counted in a warning.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only episodes at or before TIME (the forms of --since).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Only episodes whose KEY matches the glob (`*`, `?`, `[...]`; the
    /// whole value): cgroup (the OOM's or the victim's memcg), pod (name
    /// or UID), namespace, container (name or id), comm (a victim's, or
    /// the trigger's when nothing was killed), cause, scope, host.
    /// Repeatable; all must match. A field the episode lacks never matches.
    #[arg(long = "match", value_name = "KEY=GLOB")]
    pub matches: Vec<String>,
    /// Deprecated name of --snapshots: it read like a filter.
    #[arg(long = "cgroup", value_name = "FILE", hide = true)]
    pub cgroup_deprecated: Vec<std::path::PathBuf>,
    /// One row per group of episodes instead of one per episode: their
    /// count, first and last time, causes, most frequent victim, peak
    /// usage and limit. KEYs: pod, namespace, container, cgroup, unit,
    /// cause, comm, host, scope. Formats: table, jsonl, json, csv.
    #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// With --group-by: only the N groups with the most episodes.
    #[arg(long, value_name = "N", requires = "group_by")]
    pub top: Option<usize>,
    /// Read FILE as `tail -F` does, until SIGINT or SIGTERM: appended
    /// lines, a rotation (the path names a new file: the old one is
    /// finished, the new one read from its start), a truncation, a file
    /// that does not exist yet. Episodes are printed as they complete.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub follow: Option<std::path::PathBuf>,
}

impl AnalyzeArgs {
    /// Validate and convert; `tty` says whether stdout is a terminal.
    pub fn into_config(self, tty: bool) -> Result<AnalyzeConfig, String> {
        if let Some(p) = self.page_size {
            if !p.is_power_of_two() || !(1024..=1 << 20).contains(&p) {
                return Err(format!(
                    "--page-size {p}: expected a power of two between 1024 and 1048576"
                ));
            }
        }
        if self.jobs == Some(0) {
            return Err("--jobs 0: expected at least 1".to_owned());
        }
        if let Some(y) = self.year.filter(|y| !(1..=9999).contains(y)) {
            return Err(format!("--year {y}: expected a year from 1 to 9999"));
        }
        let format = match self.format {
            Some(f) => format_of(f),
            None if tty => Format::Table,
            None => Format::Jsonl,
        };
        let group = group_of(&self.group_by, self.top, format)?;
        let container = match self.input_format {
            InputFormatArg::Auto => Container::Auto,
            InputFormatArg::Dmesg => Container::Dmesg,
            InputFormatArg::Syslog => Container::Syslog,
            InputFormatArg::JournalJson => Container::JournalJson,
            InputFormatArg::Kmsg => Container::Kmsg,
            InputFormatArg::FluentBit => Container::FluentBit,
            InputFormatArg::Plain => Container::Plain,
        };
        let paths = if self.paths.is_empty() {
            vec!["-".to_owned()]
        } else {
            self.paths
        };
        if !self.cgroup_deprecated.is_empty() {
            oomctl::diag!("oomctl: warning: --cgroup is deprecated in analyze and simulate: it reads like a filter but joins snapshots; use --snapshots FILE");
        }
        let filter = filter(self.since.as_deref(), self.until.as_deref(), &self.matches)?;
        let mut snapshots = self.snapshots;
        snapshots.extend(self.cgroup_deprecated);
        let jobs = self
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(AnalyzeConfig {
            paths,
            format,
            jobs,
            pods: self.pods,
            snapshots,
            guard: None,
            sweep: None,
            group,
            scan: ScanOptions {
                container,
                assume_year: self.year,
                mtime_s: None,
                block: BLOCK,
                prefilter: true,
            },
            builder: BuilderOptions {
                page_size: self.page_size,
            },
            style: oomctl::output::Style::plain(),
            filter,
            follow: self.follow,
            #[cfg(target_os = "linux")]
            live: Some(oomctl::live::stream::HOOKS),
            #[cfg(not(target_os = "linux"))]
            live: None,
        })
    }
}

/// `--group-by` and `--top` checked against each other and the format.
fn group_of(keys: &[String], top: Option<usize>, format: Format) -> Result<Option<GroupBy>, String> {
    if keys.is_empty() {
        return Ok(None);
    }
    let mut parsed: Vec<GroupKey> = Vec::new();
    for k in keys {
        let key: GroupKey = k.trim().parse().map_err(|e| format!("--group-by: {e}"))?;
        if parsed.contains(&key) {
            return Err(format!("--group-by: key {k:?} given twice"));
        }
        parsed.push(key);
    }
    if top == Some(0) {
        return Err("--top 0: expected at least 1".to_owned());
    }
    let format = match format {
        Format::Table => GroupFormat::Table,
        Format::Jsonl => GroupFormat::Jsonl,
        Format::Json => GroupFormat::Json,
        Format::Csv => GroupFormat::Csv,
        f => {
            return Err(format!(
                "--group-by prints table, jsonl, json or csv, not {}: its rows are groups, not episodes",
                format_name(f)
            ))
        }
    };
    Ok(Some(GroupBy {
        keys: parsed,
        top,
        format,
    }))
}

/// The name `--format` takes for `f`.
fn format_name(f: Format) -> String {
    FormatArg::value_variants()
        .iter()
        .find(|a| format_of(**a) == f)
        .and_then(|a| a.to_possible_value())
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

/// `--since`, `--until` and `--match` as the library's filter; "now" is
/// read here, at the door, and handed in.
fn filter(since: Option<&str>, until: Option<&str>, matches: &[String]) -> Result<oomctl::filter::Filter, String> {
    use oomctl::filter::{parse_time, Filter, Match};
    // One reading, so `--since -2h --until now` is exactly two hours.
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let now = chrono::DateTime::from_timestamp(d.as_secs() as i64, d.subsec_nanos())
        .unwrap_or_default()
        .naive_utc();
    let time = |flag: &str, v: Option<&str>| {
        v.map(|v| parse_time(flag, v, now))
            .transpose()
            .map_err(|e| e.to_string())
    };
    let since = time("--since", since)?;
    let until = time("--until", until)?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(format!(
                "--since {s} is after --until {u}: no episode can be in that window"
            ));
        }
    }
    let matches = matches
        .iter()
        .map(|m| Match::parse(m).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    Ok(Filter { since, until, matches })
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    /// Every flag of every subcommand that takes a byte size (its value is
    /// named SIZE or BYTES, or its help says bytes) reads units through
    /// `size_arg`: a new one declared as a plain number fails here.
    #[test]
    fn every_byte_size_flag_accepts_units() {
        let root = Cli::command();
        let mut checked = Vec::new();
        for cmd in root.get_subcommands() {
            for arg in cmd.get_arguments() {
                let names: Vec<String> = arg
                    .get_value_names()
                    .unwrap_or_default()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                let sized = names.iter().any(|n| n == "SIZE" || n == "BYTES") || help.contains("bytes");
                if !sized {
                    continue;
                }
                let flag = format!("{} --{}", cmd.get_name(), arg.get_long().unwrap_or("?"));
                assert_eq!(names, ["SIZE"], "{flag}: value named SIZE");
                let long = format!("--{}", arg.get_long().unwrap_or("?"));
                // Only the value is judged: a subcommand's other required
                // arguments may still be missing.
                let parse = |v: &str| {
                    cmd.clone()
                        .try_get_matches_from([cmd.get_name(), &long, v])
                        .err()
                        .filter(|e| e.kind() == ErrorKind::ValueValidation)
                        .map(|e| e.to_string())
                };
                for v in ["4096", "1MiB", "30M", "0.5GiB", "64kib", "2kB"] {
                    assert_eq!(parse(v), None, "{flag} {v}");
                }
                let e = parse("1XB").expect("refused");
                assert!(
                    e.contains("unknown unit \"XB\"") && e.contains("1MiB, 30M, 0.5GiB"),
                    "{flag}: {e}"
                );
                checked.push(flag);
            }
        }
        for f in [
            "analyze --page-size",
            "simulate --page-size",
            "simulate --min-margin",
            "simulate --max-margin",
            "guard --min-margin",
            "guard --max-margin",
        ] {
            assert!(checked.iter().any(|c| c == f), "{f} not found among {checked:?}");
        }
    }
}
