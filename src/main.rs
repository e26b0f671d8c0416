//! The `oomctl` binary: parses arguments (clap stays here, see cli.rs),
//! runs the library, maps the outcome to an exit code.

mod cli;

use clap::Parser;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
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
