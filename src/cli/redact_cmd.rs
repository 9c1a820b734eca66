//! `leakscrub redact`: stdin -> stdout with secrets replaced.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::{one_line, RedactArgs, RedactOptions, RuleChoice, EXIT_ERROR, EXIT_FINDINGS};
use crate::redact::values::{collect, ValueSources};
use crate::redact::{pump, RedactConfig, Redaction, RuleSelection, StreamRedactor};
use crate::rules::{load_rule_set, LoadOptions, RuleSet};

pub fn run(args: RedactArgs) -> Result<i32> {
    let shared = Arc::new(build_redaction(&args.options)?);
    let mut redactor = StreamRedactor::new(Arc::clone(&shared));
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    pump(
        stdin,
        "stdin",
        &mut stdout,
        &mut redactor,
        Duration::from_millis(args.options.flush_ms),
        &mut |w| warn(&w),
    )?;
    let counts = redactor.counts().clone();
    finish(&args.options, &counts, 0)
}

pub fn warn(message: &str) {
    eprintln!("leakscrub: warning: {message}");
}

/// Loads the rules and known values the options ask for.
pub fn build_redaction(opts: &RedactOptions) -> Result<Redaction> {
    let rules = match opts.rules {
        RuleChoice::None => RuleSet::default(),
        _ => load_rule_set(&LoadOptions {
            config: opts.config.clone(),
            no_defaults: false,
        })?,
    };
    let sources = ValueSources {
        env_names: opts.value_env.clone(),
        env_globs: opts
            .values_from_env
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect(),
        files: opts.values_file.clone(),
        min_length: opts.min_length,
        allow_missing: opts.allow_missing_values,
    };
    let values = collect(&sources, &mut |w| warn(&w))?;
    let selection = match opts.rules {
        RuleChoice::High => RuleSelection::High,
        RuleChoice::All => RuleSelection::All,
        RuleChoice::None => RuleSelection::None,
    };
    Redaction::new(
        &rules,
        &values,
        RedactConfig {
            rules: selection,
            replacement: opts.replacement.clone(),
            min_length: opts.min_length,
        },
    )
}

/// Writes the report if asked and picks the exit code: `--fail-on-match`
/// turns a clean `code` into 1 when anything was masked.
///
/// A report that cannot be written is reported on stderr but does not hide
/// `code`: for `run` that is the command's own exit code, which a CI step
/// must see. Only a clean `code` becomes 2, so the failure is not lost.
pub fn finish(opts: &RedactOptions, counts: &BTreeMap<String, u64>, code: i32) -> Result<i32> {
    if let Some(path) = &opts.report {
        if let Err(e) = write_report(path, counts) {
            eprintln!("leakscrub: {}", one_line(&e));
            return Ok(if code == 0 { EXIT_ERROR } else { code });
        }
    }
    let masked: u64 = counts.values().sum();
    if opts.fail_on_match && masked > 0 && code == 0 {
        return Ok(EXIT_FINDINGS);
    }
    Ok(code)
}

fn write_report(path: &Path, counts: &BTreeMap<String, u64>) -> Result<()> {
    let mut rules = BTreeMap::new();
    let mut values = BTreeMap::new();
    for (key, n) in counts {
        if let Some(id) = key.strip_prefix("rule:") {
            rules.insert(id.to_string(), *n);
        } else if let Some(name) = key.strip_prefix("value:") {
            values.insert(name.to_string(), *n);
        }
    }
    let report = json!({
        "masked": counts.values().sum::<u64>(),
        "rules": rules,
        "values": values,
    });
    let text = serde_json::to_string_pretty(&report).context("encoding the report")?;
    fs::write(path, text + "\n").with_context(|| format!("cannot write report {}", path.display()))
}

/// Adds `other`'s counts to `into`.
pub fn merge_counts(into: &mut BTreeMap<String, u64>, other: &BTreeMap<String, u64>) {
    for (k, v) in other {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}
