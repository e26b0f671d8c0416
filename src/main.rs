//! The `oomctl` binary: parses arguments (clap stays here, see cli.rs),
//! runs the library, maps the outcome to an exit code.

mod cli;
mod man;
mod systemd_oomctl;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Help and errors wrap to the width the human formats draw in.
    let width = cli::width();
    let parsed = {
        use clap::{CommandFactory, FromArgMatches};
        cli::Cli::command()
            .term_width(cli::help_width(width))
            .try_get_matches()
            .and_then(|m| cli::Cli::from_arg_matches(&m))
    };
    let args = match parsed {
        Ok(args) => args,
        // systemd-oomd's `oomctl dump`: say which oomctl this is (src/systemd_oomctl.rs).
        Err(e) if cli::is_systemd_command(&e) => {
            for line in systemd_oomctl::dump_message().lines() {
                oomctl::diag!("{line}");
            }
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let style = cli::style(args.color, width);
    match args.command {
        cli::Command::Snapshot(a) => snapshot(a),
        cli::Command::Watch(a) => {
            let format = cli::live_format(a.format, io::stdout().is_terminal());
            let events = match a.kube.config() {
                Ok(e) => e,
                Err(msg) => {
                    oomctl::diag!("oomctl: error: {msg}");
                    return ExitCode::from(2);
                }
            };
            if a.record.is_none() && !a.sampling.cgroups.is_empty() {
                oomctl::diag!("oomctl: error: --cgroup samples go into the recording: give --record FILE too");
                return ExitCode::from(2);
            }
            let (dirs, interval) = match sampling(&a.sampling) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let extra = (a.metrics, a.webhook_url, events);
            live(a.live, Some(format), a.record, dirs, interval, extra, style)
        }
        cli::Command::Record(a) => {
            let (dirs, interval) = match sampling(&a.sampling) {
                Ok(s) => s,
                Err(code) => return code,
            };
            live(a.live, None, Some(a.output), dirs, interval, (None, None, None), style)
        }
        cli::Command::Replay(a) => replay(a, style),
        cli::Command::Guard(a) => guard(a, style),
        cli::Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut cli::Cli::command(), "oomctl", &mut io::stdout());
            ExitCode::SUCCESS
        }
        cli::Command::Man(a) => match man::run(a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                oomctl::diag!("oomctl: error: {msg}");
                ExitCode::from(2)
            }
        },
        cli::Command::Simulate(a)
            if a.analyze.paths.is_empty() && a.analyze.follow.is_none() && a_reads_terminal("simulate") =>
        {
            ExitCode::from(2)
        }
        cli::Command::Analyze(a) if a.paths.is_empty() && a.follow.is_none() && a_reads_terminal("analyze") => {
            ExitCode::from(2)
        }
        cli::Command::Simulate(a) if a.over_time || !a.samples.is_empty() => {
            match a.over_time(io::stdout().is_terminal()) {
                Ok(Some((mut cfg, mut over))) => {
                    cfg.style = style;
                    over.sink.style = style;
                    run_over_time(&cfg, &over)
                }
                Ok(None) => unreachable!("--over-time was given"),
                Err(msg) => {
                    oomctl::diag!("oomctl: error: {msg}");
                    ExitCode::from(2)
                }
            }
        }
        cli::Command::Simulate(a) => match a.into_config(io::stdout().is_terminal()) {
            Ok(mut cfg) => {
                cfg.style = style;
                run_analyze(&cfg)
            }
            Err(msg) => {
                oomctl::diag!("oomctl: error: {msg}");
                ExitCode::from(2)
            }
        },
        cli::Command::Analyze(a) => {
            let mut cfg = match a.into_config(io::stdout().is_terminal()) {
                Ok(c) => c,
                Err(msg) => {
                    oomctl::diag!("oomctl: error: {msg}");
                    return ExitCode::from(2);
                }
            };
            cfg.style = style;
            run_analyze(&cfg)
        }
    }
}

/// `--cgroup … --interval …`: the cgroup directories and the period, or
/// the exit code of a bad argument (said on stderr).
fn sampling(a: &cli::SamplingArgs) -> Result<(Vec<std::path::PathBuf>, Option<std::time::Duration>), ExitCode> {
    if !(a.interval.is_finite() && a.interval > 0.0) {
        oomctl::diag!("oomctl: error: --interval {}: expected seconds > 0", a.interval);
        return Err(ExitCode::from(2));
    }
    let mut dirs = Vec::new();
    for c in &a.cgroups {
        match oomctl::live::cgroupfs::resolve(c) {
            Ok(d) => dirs.push(d),
            Err(e) => {
                oomctl::diag!("oomctl: error: --cgroup {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    let interval = (!dirs.is_empty()).then(|| std::time::Duration::from_secs_f64(a.interval));
    Ok((dirs, interval))
}

/// With no input named, analyze and simulate read standard input; on a
/// terminal that would wait silently for a paste. Say so and how to give
/// a log instead (true: the hint was given, exit 2). `-` still reads a
/// terminal, for those who mean to paste.
fn a_reads_terminal(sub: &str) -> bool {
    if !io::stdin().is_terminal() {
        return false;
    }
    use clap::CommandFactory;
    let mut cmd = cli::Cli::command();
    cmd.build();
    let usage = cmd
        .find_subcommand_mut(sub)
        .map(|c| c.render_usage().to_string())
        .unwrap_or_default();
    oomctl::diag!("oomctl {sub}: give a log file, or pipe one in: dmesg | oomctl {sub}");
    for line in usage.lines() {
        oomctl::diag!("{line}");
    }
    true
}

/// `oomctl snapshot`: capture, print JSON lines, repeat.
fn snapshot(a: cli::SnapshotArgs) -> ExitCode {
    if !(a.interval.is_finite() && a.interval >= 0.0) {
        oomctl::diag!("oomctl: error: --interval {}: expected seconds >= 0", a.interval);
        return ExitCode::from(2);
    }
    let args = if a.cgroups.is_empty() {
        match oomctl::live::cgroupfs::own_cgroup() {
            Some(c) => vec![c],
            None => {
                oomctl::diag!("oomctl: error: no CGROUP given and this process has no memory cgroup");
                return ExitCode::from(2);
            }
        }
    } else {
        a.cgroups
    };
    let mut dirs = Vec::new();
    for c in &args {
        match oomctl::live::cgroupfs::resolve(c) {
            Ok(d) => dirs.push(d),
            Err(e) => {
                oomctl::diag!("oomctl: error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => match std::fs::OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Box::new(io::BufWriter::new(f)),
            Err(e) => {
                oomctl::diag!("oomctl: error: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdout().lock()),
    };
    let mut n = 0u64;
    loop {
        for d in &dirs {
            let line = match oomctl::live::cgroupfs::snapshot(d) {
                Ok(s) => serde_json::to_string(&s).expect("snapshots serialize"),
                Err(e) => {
                    oomctl::diag!("oomctl: error: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
                oomctl::diag!("oomctl: error: writing output: {e}");
                return ExitCode::from(2);
            }
        }
        n += 1;
        if a.count != 0 && n >= a.count {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(a.interval));
    }
}

/// watch's optional outputs: metrics address, webhook URL, Events.
type Extras = (
    Option<String>,
    Option<String>,
    Option<oomctl::live::k8s_events::KubeConfig>,
);

#[cfg(target_os = "linux")]
fn live(
    a: cli::LiveArgs,
    format: Option<oomctl::output::Format>,
    record: Option<std::path::PathBuf>,
    sample: Vec<std::path::PathBuf>,
    interval: Option<std::time::Duration>,
    (metrics, webhook, k8s_events): Extras,
    style: oomctl::output::Style,
) -> ExitCode {
    let cfg = oomctl::live::watch::WatchConfig {
        style,
        metrics,
        webhook,
        k8s_events,
        format,
        since_boot: a.since_boot,
        state: a.state,
        record,
        grace: std::time::Duration::from_millis(a.grace_ms),
        kmsg: a.kmsg,
        sample,
        interval,
        counters: if a.no_counters {
            None
        } else {
            oomctl::live::cgroupfs::v2_root()
        },
    };
    // Line-buffered stdout: every episode line goes out as it is written.
    let out: Box<dyn Write> = Box::new(io::stdout());
    live_exit(oomctl::live::watch::run(
        &cfg,
        out,
        &mut oomctl::output::SafeLines::new(io::stderr()),
    ))
}

/// The exit code of watch, record and replay: a closed stdout (a pager or
/// `head` gone) is a normal end.
#[cfg(target_os = "linux")]
fn live_exit<T>(r: Result<T, String>) -> ExitCode {
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(msg) if msg.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(msg) => {
            oomctl::diag!("oomctl: error: {msg}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn live(
    _: cli::LiveArgs,
    _: Option<oomctl::output::Format>,
    _: Option<std::path::PathBuf>,
    _: Vec<std::path::PathBuf>,
    _: Option<std::time::Duration>,
    _: Extras,
    _: oomctl::output::Style,
) -> ExitCode {
    oomctl::diag!("oomctl: error: watch and record need Linux (/dev/kmsg and cgroupfs)");
    ExitCode::from(2)
}

#[cfg(target_os = "linux")]
fn replay(a: cli::ReplayArgs, style: oomctl::output::Style) -> ExitCode {
    let format = cli::live_format(a.format, io::stdout().is_terminal());
    let out: Box<dyn Write> = Box::new(io::BufWriter::new(io::stdout().lock()));
    let input = match a.recording {
        p if p.as_os_str() == "-" => oomctl::input::Input::Stdin,
        p => oomctl::input::Input::File(p),
    };
    live_exit(oomctl::live::watch::replay(
        &input,
        format,
        style,
        out,
        &mut oomctl::output::SafeLines::new(io::stderr()),
    ))
}

#[cfg(not(target_os = "linux"))]
fn replay(_: cli::ReplayArgs, _: oomctl::output::Style) -> ExitCode {
    oomctl::diag!("oomctl: error: replay is built only on Linux");
    ExitCode::from(2)
}

/// Run analyze (or simulate) and map the outcome to an exit code.
fn run_analyze(cfg: &oomctl::analyze::AnalyzeConfig) -> ExitCode {
    let stdout = io::stdout().lock();
    let out: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(1 << 16, stdout));
    match oomctl::analyze::run(cfg, out, &mut oomctl::output::SafeLines::new(io::stderr())) {
        Ok(o) if !o.errors.is_empty() => ExitCode::from(2),
        Ok(o) if o.summary.episodes > 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        // A reader that went away (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            oomctl::diag!("oomctl: error: writing output: {e}");
            ExitCode::from(2)
        }
    }
}

/// Run simulate --over-time: 0 when something was judged, 1 when the
/// inputs held no sample and no OOM to judge, 2 on an error.
fn run_over_time(cfg: &oomctl::analyze::AnalyzeConfig, over: &oomctl::simulate::OverTime) -> ExitCode {
    let stdout = io::stdout().lock();
    let out: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(1 << 16, stdout));
    match oomctl::simulate::run(cfg, over, out, &mut oomctl::output::SafeLines::new(io::stderr())) {
        Ok(o) if !o.errors.is_empty() => ExitCode::from(2),
        Ok(o) if o.judged => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            oomctl::diag!("oomctl: error: writing output: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(target_os = "linux")]
fn guard(a: cli::GuardCmdArgs, style: oomctl::output::Style) -> ExitCode {
    let policy = match a.guard.policy() {
        Ok(p) => p,
        Err(msg) => {
            oomctl::diag!("oomctl: error: {msg}");
            return ExitCode::from(2);
        }
    };
    if !(a.rescan.is_finite() && a.rescan > 0.0) {
        oomctl::diag!("oomctl: error: --rescan {}: expected seconds > 0", a.rescan);
        return ExitCode::from(2);
    }
    let k8s_events = match a.kube.config() {
        Ok(e) => e,
        Err(msg) => {
            oomctl::diag!("oomctl: error: {msg}");
            return ExitCode::from(2);
        }
    };
    let root = match a.root {
        Some(r) => r,
        None => match [
            "/sys/fs/cgroup/memory/kubepods",
            "/sys/fs/cgroup/memory/kubepods.slice",
            "/sys/fs/cgroup/kubepods.slice",
            "/sys/fs/cgroup/kubepods",
        ]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_dir())
        {
            Some(r) => r,
            None => {
                oomctl::diag!("oomctl: error: no kubepods cgroup on this machine: give --root DIR");
                return ExitCode::from(2);
            }
        },
    };
    let cfg = oomctl::live::guard::GuardConfig {
        style,
        k8s_events,
        policy,
        root,
        format: cli::GuardFormatArg::sink_format(a.format, io::stdout().is_terminal()),
        dry_run: a.dry_run,
        webhook: a.webhook_url,
        rescan: std::time::Duration::from_secs_f64(a.rescan),
        metrics: a.metrics,
    };
    match oomctl::live::guard::run(
        &cfg,
        &mut io::stdout(),
        &mut oomctl::output::SafeLines::new(io::stderr()),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            oomctl::diag!("oomctl: error: {msg}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn guard(_: cli::GuardCmdArgs, _: oomctl::output::Style) -> ExitCode {
    oomctl::diag!("oomctl: error: guard needs Linux (cgroupfs, eventfd, pidfd)");
    ExitCode::from(2)
}
