//! Reads gitleaks TOML (`.gitleaks.toml`) into leakscrub's rule model as
//! gitleaks reads it, so teams can bring their existing config: RE2
//! regexes are translated ([`super::re2`]), `[extend]` decides whether the
//! defaults stay, allowlists keep their `condition`, `regexTarget`,
//! `stopwords` and `targetRules`, and path-only rules flag files by name.
//! Keys gitleaks ignores or that carry no meaning for a scan (`title`,
//! `minVersion`, descriptions) are ignored here too.

use anyhow::{anyhow, bail, Result};
use toml::value::Table;
use toml::Value;

use super::model::{
    AllowCondition, AllowTarget, AllowlistSpec, Confidence, ExtendSpec, RuleFile, RuleFormat,
    RuleSpec,
};
use super::re2;

/// Keys only gitleaks' format has. leakscrub's own format accepts some
/// as aliases, so a file using them may parse as either; its camelCase
/// says it was written for gitleaks, and gitleaks' meaning wins.
const GITLEAKS_ONLY_KEYS: &[&str] = &[
    "title",
    "minVersion",
    "useDefault",
    "disabledRules",
    "secretGroup",
    "skipReport",
    "regexTarget",
    "targetRules",
];

/// Keys only leakscrub's own format has.
const LEAKSCRUB_ONLY_KEYS: &[&str] = &[
    "use_default",
    "disabled_rules",
    "secret_group",
    "checksum",
    "confidence",
    "skip_placeholder_filter",
    "examples",
    "negative_examples",
    "target",
    "target_rules",
];

/// Whether a TOML text uses keys, at any depth, that only gitleaks'
/// format has, and none that only leakscrub's has.
pub fn written_for_gitleaks(text: &str) -> bool {
    fn any_key(v: &Value, keys: &[&str]) -> bool {
        match v {
            Value::Table(t) => t
                .iter()
                .any(|(k, v)| keys.contains(&k.as_str()) || any_key(v, keys)),
            Value::Array(items) => items.iter().any(|v| any_key(v, keys)),
            _ => false,
        }
    }
    text.parse::<Value>()
        .is_ok_and(|v| any_key(&v, GITLEAKS_ONLY_KEYS) && !any_key(&v, LEAKSCRUB_ONLY_KEYS))
}

/// Returns `Ok(None)` when the text does not look like gitleaks TOML,
/// unless `assume_gitleaks` (the file is named after gitleaks).
pub fn parse(text: &str, assume_gitleaks: bool) -> Result<Option<RuleFile>> {
    let root: Value = text.parse().map_err(|e: toml::de::Error| {
        anyhow!("{}", e.message().lines().next().unwrap_or("invalid TOML"))
    })?;
    let Some(table) = root.as_table() else {
        return Ok(None);
    };
    let looks_gitleaks = table.contains_key("title")
        || table.contains_key("minVersion")
        || table.contains_key("allowlists")
        || text.contains("secretGroup")
        || text.contains("useDefault")
        || text.contains("[rules.allowlist")
        || text.contains("regexTarget")
        || table.get("extend").and_then(|e| e.get("path")).is_some();
    if !looks_gitleaks && !assume_gitleaks {
        return Ok(None);
    }
    let mut file = RuleFile {
        format: RuleFormat::Gitleaks,
        ..RuleFile::default()
    };
    if let Some(ext) = table.get("extend") {
        let ext = ext
            .as_table()
            .ok_or_else(|| anyhow!("[extend] must be a table"))?;
        file.extend = Some(ExtendSpec {
            use_default: match ext.get("useDefault") {
                None => false,
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| anyhow!("[extend] useDefault must be true or false"))?,
            },
            disabled_rules: strings(ext, "disabledRules", "[extend]")?,
            path: string(ext, "path", "[extend]")?,
        });
    }
    for (key, many) in [("allowlist", false), ("allowlists", true)] {
        for (i, a) in tables(table, key, many)?.into_iter().enumerate() {
            let what = if many {
                format!("[[allowlists]] #{}", i + 1)
            } else {
                "[allowlist]".to_string()
            };
            let spec = allowlist(a, &what)?;
            if !many && !spec.target_rules.is_empty() {
                bail!("{what}: targetRules needs the [[allowlists]] form");
            }
            if many {
                file.allowlists.push(spec);
            } else {
                file.allowlist = Some(spec);
            }
        }
    }
    if let Some(rules) = table.get("rules") {
        let Some(rules) = rules.as_array() else {
            bail!("`rules` must be an array of tables");
        };
        for (i, r) in rules.iter().enumerate() {
            let r = r
                .as_table()
                .ok_or_else(|| anyhow!("rule #{} is not a table", i + 1))?;
            if let Some(spec) = rule(r, i)? {
                file.rules.push(spec);
            }
        }
    }
    Ok(Some(file))
}

/// One `[[rules]]` table; `None` for a rule gitleaks would never report.
fn rule(r: &Table, index: usize) -> Result<Option<RuleSpec>> {
    let id = string(r, "id", &format!("rule #{}", index + 1))?
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| anyhow!("rule #{} has no id", index + 1))?;
    let ctx = format!("rule {id:?}");
    if r.contains_key("required") {
        bail!("{ctx}: [[rules.required]] (composite rules) is not supported");
    }
    // Such a rule only serves composite rules, which are not supported.
    if r.get("skipReport").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let regex = match string(r, "regex", &ctx)? {
        Some(p) => translated(&p, &format!("{ctx}: regex"))?,
        None => String::new(),
    };
    let path = match string(r, "path", &ctx)? {
        Some(p) => Some(translated(&p, &format!("{ctx}: path"))?),
        None => None,
    };
    let secret_group = match r.get("secretGroup") {
        None => None,
        Some(v) => {
            let g = v
                .as_integer()
                .and_then(|g| usize::try_from(g).ok())
                .ok_or_else(|| anyhow!("{ctx}: secretGroup must be a whole number"))?;
            (g > 0).then_some(g)
        }
    };
    // gitleaks keeps a secret whose entropy is above the threshold;
    // leakscrub's minimum is inclusive, so the next value up is the same test.
    let entropy = match r.get("entropy") {
        None => None,
        Some(v) => Some(
            v.as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or_else(|| anyhow!("{ctx}: entropy must be a number"))
                .map(just_above)?
                .min(8.0),
        ),
    };
    let mut allowlists = Vec::new();
    for (key, many) in [("allowlist", false), ("allowlists", true)] {
        for (i, a) in tables(r, key, many)?.into_iter().enumerate() {
            let what = if many {
                format!("{ctx}: [[rules.allowlists]] #{}", i + 1)
            } else {
                format!("{ctx}: [rules.allowlist]")
            };
            allowlists.push(allowlist(a, &what)?);
        }
    }
    Ok(Some(RuleSpec {
        description: string(r, "description", &ctx)?.unwrap_or_default(),
        regex,
        first_matching_group: secret_group.is_none(),
        secret_group,
        keywords: strings(r, "keywords", &ctx)?,
        entropy,
        path,
        allowlist: None,
        allowlists,
        checksum: None,
        // gitleaks reports a finding of a rule named "generic..." only when
        // no other rule found the same secret; a lower confidence gets the
        // same from the overlap filter.
        confidence: if id.to_ascii_lowercase().contains("generic") {
            Confidence::Low
        } else {
            Confidence::Medium
        },
        skip_placeholder_filter: false,
        tags: strings(r, "tags", &ctx)?,
        examples: vec![],
        negative_examples: vec![],
        id,
    }))
}

fn allowlist(a: &Table, what: &str) -> Result<AllowlistSpec> {
    let condition = match string(a, "condition", what)?.map(|c| c.to_ascii_uppercase()) {
        None => AllowCondition::Or,
        Some(c) if c.is_empty() || c == "OR" || c == "||" => AllowCondition::Or,
        Some(c) if c == "AND" || c == "&&" => AllowCondition::And,
        Some(c) => bail!("{what}: unknown condition {c:?} (expected AND or OR)"),
    };
    let target = match string(a, "regexTarget", what)?.as_deref() {
        None | Some("") | Some("secret") => AllowTarget::Secret,
        Some("match") => AllowTarget::Match,
        Some("line") => AllowTarget::Line,
        Some(t) => bail!("{what}: unknown regexTarget {t:?} (expected secret, match or line)"),
    };
    let patterns = |key: &str| -> Result<Vec<String>> {
        strings(a, key, what)?
            .iter()
            .enumerate()
            .map(|(i, p)| translated(p, &format!("{what}: {key} #{}", i + 1)))
            .collect()
    };
    let spec = AllowlistSpec {
        description: string(a, "description", what)?,
        condition,
        regexes: patterns("regexes")?,
        stopwords: strings(a, "stopwords", what)?,
        paths: patterns("paths")?,
        commits: strings(a, "commits", what)?,
        target,
        target_rules: strings(a, "targetRules", what)?,
    };
    if !spec.has_criteria() {
        bail!("{what}: needs at least one of regexes, stopwords, paths or commits");
    }
    Ok(spec)
}

/// The smallest `f64` greater than a non-negative `x`.
fn just_above(x: f64) -> f64 {
    if x.is_finite() && x >= 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        x
    }
}

fn translated(pattern: &str, what: &str) -> Result<String> {
    re2::translate(pattern).map_err(|e| anyhow!("{what} {e}"))
}

fn string(t: &Table, key: &str, ctx: &str) -> Result<Option<String>> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => bail!("{ctx}: {key} must be a string"),
    }
}

fn strings(t: &Table, key: &str, ctx: &str) -> Result<Vec<String>> {
    match t.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("{ctx}: {key} must be a list of strings"))
            })
            .collect(),
        Some(_) => bail!("{ctx}: {key} must be a list of strings"),
    }
}

/// The tables under `key`: one (`[key]`) or an array (`[[key]]`).
fn tables<'a>(t: &'a Table, key: &str, many: bool) -> Result<Vec<&'a Table>> {
    match (t.get(key), many) {
        (None, _) => Ok(Vec::new()),
        (Some(Value::Table(one)), false) => Ok(vec![one]),
        (Some(Value::Array(items)), true) => items
            .iter()
            .map(|v| {
                v.as_table()
                    .ok_or_else(|| anyhow!("[[{key}]] entries must be tables"))
            })
            .collect(),
        (Some(_), false) => bail!("[{key}] must be a table"),
        (Some(_), true) => bail!("[[{key}]] must be an array of tables"),
    }
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
        let f = parse(text, false).unwrap().unwrap();
        assert!(f.keeps_defaults());
        assert_eq!(f.rules[0].secret_group, Some(1));
        assert_eq!(f.rules[0].allowlists[0].regexes.len(), 1);
        assert_eq!(f.allowlist.unwrap().paths, vec!["^vendor/".to_string()]);
    }

    #[test]
    fn native_files_are_not_claimed() {
        assert!(
            parse("[[rules]]\nid='a'\ndescription='a'\nregex='a'\n", false)
                .unwrap()
                .is_none()
        );
    }
    use crate::engine::Engine;
    use crate::rules::load::build_rule_set;
    use std::sync::Arc;

    fn engine(toml: &str) -> Engine {
        let f = parse(toml, true).unwrap().unwrap();
        let set = build_rule_set(&[("t.toml".into(), f)], &[]).unwrap();
        Engine::new(Arc::new(set)).unwrap()
    }

    /// The secrets found in `text` at `path`.
    fn found(e: &Engine, text: &str, path: &str) -> Vec<String> {
        e.scan(text.as_bytes(), Some(path))
            .iter()
            .map(|m| text[m.secret_start..m.secret_end].to_string())
            .collect()
    }

    const DEPLOY_RULE: &str = r#"
[[rules]]
id = "internal-deploy-token"
description = "Internal deploy token"
regex = '''(?i)deploy[_-]?token\s*[:=]\s*["']?(dpl_[a-z0-9]{24})'''
keywords = ["deploy"]
"#;

    fn with_allowlist(table: &str) -> Engine {
        engine(&format!("{DEPLOY_RULE}{table}"))
    }

    #[test]
    fn and_condition_needs_every_criterion() {
        let e = with_allowlist(
            "[[rules.allowlists]]\ncondition = \"AND\"\npaths = ['''^fixtures/''']\nregexes = ['''^dpl_test''']\n",
        );
        let test_token = "DEPLOY_TOKEN=dpl_testq8vd2xlr7tzpw4kc9hb3\n";
        let real_token = "DEPLOY_TOKEN=dpl_q8vd2xlr7tzpw4kc9hb3jm6f\n";
        // Both criteria hold: allowed.
        assert!(found(&e, test_token, "fixtures/app.env").is_empty());
        // Only one holds: reported (an OR would have dropped both).
        assert_eq!(found(&e, test_token, "src/app.env").len(), 1);
        assert_eq!(found(&e, real_token, "fixtures/app.env").len(), 1);
    }

    #[test]
    fn or_condition_needs_any_criterion() {
        let e = with_allowlist(
            "[[rules.allowlists]]\npaths = ['''^fixtures/''']\nregexes = ['''^dpl_test''']\n",
        );
        let test_token = "deploy_token: dpl_testq8vd2xlr7tzpw4kc9hb3";
        let real_token = "deploy_token: dpl_q8vd2xlr7tzpw4kc9hb3jm6f";
        assert!(found(&e, test_token, "src/a.yml").is_empty());
        assert!(found(&e, real_token, "fixtures/a.yml").is_empty());
        assert_eq!(found(&e, real_token, "src/a.yml").len(), 1);
    }

    #[test]
    fn and_condition_with_commits_never_holds_without_a_commit() {
        let e = with_allowlist(
            "[[rules.allowlists]]\ncondition = \"AND\"\ncommits = ['3f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e']\npaths = ['''^fixtures/''']\n",
        );
        let real_token = "deploy_token: dpl_q8vd2xlr7tzpw4kc9hb3jm6f";
        assert_eq!(found(&e, real_token, "fixtures/a.yml").len(), 1);
    }

    #[test]
    fn both_allowlist_forms_and_all_their_tables_apply() {
        let e = with_allowlist("[rules.allowlist]\nstopwords = ['sandbox']\n");
        assert!(found(&e, "deploy_token = dpl_sandboxq8vd2xlr7tzpw4kc9", "a.env").is_empty());
        assert_eq!(
            found(&e, "deploy_token = dpl_q8vd2xlr7tzpw4kc9hb3jm6f", "a.env").len(),
            1
        );
        let e = with_allowlist(
            "[[rules.allowlists]]\nstopwords = ['sandbox']\n[[rules.allowlists]]\nregexes = ['''0{6}$''']\n",
        );
        assert!(found(&e, "deploy_token = dpl_SANDBOXq8vd2xlr7tzpw4kc9", "a.env").is_empty());
        assert!(found(&e, "deploy_token = dpl_q8vd2xlr7tzpw4kc9000000", "a.env").is_empty());
        assert_eq!(
            found(&e, "deploy_token = dpl_q8vd2xlr7tzpw4kc9hb3jm6f", "a.env").len(),
            1
        );
    }

    #[test]
    fn regex_target_picks_secret_match_or_line() {
        let text = "DEPLOY_TOKEN=dpl_q8vd2xlr7tzpw4kc9hb3jm6f  # rotated, see vault\n";
        for (target, pattern, allowed) in [
            ("secret", "^dpl_q8vd", true),
            ("secret", "DEPLOY_TOKEN=", false),
            ("match", "^DEPLOY_TOKEN=dpl_", true),
            ("match", "rotated", false),
            ("line", "# rotated, see vault$", true),
        ] {
            let e = with_allowlist(&format!(
                "[[rules.allowlists]]\nregexTarget = \"{target}\"\nregexes = ['''{pattern}''']\n"
            ));
            let allowed_here = found(&e, text, "ci/.env").is_empty();
            assert_eq!(allowed_here, allowed, "{target} {pattern}");
        }
    }

    #[test]
    fn stopwords_match_the_secret_in_any_case() {
        let e = with_allowlist("[[rules.allowlists]]\nstopwords = ['Example', 'dummy']\n");
        assert!(found(&e, "deploy_token = dpl_exampleq8vd2xlr7tzpw4k", "a").is_empty());
        assert!(found(&e, "deploy_token = dpl_q8vd2xlr7tzDUMMY4kc9hb3", "a").is_empty());
        // A stopword in the line but not in the secret allows nothing.
        let line = "example: deploy_token = dpl_q8vd2xlr7tzpw4kc9hb3jm6f";
        assert_eq!(found(&e, line, "a").len(), 1);
    }

    #[test]
    fn global_allowlists_and_target_rules() {
        let e = with_allowlist(
            r#"
[[rules]]
id = "billing-api-key"
regex = '''billing_key\s*=\s*(bk_[a-z0-9]{20})'''
keywords = ["billing_key"]

[[allowlists]]
paths = ['''^vendor/''']

[[allowlists]]
targetRules = ["billing-api-key"]
regexes = ['''^bk_0''']
"#,
        );
        let both =
            "deploy_token = dpl_0q8vd2xlr7tzpw4kc9hb3jm6\nbilling_key = bk_0q8vd2xlr7tzpw4kc9h\n";
        assert!(found(&e, both, "vendor/lib/config.ini").is_empty());
        // The targeted list applies to its rule only.
        assert_eq!(
            found(&e, both, "config.ini"),
            vec!["dpl_0q8vd2xlr7tzpw4kc9hb3jm6"]
        );
    }

    #[test]
    fn a_regex_that_cannot_be_translated_names_the_rule_and_position() {
        let lookahead = "[[rules]]\nid = \"vault-unseal-key\"\nregex = '''unseal_key=(?!test)([a-z0-9]{44})'''\n";
        let err = format!("{:#}", parse(lookahead, true).unwrap_err());
        assert!(
            err.contains("rule \"vault-unseal-key\": regex at position 12"),
            "{err}"
        );
        assert!(err.contains("look-around"), "{err}");
        let bad_allowlist = "[[rules]]\nid = \"npm-token\"\nregex = 'npm_[a-z]{36}'\n[[rules.allowlists]]\nregexes = ['ok', '(a']\n";
        let err = format!("{:#}", parse(bad_allowlist, true).unwrap_err());
        assert!(
            err.contains("rule \"npm-token\": [[rules.allowlists]] #1: regexes #2 at position"),
            "{err}"
        );
    }

    #[test]
    fn unknown_condition_and_target_are_errors() {
        for bad in ["condition = \"XOR\"", "regexTarget = \"file\""] {
            let text = format!("{DEPLOY_RULE}[[rules.allowlists]]\n{bad}\nregexes = ['x']\n");
            let err = format!("{:#}", parse(&text, true).unwrap_err());
            assert!(err.contains("internal-deploy-token"), "{err}");
        }
    }

    #[test]
    fn path_only_rule_flags_the_file_by_name() {
        let e = engine(
            r#"
[[rules]]
id = "pkcs12-keystore"
description = "PKCS #12 keystore"
path = '''(?i)\.(?:p12|pfx)$'''

[[rules.allowlists]]
paths = ['''^testdata/''']
"#,
        );
        let rules = |p: &str| e.path_only_matches(p);
        assert_eq!(rules("certs/client.P12"), vec![0]);
        assert_eq!(rules("signing.pfx"), vec![0]);
        assert!(rules("certs/client.p12.md").is_empty());
        assert!(rules("testdata/dummy.p12").is_empty());
        // It reads no content.
        assert!(e.scan(b"anything", Some("certs/client.p12")).is_empty());
    }

    #[test]
    fn without_secret_group_the_first_group_that_matched_is_the_secret() {
        let e = engine(
            r#"
[[rules]]
id = "analytics-license-key"
regex = '''(?:license_key:\s*([A-Z0-9]{20})|"licenseKey":\s*"([A-Z0-9]{20})")'''
keywords = ["license_key", "licensekey"]
"#,
        );
        let text =
            "license_key: Q7W9E2R4T6Y8U1I3O5P7\n{\"licenseKey\": \"Z3X5C7V9B2N4M6L8K1J3\"}\n";
        assert_eq!(
            found(&e, text, "settings.yml"),
            vec!["Q7W9E2R4T6Y8U1I3O5P7", "Z3X5C7V9B2N4M6L8K1J3"]
        );
    }

    #[test]
    fn entropy_must_exceed_the_threshold_as_in_gitleaks() {
        // "aabbccdd" has exactly 2 bits per byte.
        let e = engine(
            r#"
[[rules]]
id = "build-cache-key"
regex = '''cache_key=([a-z]{8})\b'''
keywords = ["cache_key"]
entropy = 2.0
"#,
        );
        assert!(found(&e, "cache_key=aabbccdd", "ci.env").is_empty());
        assert_eq!(found(&e, "cache_key=aabbccde", "ci.env").len(), 1);
    }
}
