//! The command line: every flag is defined and documented here, in one
//! place; each subcommand's behaviour lives in its own module.

pub mod redact_cmd;
pub mod rules_cmd;
pub mod run_cmd;
pub mod scan;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

/// Exit code for findings (overridable with --exit-code).
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code for usage, config and input errors, including "nothing scanned".
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "leakscrub",
    version,
    about = "Find secrets in what CI/CD touches, and scrub them from pipeline output",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a source for secrets.
    #[command(subcommand)]
    Scan(ScanCommand),
    /// Inspect, validate and self-test rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Copy stdin to stdout with secrets replaced.
    Redact(RedactArgs),
    /// Run a command, redact its stdout and stderr, keep its exit code.
    Run(RunArgs),
}

/// The environment variable globs `--values-from-env` reads by default.
pub const DEFAULT_VALUE_ENV_GLOBS: &str =
    "*TOKEN*,*SECRET*,*PASSWORD*,*PASSWD*,*_KEY,*CREDENTIAL*,*PRIVATE*";

#[derive(Debug, Args)]
pub struct RedactArgs {
    #[command(flatten)]
    pub options: RedactOptions,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub options: RedactOptions,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Options `redact` and `run` share.
#[derive(Debug, Args, Clone)]
pub struct RedactOptions {
    /// Mask the value of this environment variable (repeatable).
    #[arg(long, value_name = "NAME")]
    pub value_env: Vec<String>,
    /// Mask the values of environment variables whose names match these
    /// comma-separated globs; an empty list reads none.
    #[arg(long, value_name = "GLOB,...", default_value = DEFAULT_VALUE_ENV_GLOBS)]
    pub values_from_env: String,
    /// Mask each line of FILE (a multi-line value as a JSON string per line).
    #[arg(long, value_name = "FILE")]
    pub values_file: Vec<PathBuf>,
    /// Pattern rules applied: high (distinctive prefix or checksum), all,
    /// or none (known values only).
    #[arg(long, value_enum, default_value_t = RuleChoice::High)]
    pub rules: RuleChoice,
    /// Values shorter than this many bytes are not registered (with a
    /// warning naming the variable).
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub min_length: usize,
    /// What a secret becomes; `{rule}` and `{name}` are replaced by the
    /// rule id or value name.
    #[arg(long, default_value = "***", value_name = "TEMPLATE")]
    pub replacement: String,
    /// Write a partial line (a prompt) after this many milliseconds of
    /// input silence, except what could still become a secret.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub flush_ms: u64,
    /// Write a JSON summary (counts per rule and value name, never values).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Exit 1 when anything was masked.
    #[arg(long)]
    pub fail_on_match: bool,
    /// Rule config (leakscrub or gitleaks TOML), as for `scan`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleChoice {
    High,
    All,
    None,
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Files and folders (.gitignore-aware).
    Dir(DirArgs),
    /// Saved build logs and GitHub Actions log archives (ANSI- and
    /// timestamp-aware).
    Log(LogArgs),
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// Files or folders to scan [default: .]
    pub paths: Vec<PathBuf>,
    /// Scan files that .gitignore / .ignore would skip.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files found by walking that are larger than this (e.g. 500KB,
    /// 50MB, 1GB); files named on the command line are always scanned.
    #[arg(long, default_value = "50MB", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Follow symbolic links while walking.
    #[arg(long)]
    pub follow_links: bool,
    #[command(flatten)]
    pub common: ScanOptions,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log files, GitHub Actions log archives (.zip, detected by content),
    /// or `-` for standard input [default: -]. Colour and cursor escape
    /// sequences, CI timestamps and GitLab section markers are removed
    /// before matching; findings keep the line and column of the input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<String>,
    /// Largest uncompressed size of one log inside an archive (e.g. 100MB);
    /// a larger member is reported as an error and not read.
    #[arg(long, default_value = "512MB", value_parser = parse_size, value_name = "SIZE")]
    pub max_member_size: u64,
    /// Largest total uncompressed size read from one archive; what lies
    /// beyond is reported as an error and not read (zip bombs).
    #[arg(long, default_value = "2GB", value_parser = parse_size, value_name = "SIZE")]
    pub max_archive_size: u64,
    #[command(flatten)]
    pub common: ScanOptions,
}

/// Options every `scan` subcommand takes.
#[derive(Debug, Args, Clone)]
pub struct ScanOptions {
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rule config (leakscrub or gitleaks TOML). Without it, a
    /// `.leakscrub.toml` or `.gitleaks.toml` in the first scanned folder is used.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Suppress findings whose fingerprints appear in this earlier JSON report.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Exit code when findings are reported.
    #[arg(long, default_value_t = EXIT_FINDINGS, value_name = "N")]
    pub exit_code: i32,
    /// Worker threads [default: number of cores].
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Print secrets unmasked.
    #[arg(long)]
    pub reveal: bool,
    /// No summary line and no error lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Never draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Colour in text output: auto (a terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Text output: show each finding's fingerprint (for `.leakscrubignore`).
    #[arg(long)]
    pub show_fingerprint: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the table of rules.
    List(RulesArgs),
    /// Validate rule files: syntax, regexes, keywords, examples.
    Check(RulesArgs),
    /// Run every rule's examples and negative examples.
    Test(RulesArgs),
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Rule configs (leakscrub or gitleaks TOML), read as `scan --config` reads them.
    pub files: Vec<PathBuf>,
    /// Output format for `list`: text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// Parses `50MB`, `500KB`, `1GB`, `1024` (bytes). Units are powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected a number with KB, MB or GB"))?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("invalid size {s:?}: unknown unit {unit:?}")),
    };
    Ok((n * mult as f64) as u64)
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Scan(ScanCommand::Dir(args)) => scan::dir(args),
        Command::Scan(ScanCommand::Log(args)) => scan::log(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Redact(args) => redact_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leakscrub: {}", one_line(&e));
            EXIT_ERROR
        }
    }
}

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    let s = format!("{e:#}");
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("50MB").unwrap(), 50 << 20);
        assert_eq!(parse_size("500kb").unwrap(), 500 << 10);
        assert_eq!(parse_size("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
