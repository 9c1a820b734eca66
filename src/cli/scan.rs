//! `leakscrub scan ...`: build the engine, run a source into a scanner,
//! filter, report, and pick the exit code.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{ColorChoice, DirArgs, LogArgs, ScanOptions, EXIT_ERROR};
use crate::blob::archive::ArchiveLimits;
use crate::blob::stage::{BlobKind, StageOptions};
use crate::engine::Engine;
use crate::filters::Suppressions;
use crate::finding::Finding;
use crate::report::{summary_json, write_report, Format, ReportContext};
use crate::rules::load::load_rules;
use crate::rules::LoadOptions;
use crate::scan::Scanner;
use crate::sources::fs::{scan_paths, FsOptions};
use crate::sources::log::{scan_logs, LogOptions, STDIN_NAME};
use crate::stop::{Counts, StopSwitch};

/// Config files picked up from the scanned folder when `--config` is absent.
const AUTO_CONFIGS: &[&str] = &[".leakscrub.toml", ".gitleaks.toml"];

pub fn dir(args: DirArgs) -> Result<i32> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let threads = threads(&args.common);
    let fs_opts = FsOptions {
        respect_ignore: !args.no_ignore,
        threads,
        follow_links: args.follow_links,
        stage: StageOptions {
            max_file_size: super::size_limit(args.max_file_size),
            threads,
            ..stage_options(&args.common)
        },
    };
    let roots: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let config_dir = paths.iter().find(|p| p.is_dir()).cloned();
    // A pre-commit hook names the changed files; when they are all empty
    // there is nothing to scan, and that is not a failure. A folder with
    // nothing in it still is: the wrong folder may have been named.
    let named_files_only = !args.paths.is_empty() && config_dir.is_none();
    run_scan(
        &args.common,
        &roots,
        config_dir.as_deref(),
        named_files_only,
        |scanner| scan_paths(&paths, &fs_opts, scanner),
    )
}

pub fn log(args: LogArgs) -> Result<i32> {
    let inputs = if args.inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        args.inputs.clone()
    };
    let log_opts = LogOptions {
        stage: StageOptions {
            kind: BlobKind::Log,
            limits_are_errors: true,
            threads: threads(&args.common),
            ..stage_options(&args.common)
        },
        threads: threads(&args.common),
    };
    let roots: Vec<String> = inputs
        .iter()
        .map(|i| {
            if i == "-" {
                STDIN_NAME.to_string()
            } else {
                i.clone()
            }
        })
        .collect();
    // Every log is named (or is standard input): an empty one is clean.
    run_scan(&args.common, &roots, None, true, |scanner| {
        scan_logs(&inputs, &log_opts, scanner)
    })
}

/// Archive descent as the options set it.
pub fn stage_options(opts: &ScanOptions) -> StageOptions {
    StageOptions {
        max_archive_depth: opts.max_archive_depth,
        archive: ArchiveLimits {
            max_member_size: super::size_limit(opts.max_member_size),
            max_total_size: super::size_limit(opts.max_archive_size),
            max_ratio: opts.max_archive_ratio,
        },
        ..StageOptions::default()
    }
}

pub fn threads(opts: &ScanOptions) -> usize {
    opts.threads
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Builds the engine for a scan: `--config`, else an auto-discovered config
/// in `config_dir`, with or without the defaults as the config says. A
/// config that replaces the defaults gets a notice (unless `--quiet`).
pub fn build_engine(opts: &ScanOptions, config_dir: Option<&Path>) -> Result<Arc<Engine>> {
    let config = opts.config.clone().or_else(|| {
        config_dir.and_then(|d| AUTO_CONFIGS.iter().map(|n| d.join(n)).find(|p| p.is_file()))
    });
    let loaded = load_rules(&LoadOptions {
        config,
        no_defaults: false,
    })?;
    if !opts.quiet {
        for notice in loaded.notices() {
            eprintln!("leakscrub: {notice}");
        }
    }
    Ok(Arc::new(Engine::new(Arc::new(loaded.rules))?))
}

/// When the scan stops before reading everything, as the options say.
fn stop_switch(opts: &ScanOptions, suppress: &Arc<Suppressions>) -> StopSwitch {
    let mut stop = StopSwitch::never();
    if let Some(max) = opts.max_findings {
        let counts: Option<Counts> = (!suppress.is_empty()).then(|| {
            let suppress = Arc::clone(suppress);
            Box::new(move |f: &Finding| !suppress.suppresses(f)) as Counts
        });
        stop = stop.after_findings(max, counts);
    }
    if opts.fail_fast {
        stop = stop.at_first_error();
    }
    stop
}

/// The part every `scan` subcommand shares once it knows its source.
/// `named_files_only`: every root is a file named by the user, so finding
/// nothing to read in them (empty files) is a clean result, not an error.
pub fn run_scan<F>(
    opts: &ScanOptions,
    roots: &[String],
    config_dir: Option<&Path>,
    named_files_only: bool,
    source: F,
) -> Result<i32>
where
    F: FnOnce(&Scanner),
{
    let engine = build_engine(opts, config_dir)?;
    let mut suppress = Suppressions::default();
    if let Some(b) = &opts.baseline {
        suppress.add_baseline(b)?;
    }
    let ignore_dir = config_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    for warning in suppress.add_ignore_files(&ignore_dir)? {
        if !opts.quiet {
            eprintln!("leakscrub: {warning}");
        }
    }

    // Open the report file before scanning so a bad --output fails fast.
    let mut out: Box<dyn Write> = match &opts.output {
        Some(p) => {
            Box::new(BufWriter::new(File::create(p).with_context(|| {
                format!("cannot write report {}", p.display())
            })?))
        }
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let mut summary_out = match &opts.summary {
        Some(p) => {
            Some(File::create(p).with_context(|| format!("cannot write summary {}", p.display()))?)
        }
        None => None,
    };

    let show_progress = !opts.no_progress && !opts.quiet && io::stderr().is_terminal();
    let suppress = Arc::new(suppress);
    let scanner = Scanner::new(Arc::clone(&engine), show_progress)
        .with_decode_depth(opts.max_decode_depth)
        .with_stop(stop_switch(opts, &suppress));
    source(&scanner);
    let (mut findings, summary) = scanner.finish();
    crate::filters::overlap::drop_shadowed(&mut findings);
    let suppressed = suppress.apply(&mut findings);
    if let Some(max) = opts.max_findings {
        findings.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }

    let color = match opts.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            opts.output.is_none()
                && opts.format == Format::Text
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let ctx = ReportContext {
        reveal: opts.reveal,
        color,
        show_fingerprint: opts.show_fingerprint,
        rules: engine.rules(),
        summary: &summary,
        roots,
    };
    let written = write_report(opts.format, &findings, &ctx, &mut out).and_then(|_| out.flush());
    match written {
        Ok(()) => {}
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let target = opts
                .output
                .as_ref()
                .map_or("stdout".to_string(), |p| p.display().to_string());
            return Err(anyhow::anyhow!("cannot write report to {target}: {e}"));
        }
    }

    if let (Some(file), Some(path)) = (summary_out.as_mut(), &opts.summary) {
        let mut doc = summary_json(&summary, findings.len());
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("suppressed".into(), suppressed.into());
        }
        serde_json::to_writer_pretty(&mut *file, &doc)
            .map_err(io::Error::from)
            .and_then(|_| writeln!(file))
            .with_context(|| format!("cannot write summary {}", path.display()))?;
    }

    let nothing_to_scan = !summary.scanned_anything() && named_files_only && summary.errors == 0;
    if !opts.quiet {
        let mut line = summary.line_with_suppressed(findings.len(), suppressed);
        if nothing_to_scan {
            line.push_str("; nothing to scan");
        }
        eprintln!("leakscrub: {line}");
    }
    if opts.fail_fast && summary.errors > 0 {
        return Ok(EXIT_ERROR);
    }
    if !findings.is_empty() {
        return Ok(opts.exit_code);
    }
    if summary.errors > 0 {
        return Ok(EXIT_ERROR);
    }
    if !summary.scanned_anything() && !nothing_to_scan {
        // The reason for exit 2 is printed even when quiet, with what the
        // ignore files hid, which is often why.
        let (files, folders) = summary.ignored();
        let hint = if files + folders > 0 {
            format!(
                " ({} ignored by .gitignore; --no-ignore to scan them)",
                files + folders
            )
        } else {
            String::new()
        };
        eprintln!("leakscrub: nothing was scanned: {}{hint}", roots.join(", "));
        return Ok(EXIT_ERROR);
    }
    Ok(0)
}
