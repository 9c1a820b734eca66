//! Loading rule files: the embedded defaults, then a user config (leakscrub
//! or gitleaks TOML) that adds rules, overrides rules by id, or replaces the
//! defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::compile::{compile_rule, Allowlist, RuleSet};
use super::gitleaks;
use super::model::{AllowlistSpec, RuleFile};

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A user config file (`--config`).
    pub config: Option<PathBuf>,
    /// Leave out the embedded defaults whatever the config says.
    pub no_defaults: bool,
}

/// Parses one rule file's text. leakscrub's own format is tried first;
/// a file that does not fit it is read as gitleaks TOML.
pub fn parse_rule_file(text: &str, origin: &str) -> Result<RuleFile> {
    match toml::from_str::<RuleFile>(text) {
        Ok(f) => Ok(f),
        Err(native) => match gitleaks::parse(text) {
            Ok(Some(f)) => Ok(f),
            Ok(None) => Err(anyhow::anyhow!(
                "{origin}: {}",
                native.message().lines().next().unwrap_or("invalid TOML")
            ))
            .with_context(|| line_hint(text, &native)),
            Err(e) => Err(e.context(format!("{origin}: not a leakscrub or gitleaks rule file"))),
        },
    }
}

fn line_hint(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}")
        }
        None => "invalid rule file".to_string(),
    }
}

/// Reads and parses a rule file from disk.
pub fn read_rule_file(path: &Path) -> Result<RuleFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    parse_rule_file(&text, &path.display().to_string())
}

/// The embedded default rule files, parsed.
pub fn default_files() -> Result<Vec<(String, RuleFile)>> {
    super::default_rule_files()
        .iter()
        .map(|(name, text)| Ok((format!("rules/{name}"), parse_rule_file(text, name)?)))
        .collect()
}

/// Builds the rule set for a run.
pub fn load_rule_set(opts: &LoadOptions) -> Result<RuleSet> {
    let user = match &opts.config {
        Some(p) => Some((p.display().to_string(), read_rule_file(p)?)),
        None => None,
    };
    let use_defaults = !opts.no_defaults
        && user
            .as_ref()
            .and_then(|(_, f)| f.extend.as_ref())
            .is_none_or(|e| e.use_default);
    let disabled: Vec<String> = user
        .as_ref()
        .and_then(|(_, f)| f.extend.as_ref())
        .map(|e| e.disabled_rules.clone())
        .unwrap_or_default();

    let mut files = Vec::new();
    if use_defaults {
        files.extend(default_files()?);
    }
    files.extend(user);
    build_rule_set(&files, &disabled)
}

/// Compiles parsed files into one set; a later rule with the same id
/// replaces an earlier one, so user rules override defaults.
pub fn build_rule_set(files: &[(String, RuleFile)], disabled: &[String]) -> Result<RuleSet> {
    let mut set = RuleSet::default();
    let mut global = AllowlistSpec::default();
    for (origin, file) in files {
        for spec in &file.rules {
            if disabled.iter().any(|d| d == &spec.id) {
                continue;
            }
            let rule = compile_rule(spec, origin)?;
            match set.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => *existing = rule,
                None => set.rules.push(rule),
            }
        }
        if let Some(a) = &file.allowlist {
            global.regexes.extend(a.regexes.iter().cloned());
            global.stopwords.extend(a.stopwords.iter().cloned());
            global.paths.extend(a.paths.iter().cloned());
        }
    }
    set.allowlist = Allowlist::compile(&global).context("global allowlist")?;
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_ids_are_unique_across_files() {
        let mut ids: Vec<String> = default_files()
            .unwrap()
            .into_iter()
            .flat_map(|(_, f)| f.rules.into_iter().map(|r| r.id))
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule ids in rules/*.toml");
        assert_eq!(
            load_rule_set(&LoadOptions::default()).unwrap().rules.len(),
            n
        );
    }

    #[test]
    fn user_rule_overrides_default_by_id() {
        let user = parse_rule_file(
            r#"
[[rules]]
id = "mine"
description = "mine"
regex = "mine_[0-9]{4}"
keywords = ["mine_"]
"#,
            "user.toml",
        )
        .unwrap();
        let set = build_rule_set(&[("a".into(), user.clone()), ("b".into(), user)], &[]).unwrap();
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rules[0].origin, "b");
    }

    #[test]
    fn garbage_is_a_one_line_error_naming_the_file() {
        let err = format!(
            "{:#}",
            parse_rule_file("[[rules]]\nid = 3\n", "x.toml").unwrap_err()
        );
        assert!(err.contains("x.toml"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
