//! `leakscrub rules list|check|test`.

use std::sync::Arc;

use anyhow::{bail, Result};

use super::{RulesArgs, RulesCommand};
use crate::engine::Engine;
use crate::rules::load::load_configs;
use crate::rules::RuleSet;

pub fn run(cmd: RulesCommand) -> Result<i32> {
    match cmd {
        RulesCommand::List(a) => list(&a),
        RulesCommand::Check(a) => check(&a, false),
        RulesCommand::Test(a) => check(&a, true),
    }
}

/// The rules `scan --config FILE` would use, for each FILE in order; the
/// defaults alone without files.
fn rule_set(args: &RulesArgs) -> Result<RuleSet> {
    let loaded = load_configs(&args.files, false)?;
    for notice in loaded.notices() {
        eprintln!("leakscrub: {notice}");
    }
    Ok(loaded.rules)
}

fn list(args: &RulesArgs) -> Result<i32> {
    let set = rule_set(args)?;
    match args.format.as_str() {
        "json" => {
            let rows: Vec<_> = set
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "description": r.description,
                        "confidence": r.confidence.as_str(),
                        "keywords": r.keywords,
                        "path": r.path.as_ref().map(|p| p.as_str()),
                        "path_only": r.path_only,
                        "checksum": r.checksum.map(|c| c.name()),
                        "entropy": r.entropy,
                        "max_len": r.max_len,
                        "windowed": r.windowed(),
                        "origin": r.origin,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        "text" => {
            let w = set
                .rules
                .iter()
                .map(|r| r.id.len())
                .max()
                .unwrap_or(2)
                .max(2);
            println!("{:<w$}  {:<6}  {:<12}  DESCRIPTION", "ID", "CONF", "CHECKS");
            for r in &set.rules {
                let mut checks = Vec::new();
                if let Some(c) = r.checksum {
                    checks.push(c.name().to_string());
                }
                if let Some(e) = r.entropy {
                    checks.push(format!("H>={e}"));
                }
                println!(
                    "{:<w$}  {:<6}  {:<12}  {}",
                    r.id,
                    r.confidence.as_str(),
                    checks.join(","),
                    r.description
                );
            }
            println!("{} rules", set.rules.len());
        }
        other => bail!("unknown --format {other:?} for rules list (text or json)"),
    }
    Ok(0)
}

/// One failed expectation of a rule's examples.
#[derive(Debug)]
pub struct ExampleFailure {
    pub rule: String,
    pub message: String,
}

/// Runs every rule's examples against an engine holding that rule alone,
/// and checks that each windowed rule's matches contain a keyword.
pub fn test_examples(set: &RuleSet) -> Vec<ExampleFailure> {
    let mut failures = Vec::new();
    for rule in &set.rules {
        let single = RuleSet {
            rules: vec![rule.clone()],
            allowlist: set.allowlist.clone(),
        };
        let engine = match Engine::new(Arc::new(single)) {
            Ok(e) => e,
            Err(e) => {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    message: format!("{e:#}"),
                });
                continue;
            }
        };
        let path = example_path(rule);
        if rule.spec.examples.is_empty() {
            failures.push(ExampleFailure {
                rule: rule.id.clone(),
                message: "has no examples".into(),
            });
        }
        for (i, ex) in rule.spec.examples.iter().enumerate() {
            if engine.scan(ex.as_bytes(), path.as_deref()).is_empty() {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    message: format!("example {} does not match", i + 1),
                });
            }
            // Keyword contract: the regex alone must find nothing the
            // keyword-gated engine misses.
            if !rule.keywords.is_empty() {
                for m in rule.regex.find_iter(ex.as_bytes()) {
                    let lower = m.as_bytes().to_ascii_lowercase();
                    let has_kw = rule
                        .keywords
                        .iter()
                        .any(|k| memchr::memmem::find(&lower, k.as_bytes()).is_some());
                    if !has_kw && rule.windowed() {
                        failures.push(ExampleFailure {
                            rule: rule.id.clone(),
                            message: format!(
                                "example {}: a match contains none of the keywords",
                                i + 1
                            ),
                        });
                    }
                }
            }
        }
        for (i, ex) in rule.spec.negative_examples.iter().enumerate() {
            if !engine.scan(ex.as_bytes(), path.as_deref()).is_empty() {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    message: format!("negative example {} matches", i + 1),
                });
            }
        }
    }
    failures
}

/// Rules scoped to a path need an example path that fits it.
fn example_path(rule: &crate::rules::Rule) -> Option<String> {
    let re = rule.path.as_ref()?;
    let candidates = [
        "Dockerfile",
        "config/.env",
        ".env",
        "main.tf",
        "settings.py",
        "config.yaml",
        "app.properties",
        "notebook.ipynb",
        ".npmrc",
        ".pypirc",
        "id_rsa",
        "credentials.json",
        ".docker/config.json",
    ];
    candidates
        .iter()
        .find(|c| re.is_match(c.as_bytes()))
        .map(|c| c.to_string())
        .or_else(|| Some("file".into()))
}

fn check(args: &RulesArgs, run_examples: bool) -> Result<i32> {
    let set = rule_set(args)?;
    let mut failures = if run_examples || args.files.is_empty() {
        test_examples(&set)
    } else {
        Vec::new()
    };
    for r in &set.rules {
        if r.keywords.is_empty() && !r.path_only {
            failures.push(ExampleFailure {
                rule: r.id.clone(),
                message: "has no keywords: it runs on every byte scanned".into(),
            });
        }
    }
    if !run_examples {
        // `check` warns about keywords but fails only on broken files,
        // which build_rule_set already reported.
        for f in &failures {
            eprintln!("leakscrub: rule {}: {}", f.rule, f.message);
        }
        let hard: Vec<_> = failures
            .iter()
            .filter(|f| !f.message.starts_with("has no"))
            .collect();
        println!(
            "{} rules checked, {} problem(s)",
            set.rules.len(),
            hard.len()
        );
        return Ok(if hard.is_empty() { 0 } else { 1 });
    }
    let failures: Vec<_> = failures
        .into_iter()
        .filter(|f| !f.message.starts_with("has no keywords"))
        .collect();
    for f in &failures {
        eprintln!("FAIL {}: {}", f.rule, f.message);
    }
    let examples: usize = set
        .rules
        .iter()
        .map(|r| r.spec.examples.len() + r.spec.negative_examples.len())
        .sum();
    println!(
        "{} rules, {} examples: {} failure(s)",
        set.rules.len(),
        examples,
        failures.len()
    );
    Ok(if failures.is_empty() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load::load_rule_set;

    #[test]
    fn every_default_rule_passes_its_examples() {
        let set = load_rule_set(&Default::default()).unwrap();
        let failures = test_examples(&set);
        assert!(
            failures.is_empty(),
            "{}",
            failures
                .iter()
                .map(|f| format!("{}: {}", f.rule, f.message))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
