//! Loading rule files: the embedded defaults, then a user config (leakscrub
//! or gitleaks TOML) that adds rules, overrides rules by id, or replaces the
//! defaults.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::compile::{compile_rule, Allowlists, RuleSet};
use super::gitleaks;
use super::model::{AllowlistSpec, RuleFile, RuleFormat, RuleSpec};

/// How deep `[extend]` is followed, as in gitleaks: a config, the config
/// it extends, and the one that one extends, whose own `[extend]` is
/// ignored.
const MAX_EXTEND_DEPTH: usize = 2;

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A user config file (`--config`).
    pub config: Option<PathBuf>,
    /// Leave out the embedded defaults whatever the config says.
    pub no_defaults: bool,
}

/// A rule set, and what the user should know about how it was built.
#[derive(Debug, Clone)]
pub struct LoadedRules {
    pub rules: RuleSet,
    /// The config that replaced the defaults, and its format.
    pub defaults_replaced_by: Option<(String, RuleFormat)>,
    /// What a config refers to by a rule id that no loaded rule has
    /// (gitleaks' default rules' ids, say): left out, one notice each.
    pub left_out: Vec<String>,
}

impl LoadedRules {
    /// Every notice line, for stderr.
    pub fn notices(&self) -> Vec<String> {
        self.defaults_notice()
            .into_iter()
            .chain(self.left_out.iter().map(|l| format!("notice: {l}")))
            .collect()
    }

    /// One line telling the user that the defaults are off, when a config
    /// turned them off: a gitleaks config without `useDefault = true` does
    /// so silently, and its users often believe the defaults still run.
    pub fn defaults_notice(&self) -> Option<String> {
        let (config, format) = self.defaults_replaced_by.as_ref()?;
        let why = match format {
            RuleFormat::Gitleaks => "it does not set [extend] useDefault = true",
            RuleFormat::Leakscrub => "it sets [extend] use_default = false",
        };
        let n = self.rules.rules.len();
        Some(format!(
            "notice: {config} replaces the default rules ({why}); {n} rule{} active",
            if n == 1 { "" } else { "s" }
        ))
    }
}

/// Parses one rule file's text. The two formats overlap and differ in
/// meaning, so a file named after gitleaks (`.gitleaks.toml`) or using
/// keys only gitleaks has (`secretGroup`, `useDefault`, ...) is read as
/// gitleaks TOML; otherwise leakscrub's own format is tried first, and a
/// file that does not fit it is read as gitleaks TOML.
pub fn parse_rule_file(text: &str, origin: &str) -> Result<RuleFile> {
    let named_gitleaks = Path::new(origin).file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .contains("gitleaks")
    });
    if named_gitleaks || gitleaks::written_for_gitleaks(text) {
        return match gitleaks::parse(text, true) {
            Ok(Some(f)) => Ok(f),
            Ok(None) => bail!("{origin}: not a gitleaks rule file"),
            Err(e) => Err(e.context(format!("{origin}: not a valid gitleaks rule file"))),
        };
    }
    match toml::from_str::<RuleFile>(text) {
        Ok(f) => Ok(f),
        Err(native) => match gitleaks::parse(text, false) {
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

/// A config and the configs it extends through `[extend] path`, base
/// first; and whether the chain starts from the defaults.
fn config_chain(path: &Path, depth: usize) -> Result<(Vec<(String, RuleFile)>, bool)> {
    let file = read_rule_file(path)?;
    let origin = path.display().to_string();
    // As in gitleaks, the `[extend]` of a config that deep is not followed.
    let follows_extend = depth < MAX_EXTEND_DEPTH;
    let base = file
        .extend
        .as_ref()
        .and_then(|e| e.path.clone())
        .filter(|_| follows_extend);
    let (mut chain, defaults) = match base {
        Some(_) if file.keeps_defaults() => {
            bail!("{origin}: [extend] sets both path and useDefault; use one")
        }
        Some(base) => config_chain(&extended_path(path, &base), depth + 1)
            .with_context(|| format!("{origin}: [extend] path"))?,
        None => (Vec::new(), follows_extend && file.keeps_defaults()),
    };
    chain.push((origin, file));
    Ok((chain, defaults))
}

/// gitleaks resolves `[extend] path` from the working directory; a path
/// relative to the config's own folder is tried first, since that keeps
/// working whatever folder the scan runs from.
fn extended_path(config: &Path, base: &str) -> PathBuf {
    let beside = config
        .parent()
        .map(|dir| dir.join(base))
        .filter(|p| p.is_file());
    beside.unwrap_or_else(|| PathBuf::from(base))
}

/// Builds the rule set for a run.
pub fn load_rule_set(opts: &LoadOptions) -> Result<RuleSet> {
    Ok(load_rules(opts)?.rules)
}

/// Builds the rule set for a run, saying whether the config replaced the
/// defaults.
pub fn load_rules(opts: &LoadOptions) -> Result<LoadedRules> {
    let configs: Vec<PathBuf> = opts.config.iter().cloned().collect();
    load_configs(&configs, opts.no_defaults)
}

/// The rule set that configs applied in order give: the defaults unless a
/// config replaces them, then each config's rules over the earlier ones.
/// `scan --config FILE` and `rules list FILE` both use it, so they agree.
pub fn load_configs(configs: &[PathBuf], no_defaults: bool) -> Result<LoadedRules> {
    let mut layers = Vec::new();
    let mut defaults_replaced_by = None;
    for config in configs {
        let (chain, keeps_defaults) = config_chain(config, 0)?;
        if !keeps_defaults && defaults_replaced_by.is_none() {
            let format = chain
                .last()
                .map_or(RuleFormat::Leakscrub, |(_, f)| f.format);
            defaults_replaced_by = Some((config.display().to_string(), format));
        }
        layers.extend(chain);
    }
    let mut files = Vec::new();
    if !no_defaults && defaults_replaced_by.is_none() {
        files.extend(default_files()?);
    }
    files.extend(layers);
    let with_defaults = !no_defaults && defaults_replaced_by.is_none();
    let (rules, left_out) = assemble(&files, &[], with_defaults)?;
    Ok(LoadedRules {
        rules,
        defaults_replaced_by,
        left_out,
    })
}

/// Compiles parsed files into one set, each file over the ones before it:
/// its `disabled_rules` drop earlier rules; a rule with an earlier rule's
/// id replaces it (leakscrub files) or extends it (gitleaks files, as
/// gitleaks does: fields it sets win, keywords, tags and allowlists add
/// up). Rules in `disabled` are left out whatever file they come from.
pub fn build_rule_set(files: &[(String, RuleFile)], disabled: &[String]) -> Result<RuleSet> {
    Ok(assemble(files, disabled, false)?.0)
}

/// [`build_rule_set`], telling what was left out. With the defaults in
/// the set, a gitleaks rule that only adds to a rule of its id (no regex,
/// no path) or an allowlist aimed at rules by id may name a default rule
/// of gitleaks, which leakscrub's defaults do not have: it is left out,
/// which can only report more, not less. Without the defaults, such a
/// reference is a mistake in the config and an error, as in gitleaks.
fn assemble(
    files: &[(String, RuleFile)],
    disabled: &[String],
    with_defaults: bool,
) -> Result<(RuleSet, Vec<String>)> {
    let mut left_out = Vec::new();
    let mut specs: Vec<(String, RuleSpec)> = Vec::new();
    let mut global: Vec<AllowlistSpec> = Vec::new();
    let mut targeted: Vec<(String, AllowlistSpec)> = Vec::new();
    for (origin, file) in files {
        if let Some(ext) = &file.extend {
            for id in &ext.disabled_rules {
                if !specs.iter().any(|(_, s)| &s.id == id) {
                    left_out.push(format!(
                        "{origin}: [extend] disables rule {id:?}, which the extended rules do not have"
                    ));
                }
            }
            specs.retain(|(_, s)| !ext.disabled_rules.contains(&s.id));
        }
        for spec in &file.rules {
            match specs.iter_mut().find(|(_, s)| s.id == spec.id) {
                Some((o, existing)) => {
                    match file.format {
                        RuleFormat::Gitleaks => extend_rule(existing, spec),
                        RuleFormat::Leakscrub => *existing = spec.clone(),
                    }
                    *o = origin.clone();
                }
                None if with_defaults
                    && file.format == RuleFormat::Gitleaks
                    && spec.regex.is_empty()
                    && spec.path.is_none() =>
                {
                    left_out.push(format!(
                        "{origin}: rule {:?} only adds to a rule of that id, which the default rules do not have; left out",
                        spec.id
                    ));
                }
                None => specs.push((origin.clone(), spec.clone())),
            }
        }
        for a in file.global_allowlists() {
            if a.target_rules.is_empty() {
                global.push(a.clone());
            } else {
                targeted.push((origin.clone(), a.clone()));
            }
        }
    }
    for (origin, a) in targeted {
        for id in &a.target_rules {
            match specs.iter_mut().find(|(_, s)| &s.id == id) {
                Some((_, spec)) => spec.allowlists.push(a.clone()),
                None if with_defaults => left_out.push(format!(
                    "{origin}: [[allowlists]] targets rule {id:?}, which the default rules do not have; left out for it"
                )),
                None => {
                    bail!("{origin}: [[allowlists]] targets rule {id:?}, which does not exist")
                }
            }
        }
    }
    let mut set = RuleSet::default();
    for (origin, spec) in &specs {
        if disabled.contains(&spec.id) {
            continue;
        }
        set.rules.push(compile_rule(spec, origin)?);
    }
    set.allowlist = Allowlists::compile(&global).context("global allowlist")?;
    Ok((set, left_out))
}

/// gitleaks' meaning of a rule whose id an extended config already has.
fn extend_rule(base: &mut RuleSpec, over: &RuleSpec) {
    if !over.description.is_empty() {
        base.description = over.description.clone();
    }
    if over.entropy.is_some() {
        base.entropy = over.entropy;
    }
    if over.secret_group.is_some() {
        base.secret_group = over.secret_group;
        base.first_matching_group = false;
    }
    if !over.regex.is_empty() {
        base.regex = over.regex.clone();
    }
    if over.path.is_some() {
        base.path = over.path.clone();
    }
    base.tags.extend(over.tags.iter().cloned());
    base.keywords.extend(over.keywords.iter().cloned());
    base.allowlists.extend(over.all_allowlists().cloned());
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
    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn default_count() -> usize {
        default_files()
            .unwrap()
            .iter()
            .map(|(_, f)| f.rules.len())
            .sum()
    }

    const GITLEAKS_RULE: &str = r#"
title = "payments team"
[[rules]]
id = "payments-webhook-secret"
description = "Payments webhook signing secret"
regex = '''whsec_[A-Za-z0-9]{32}'''
keywords = ["whsec_"]
"#;

    #[test]
    fn a_gitleaks_config_replaces_the_defaults_unless_use_default() {
        let dir = tempfile::tempdir().unwrap();
        let alone = write(dir.path(), "alone.toml", GITLEAKS_RULE);
        let loaded = load_configs(std::slice::from_ref(&alone), false).unwrap();
        assert_eq!(loaded.rules.rules.len(), 1);
        let notice = loaded.defaults_notice().unwrap();
        assert!(
            notice.contains("alone.toml replaces the default rules"),
            "{notice}"
        );
        assert!(notice.contains("useDefault = true"), "{notice}");
        assert!(notice.ends_with("; 1 rule active"), "{notice}");

        let extended = write(
            dir.path(),
            "extended.toml",
            &format!("[extend]\nuseDefault = true\n{GITLEAKS_RULE}"),
        );
        let loaded = load_configs(&[extended], false).unwrap();
        assert_eq!(loaded.rules.rules.len(), default_count() + 1);
        assert!(loaded.defaults_notice().is_none());
    }

    #[test]
    fn a_leakscrub_config_keeps_the_defaults_unless_use_default_false() {
        let dir = tempfile::tempdir().unwrap();
        let rule = "[[rules]]\nid = \"payments-webhook-secret\"\ndescription = \"d\"\nregex = 'whsec_[A-Za-z0-9]{32}'\nkeywords = [\"whsec_\"]\n";
        let kept = write(dir.path(), "kept.toml", rule);
        let loaded = load_configs(&[kept], false).unwrap();
        assert_eq!(loaded.rules.rules.len(), default_count() + 1);
        assert!(loaded.defaults_notice().is_none());
        let off = write(
            dir.path(),
            "off.toml",
            &format!("[extend]\nuse_default = false\n{rule}"),
        );
        let loaded = load_configs(&[off], false).unwrap();
        assert_eq!(loaded.rules.rules.len(), 1);
        let notice = loaded.defaults_notice().unwrap();
        assert!(notice.contains("use_default = false"), "{notice}");
    }

    #[test]
    fn disabled_rules_drop_extended_rules() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(
            dir.path(),
            "c.toml",
            &format!("[extend]\nuseDefault = true\ndisabledRules = [\"github-pat\", \"jwt\"]\n{GITLEAKS_RULE}"),
        );
        let set = load_configs(&[cfg], false).unwrap().rules;
        assert_eq!(set.rules.len(), default_count() - 1);
        assert!(set.get("github-pat").is_none() && set.get("jwt").is_none());
    }

    #[test]
    fn extend_path_merges_rules_by_id_as_gitleaks_does() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.toml", GITLEAKS_RULE);
        let cfg = write(
            dir.path(),
            "team.toml",
            r#"
[extend]
path = "base.toml"

[[rules]]
id = "payments-webhook-secret"
keywords = ["webhook"]
[[rules.allowlists]]
stopwords = ["sandbox"]
"#,
        );
        let loaded = load_configs(&[cfg], false).unwrap();
        let rule = loaded.rules.get("payments-webhook-secret").unwrap();
        assert_eq!(loaded.rules.rules.len(), 1);
        assert_eq!(rule.spec.regex, "whsec_[A-Za-z0-9]{32}");
        assert_eq!(rule.description, "Payments webhook signing secret");
        assert_eq!(rule.keywords, vec!["whsec_", "webhook"]);
        assert_eq!(rule.allowlist.lists.len(), 1);
        assert!(loaded.defaults_notice().is_some());
    }

    #[test]
    fn extend_path_with_use_default_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.toml", GITLEAKS_RULE);
        let cfg = write(
            dir.path(),
            "c.toml",
            "[extend]\nuseDefault = true\npath = \"base.toml\"\n",
        );
        let err = format!("{:#}", load_configs(&[cfg], false).unwrap_err());
        assert!(
            err.contains("c.toml") && err.contains("both path and useDefault"),
            "{err}"
        );
    }

    #[test]
    fn a_targeted_allowlist_needs_its_rule() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(
            dir.path(),
            "c.toml",
            &format!("{GITLEAKS_RULE}\n[[allowlists]]\ntargetRules = [\"stripe-webhook\"]\nstopwords = [\"test\"]\n"),
        );
        let err = format!("{:#}", load_configs(&[cfg], false).unwrap_err());
        assert!(
            err.contains("\"stripe-webhook\", which does not exist"),
            "{err}"
        );
    }

    #[test]
    fn a_file_named_after_gitleaks_is_read_as_gitleaks() {
        // Valid in both formats; the name decides the regex dialect and
        // the defaults.
        let text = "[[rules]]\nid = \"ci-template-token\"\ndescription = \"d\"\nregex = '''token: \\${{ *([a-z_]+) *}}'''\nkeywords = [\"token\"]\n";
        let f = parse_rule_file(text, "repo/.gitleaks.toml").unwrap();
        assert_eq!(f.format, RuleFormat::Gitleaks);
        assert!(!f.keeps_defaults());
        assert_eq!(f.rules[0].regex, r"token: \$\{\{ *([a-z_]+) *\}\}");
        assert!(parse_rule_file(text, "repo/.leakscrub.toml").is_ok());
    }
    #[test]
    fn references_to_gitleaks_default_rules_are_left_out_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        // Allowlists for gitleaks' default rules, by gitleaks' ids.
        let rule_part = "[[rules]]\nid = \"generic-api-key\"\n[[rules.allowlists]]\nstopwords = [\"sandbox\"]\n";
        let targeted_part =
            "[[allowlists]]\ntargetRules = [\"aws-access-token\"]\npaths = ['''^testdata/''']\n";
        let text = format!(
            "[extend]\nuseDefault = true\ndisabledRules = [\"github-pat\", \"sidekiq-secret\"]\n{rule_part}{targeted_part}"
        );
        let cfg = write(dir.path(), "team.toml", &text);
        let loaded = load_configs(std::slice::from_ref(&cfg), false).unwrap();
        assert_eq!(loaded.rules.rules.len(), default_count() - 1);
        let notices = loaded.notices();
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(notices[0].contains("disables rule \"sidekiq-secret\""));
        assert!(notices[1].contains("rule \"generic-api-key\" only adds to a rule of that id"));
        assert!(notices[2].contains("targets rule \"aws-access-token\""));
        // Without the defaults the same rule is a mistake.
        let alone = write(
            dir.path(),
            "alone.toml",
            &format!("title = \"t\"\n{rule_part}"),
        );
        let err = format!("{:#}", load_configs(&[alone], false).unwrap_err());
        assert!(err.contains("neither a regex nor a path"), "{err}");
    }
    #[test]
    fn a_file_with_keys_only_gitleaks_has_is_read_as_gitleaks() {
        // Parses in both formats (leakscrub takes `secretGroup` as an
        // alias); the camelCase says who wrote it.
        let text = "[[rules]]\nid = \"ci-template-token\"\ndescription = \"d\"\nregex = '''token: \\${{ *([a-z_]+) *}}'''\nsecretGroup = 1\nkeywords = [\"token\"]\n";
        let f = parse_rule_file(text, "team-rules.toml").unwrap();
        assert_eq!(f.format, RuleFormat::Gitleaks);
        assert_eq!(f.rules[0].regex, r"token: \$\{\{ *([a-z_]+) *\}\}");
        let native = text.replace("secretGroup", "secret_group");
        let f = parse_rule_file(&native, "team-rules.toml").unwrap();
        assert_eq!(f.format, RuleFormat::Leakscrub);
        assert!(f.keeps_defaults());
    }
    #[test]
    fn extend_is_followed_two_levels_deep_as_in_gitleaks() {
        let dir = tempfile::tempdir().unwrap();
        let level = |name: &str, base: &str, id: &str| {
            let text = format!(
                "title = \"{name}\"\n[extend]\npath = \"{base}\"\n[[rules]]\nid = \"{id}\"\nregex = '''{id}_[a-z0-9]{{24}}'''\nkeywords = [\"{id}_\"]\n"
            );
            write(dir.path(), name, &text)
        };
        let top = level("team.toml", "org.toml", "team");
        level("org.toml", "company.toml", "org");
        // Its [extend] is not followed: the file it names need not exist.
        level("company.toml", "missing.toml", "company");
        let loaded = load_configs(&[top], false).unwrap();
        let mut ids: Vec<&str> = loaded.rules.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, vec!["company", "org", "team"]);
        assert!(loaded.defaults_notice().is_some());
    }
    #[test]
    fn a_file_mixing_both_formats_keys_is_read_as_leakscrub() {
        let text = "[[rules]]\nid = \"ci-token\"\ndescription = \"d\"\nregex = '''ci_([a-z0-9]{24})'''\nsecretGroup = 1\nconfidence = \"high\"\nkeywords = [\"ci_\"]\nexamples = [\"ci_q8vd2xlr7tzpw4kc9hb3jm6f\"]\n";
        let f = parse_rule_file(text, "team-rules.toml").unwrap();
        assert_eq!(f.format, RuleFormat::Leakscrub);
        assert_eq!(f.rules[0].confidence, crate::rules::Confidence::High);
        assert_eq!(f.rules[0].examples.len(), 1);
    }
}
