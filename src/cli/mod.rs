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

/// Bounds of the numeric options. Threads beyond a thousand only cost
/// memory; exit codes are one byte; a value of one byte is masked on
/// request but anything past a kilobyte is not a "minimum"; a flush delay
/// past a minute would make prompts look hung.
pub const MAX_THREADS: u64 = 1024;
pub const MAX_EXIT_CODE: u64 = 255;
pub const MIN_LENGTH_RANGE: (u64, u64) = (1, 1024);
pub const MAX_FLUSH_MS: u64 = 60_000;

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
/// Broad on purpose (`*PASS*` also catches `PASSPHRASE`, `*AUTH*` catches
/// `BASIC_AUTH` and `DOCKER_AUTH_CONFIG`): masking a harmless value costs
/// less than missing a secret. The `!` globs drop well-known variables
/// whose values are not secret but show up in logs all the time (commit
/// authors, Phusion Passenger settings, agent socket paths).
pub const DEFAULT_VALUE_ENV_GLOBS: &str = "*TOKEN*,*SECRET*,*PASS*,*_KEY,*APIKEY*,*API_KEY*,\
                                           *AUTH*,*CREDENTIAL*,*PRIVATE*,\
                                           !GIT_AUTHOR_*,!*_AUTHOR,!*_AUTHORS,!PASSENGER_*,\
                                           !SSH_AUTH_SOCK,!XAUTHORITY";

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
    /// A `--value-env` variable that is not set is a warning, not an error.
    #[arg(long)]
    pub allow_missing_values: bool,
    /// Mask the values of environment variables whose names match these
    /// comma-separated globs (ASCII case ignored; `!GLOB` excludes names);
    /// an empty list reads none.
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
    #[arg(long, default_value_t = 6, value_name = "N", allow_negative_numbers = true,
          value_parser = parse_min_length)]
    pub min_length: usize,
    /// What a secret becomes; `{rule}` and `{name}` are replaced by the
    /// rule id or value name.
    #[arg(long, default_value = "***", value_name = "TEMPLATE")]
    pub replacement: String,
    /// Write a partial line (a prompt) after this many milliseconds of
    /// input silence, except what could still become a secret (0 to 60000).
    #[arg(long, default_value_t = 100, value_name = "N", allow_negative_numbers = true,
          value_parser = parse_flush_ms)]
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
    /// Saved build logs, log archives and compressed logs (ANSI- and
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
    /// 50MB, 1GB; 0 for no limit); files named on the command line are
    /// always scanned.
    #[arg(long, default_value = "50MB", value_name = "SIZE", value_parser = parse_size,
          allow_hyphen_values = true)]
    pub max_file_size: u64,
    /// Follow symbolic links while walking.
    #[arg(long)]
    pub follow_links: bool,
    #[command(flatten)]
    pub common: ScanOptions,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log files, log archives and compressed logs (a GitHub Actions .zip,
    /// .tar.gz, .gz, .zst, .bz2; detected by content, each member read as a
    /// log), or `-` for standard input [default: -]. Colour and cursor escape
    /// sequences, CI timestamps and GitLab section markers are removed
    /// before matching; findings keep the line and column of the input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<String>,
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
    /// Exit code when findings are reported (0 to 255).
    #[arg(long, default_value_t = EXIT_FINDINGS, value_name = "N", allow_negative_numbers = true,
          value_parser = parse_exit_code)]
    pub exit_code: i32,
    /// Unpack archives (zip, jar, whl, tar, tar.gz, .gz, .zst, .bz2...,
    /// recognised by content) nested up to N deep and scan their members;
    /// 0 unpacks none.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = parse_archive_depth)]
    pub max_archive_depth: usize,
    /// Largest uncompressed size of one archive member (e.g. 100MB); what
    /// lies beyond is not read and is counted as skipped (an error for
    /// `scan log`).
    #[arg(long, default_value = "512MB", value_parser = parse_size, value_name = "SIZE")]
    pub max_member_size: u64,
    /// Largest total uncompressed size read from one archive, all nested
    /// archives included; what lies beyond is not read (zip bombs).
    #[arg(long, default_value = "2GB", value_parser = parse_size, value_name = "SIZE")]
    pub max_archive_size: u64,
    /// Largest ratio of uncompressed to compressed bytes of an archive
    /// member, and of everything unpacked from one file to its size, once
    /// past 1 MiB; beyond it is a bomb and not read on.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = parse_archive_ratio)]
    pub max_archive_ratio: u64,
    /// Also scan text decoded from base64, hex, percent-encoding, escaped
    /// strings and shell line continuations, down to N encodings deep; 0
    /// turns decoding off.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = parse_decode_depth)]
    pub max_decode_depth: usize,
    /// Stop reading once N findings were made (those a baseline or ignore
    /// file suppresses do not count); the report holds at most N and the
    /// summary says the scan stopped early.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_findings: Option<u64>,
    /// Stop at the first input that cannot be read, and exit 2.
    #[arg(long)]
    pub fail_fast: bool,
    /// Worker threads, 1 to 1024 [default: number of cores].
    #[arg(long, short = 'j', value_name = "N", allow_negative_numbers = true,
          value_parser = parse_threads)]
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
    /// Write what the scan covered to FILE as JSON: files and bytes read,
    /// skips by reason, unreadable inputs, findings and suppressed ones.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
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

/// Parses `50MB`, `500KB`, `1.5GB`, `1024` (bytes). Units are powers of
/// 1024; a fraction of a byte is dropped.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    // clap's message already shows the value and the flag.
    let invalid = |why: &str| why.to_string();
    if t.starts_with('-') {
        return Err(invalid("a size cannot be negative"));
    }
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ if num.is_empty() => return Err(invalid("expected a number with B, KB, MB, GB or TB")),
        _ => {
            return Err(invalid(&format!(
                "unknown unit {:?} (B, KB, MB, GB or TB)",
                unit.trim()
            )))
        }
    };
    let too_large = || invalid("too large");
    if !num.contains('.') {
        let n: u64 = match num.parse() {
            Ok(n) => n,
            // Only digits reach here: a failure is an overflow.
            Err(_) if !num.is_empty() => return Err(too_large()),
            Err(_) => return Err(invalid("expected a number with B, KB, MB, GB or TB")),
        };
        return n.checked_mul(mult).ok_or_else(too_large);
    }
    // Only digits and dots reach here, so no NaN or infinity; f64 is exact
    // far beyond any file size, and the bound below keeps the cast exact.
    let n: f64 = num
        .parse()
        .map_err(|_| invalid("expected a number with B, KB, MB, GB or TB"))?;
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(too_large());
    }
    if bytes < 1.0 && n > 0.0 {
        // Would read as 0, which some options take as "no limit".
        return Err(invalid("smaller than one byte"));
    }
    Ok(bytes as u64)
}

/// A size limit given on the command line: 0 means none, as in gitleaks.
pub fn size_limit(limit: u64) -> u64 {
    if limit == 0 {
        u64::MAX
    } else {
        limit
    }
}

/// A whole number in `min..=max`, for clap; the error names the range
/// (clap names the flag).
fn parse_in_range<T: TryFrom<u64>>(s: &str, min: u64, max: u64) -> Result<T, String> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("expected a whole number from {min} to {max}"))
}

fn parse_threads(s: &str) -> Result<usize, String> {
    parse_in_range(s, 1, MAX_THREADS)
}

fn parse_archive_depth(s: &str) -> Result<usize, String> {
    parse_in_range(s, 0, 16)
}

fn parse_archive_ratio(s: &str) -> Result<u64, String> {
    parse_in_range(s, 2, 1_000_000)
}

fn parse_decode_depth(s: &str) -> Result<usize, String> {
    parse_in_range(s, 0, 4)
}

fn parse_exit_code(s: &str) -> Result<i32, String> {
    parse_in_range(s, 0, MAX_EXIT_CODE)
}

fn parse_min_length(s: &str) -> Result<usize, String> {
    parse_in_range(s, MIN_LENGTH_RANGE.0, MIN_LENGTH_RANGE.1)
}

fn parse_flush_ms(s: &str) -> Result<u64, String> {
    parse_in_range(s, 0, MAX_FLUSH_MS)
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return 0;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // A bare `leakscrub scan`: the list of subcommands is the answer.
            let _ = e.print();
            return EXIT_ERROR;
        }
        Err(e) => {
            eprintln!("leakscrub: {}", usage_error_line(&e));
            return EXIT_ERROR;
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

/// A command-line error on one line: clap's message without the usage
/// block, tips and the pointer to --help that it appends.
fn usage_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    let line = message.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    format!("{line} (see --help)")
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
    fn sizes_with_fractions_and_spaces() {
        assert_eq!(parse_size("1.5GB").unwrap(), 3 << 29);
        assert_eq!(parse_size(" 64 KiB ").unwrap(), 64 << 10);
        assert_eq!(parse_size("2TB").unwrap(), 2 << 40);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("10.9").unwrap(), 10);
    }

    #[test]
    fn sizes_that_are_not_sizes_are_refused() {
        for bad in [
            "-5MB", "-0", "NaN", "nan", "inf", "1e9", ".", ".MB", "1.2.3MB", "", "0.1", "0.0004KB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_size("-5MB").unwrap_err().contains("negative"));
        // Overflowing u64, by the multiplication or by the digits.
        for huge in [
            "17179869184GB",
            "99999999999999999999",
            "18446744073709551616",
            "16777216TB",
            "17179869184.5GB",
        ] {
            let err = parse_size(huge).unwrap_err();
            assert!(err.contains("too large"), "{huge}: {err}");
        }
        assert_eq!(parse_size("17179869183GB").unwrap(), 17179869183 << 30);
        assert_eq!(parse_size("18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn zero_size_limit_means_none() {
        assert_eq!(size_limit(0), u64::MAX);
        assert_eq!(size_limit(50 << 20), 50 << 20);
    }

    #[test]
    fn numbers_in_range() {
        assert_eq!(parse_threads("1"), Ok(1));
        assert_eq!(parse_threads("1024"), Ok(1024));
        assert_eq!(parse_exit_code("0"), Ok(0));
        assert_eq!(parse_exit_code("255"), Ok(255));
        assert_eq!(parse_min_length("1"), Ok(1));
        assert_eq!(parse_flush_ms("0"), Ok(0));
        assert_eq!(parse_flush_ms("60000"), Ok(60_000));
        for (parse, bad) in [
            (parse_threads as fn(&str) -> Result<usize, String>, "0"),
            (parse_threads, "1025"),
            (parse_threads, "-1"),
            (parse_threads, "four"),
            (parse_min_length, "0"),
            (parse_min_length, "1025"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.contains(" from ") && err.contains(" to "),
                "{bad}: {err}"
            );
        }
        assert!(parse_exit_code("256").unwrap_err().contains("0 to 255"));
        assert!(parse_exit_code("-1").is_err());
        assert!(parse_flush_ms("60001").is_err());
        assert!(parse_flush_ms("18446744073709551616").is_err());
    }

    #[test]
    fn usage_errors_are_one_line_naming_the_flag() {
        for args in [
            &["leakscrub", "scan", "dir", "--threads", "0"][..],
            &["leakscrub", "redact", "--bogus-flag"],
            &["leakscrub", "run"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            let line = usage_error_line(&err);
            assert!(!line.contains('\n'), "{line}");
            assert!(!line.starts_with("error:"), "{line}");
            assert!(!line.contains("Usage:"), "{line}");
        }
        let err = Cli::try_parse_from(["leakscrub", "scan", "dir", "--threads", "0"]).unwrap_err();
        assert!(usage_error_line(&err).contains("--threads"));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
