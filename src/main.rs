//! The `oomctl` binary: parses arguments (clap stays here, see cli.rs),
//! runs the library, maps the outcome to an exit code.

mod cli;

use clap::Parser;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
        cli::Command::Snapshot(a) => snapshot(a),
        cli::Command::Analyze(a) => {
            let cfg = match a.into_config(io::stdout().is_terminal()) {
                Ok(c) => c,
                Err(msg) => {
                    eprintln!("oomctl: error: {msg}");
                    return ExitCode::from(2);
                }
            };
            let stdout = io::stdout().lock();
            let out: Box<dyn Write> = Box::new(io::BufWriter::with_capacity(1 << 16, stdout));
            match oomctl::analyze::run(&cfg, out, &mut io::stderr()) {
                Ok(o) if !o.errors.is_empty() => ExitCode::from(2),
                Ok(o) if o.summary.episodes > 0 => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(1),
                // A reader that went away (`| head`) is not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("oomctl: error: writing output: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// `oomctl snapshot`: capture, print JSON lines, repeat.
fn snapshot(a: cli::SnapshotArgs) -> ExitCode {
    use oomctl::snapshot;
    if !(a.interval.is_finite() && a.interval >= 0.0) {
        eprintln!("oomctl: error: --interval {}: expected seconds >= 0", a.interval);
        return ExitCode::from(2);
    }
    let args = if a.cgroups.is_empty() {
        match snapshot::own_cgroup() {
            Some(c) => vec![c],
            None => {
                eprintln!("oomctl: error: no CGROUP given and this process has no memory cgroup");
                return ExitCode::from(2);
            }
        }
    } else {
        a.cgroups
    };
    let mut dirs = Vec::new();
    for c in &args {
        match snapshot::resolve(c) {
            Ok(d) => dirs.push(d),
            Err(e) => {
                eprintln!("oomctl: error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => match std::fs::OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Box::new(io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("oomctl: error: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdout().lock()),
    };
    let mut n = 0u64;
    loop {
        for d in &dirs {
            let line = match snapshot::read_dir(d, true) {
                Ok(s) => serde_json::to_string(&s).expect("snapshots serialize"),
                Err(e) => {
                    eprintln!("oomctl: error: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
                eprintln!("oomctl: error: writing output: {e}");
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
