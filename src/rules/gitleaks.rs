//! Reads gitleaks-style TOML (`.gitleaks.toml`) into leakscrub's rule model,
//! so teams can bring their existing config. Fields with no counterpart
//! (`title`, allowlist `commits`, `condition`) are ignored; regexes are RE2,
//! which Rust's regex syntax accepts almost entirely.

use anyhow::{anyhow, bail, Result};
use toml::Value;

use super::model::{AllowTarget, AllowlistSpec, ExtendSpec, RuleFile, RuleSpec};

/// Returns `Ok(None)` when the text does not look like gitleaks TOML.
pub fn parse(text: &str) -> Result<Option<RuleFile>> {
    let root: Value = text.parse().map_err(|e: toml::de::Error| {
        anyhow!("{}", e.message().lines().next().unwrap_or("invalid TOML"))
    })?;
    let Some(table) = root.as_table() else {
        return Ok(None);
    };
    let looks_gitleaks = table.contains_key("title")
        || table.contains_key("allowlists")
        || text.contains("secretGroup")
        || text.contains("useDefault")
        || text.contains("[rules.allowlist")
        || text.contains("regexTarget")
        || table.get("extend").and_then(|e| e.get("path")).is_some();
    if !looks_gitleaks {
        return Ok(None);
    }
    let mut file = RuleFile::default();
    if let Some(ext) = table.get("extend") {
        file.extend = Some(ExtendSpec {
            use_default: ext
                .get("useDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            disabled_rules: strings(ext.get("disabledRules")),
        });
    }
    let mut global = AllowlistSpec::default();
    for a in allowlists(table.get("allowlist"), table.get("allowlists")) {
        merge(&mut global, a);
    }
    if !global.regexes.is_empty() || !global.paths.is_empty() || !global.stopwords.is_empty() {
        file.allowlist = Some(global);
    }
    if let Some(rules) = table.get("rules") {
        let Some(rules) = rules.as_array() else {
            bail!("`rules` must be an array of tables");
        };
        for (i, r) in rules.iter().enumerate() {
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("rule #{} has no id", i + 1))?
                .to_string();
            let Some(regex) = r.get("regex").and_then(Value::as_str) else {
                // Path-only rules flag files by name, which leakscrub does
                // not model; skip them rather than fail the whole config.
                continue;
            };
            let mut allow = AllowlistSpec::default();
            for a in allowlists(r.get("allowlist"), r.get("allowlists")) {
                merge(&mut allow, a);
            }
            file.rules.push(RuleSpec {
                description: r
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_string(),
                id,
                regex: regex.to_string(),
                secret_group: r
                    .get("secretGroup")
                    .and_then(Value::as_integer)
                    .and_then(|g| usize::try_from(g).ok())
                    .filter(|g| *g > 0),
                keywords: strings(r.get("keywords")),
                entropy: r
                    .get("entropy")
                    .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64))),
                path: r.get("path").and_then(Value::as_str).map(str::to_string),
                allowlist: (!allow.regexes.is_empty()
                    || !allow.paths.is_empty()
                    || !allow.stopwords.is_empty())
                .then_some(allow),
                checksum: None,
                confidence: Default::default(),
                skip_placeholder_filter: false,
                tags: strings(r.get("tags")),
                examples: vec![],
                negative_examples: vec![],
            });
        }
    }
    Ok(Some(file))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn allowlists<'a>(single: Option<&'a Value>, many: Option<&'a Value>) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = single.into_iter().collect();
    if let Some(arr) = many.and_then(Value::as_array) {
        out.extend(arr.iter());
    }
    out
}

fn merge(into: &mut AllowlistSpec, v: &Value) {
    into.regexes.extend(strings(v.get("regexes")));
    into.paths.extend(strings(v.get("paths")));
    into.stopwords.extend(strings(v.get("stopwords")));
    into.target = match v.get("regexTarget").and_then(Value::as_str) {
        Some("match") => AllowTarget::Match,
        Some("line") => AllowTarget::Line,
        _ => into.target,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_gitleaks_config() {
        let text = r#"
title = "custom"
[extend]
useDefault = true
[[rules]]
id = "internal-token"
description = "Internal token"
regex = '''itk_([a-z0-9]{32})'''
secretGroup = 1
keywords = ["itk_"]
[[rules.allowlists]]
regexes = ['''itk_0{32}''']
[allowlist]
paths = ['''^vendor/''']
"#;
        let f = parse(text).unwrap().unwrap();
        assert!(f.extend.unwrap().use_default);
        assert_eq!(f.rules[0].secret_group, Some(1));
        assert_eq!(f.rules[0].allowlist.as_ref().unwrap().regexes.len(), 1);
        assert_eq!(f.allowlist.unwrap().paths, vec!["^vendor/".to_string()]);
    }

    #[test]
    fn native_files_are_not_claimed() {
        assert!(parse("[[rules]]\nid='a'\ndescription='a'\nregex='a'\n")
            .unwrap()
            .is_none());
    }
}
