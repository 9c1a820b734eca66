//! The rule file format, as written in `rules/*.toml` and in users' `--config` files.

use serde::{Deserialize, Serialize};

/// One TOML rule file: a list of rules and optional global allowlists.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// `[allowlist]`: one global allowlist.
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    /// `[[allowlists]]`: any number of global allowlists.
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
    /// `[extend]`: whether the file adds to the default rules or replaces them.
    #[serde(default)]
    pub extend: Option<ExtendSpec>,
    /// Which syntax the file was written in; decides its regex dialect and
    /// whether it keeps the defaults when it says nothing about them.
    #[serde(skip)]
    pub format: RuleFormat,
}

impl RuleFile {
    /// Whether the rules this file extends are the embedded defaults.
    /// leakscrub's own files add to the defaults unless they say
    /// `use_default = false`; gitleaks files replace them unless they say
    /// `useDefault = true`, as gitleaks reads them.
    pub fn keeps_defaults(&self) -> bool {
        match self.format {
            RuleFormat::Leakscrub => self.extend.as_ref().is_none_or(|e| e.use_default),
            RuleFormat::Gitleaks => self.extend.as_ref().is_some_and(|e| e.use_default),
        }
    }

    /// Every global allowlist, in the order written.
    pub fn global_allowlists(&self) -> impl Iterator<Item = &AllowlistSpec> {
        self.allowlist.iter().chain(self.allowlists.iter())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleFormat {
    #[default]
    Leakscrub,
    Gitleaks,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendSpec {
    #[serde(default = "default_true", alias = "useDefault")]
    pub use_default: bool,
    /// Rule ids of the extended rules to leave out.
    #[serde(default, alias = "disabledRules")]
    pub disabled_rules: Vec<String>,
    /// gitleaks' `[extend] path`: another config whose rules this one
    /// extends, relative to this file's folder or the working directory.
    #[serde(skip)]
    pub path: Option<String>,
}

fn default_true() -> bool {
    true
}

/// How sure a match of the rule is to be a real secret. The redactor masks
/// `high` by default; generic rules are `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    #[default]
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One detection rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable kebab-case identifier, e.g. `github-pat`.
    pub id: String,
    pub description: String,
    /// Rust regex syntax, matched against bytes. Empty for a path-only
    /// rule, which reports every file whose path matches `path`.
    #[serde(default)]
    pub regex: String,
    /// Capture group holding the secret; 0 means the whole match. Defaults
    /// to 1 when the regex has a capture group, else 0.
    #[serde(default, alias = "secretGroup")]
    pub secret_group: Option<usize>,
    /// Without `secret_group`, take the first capture group that matched
    /// something (else the whole match), as gitleaks does, instead of
    /// group 1: a gitleaks rule may hold its secret in any branch.
    #[serde(skip)]
    pub first_matching_group: bool,
    /// Literal, case-insensitive strings of which at least one occurs inside
    /// every match. They feed the prefilter; the regex only runs near them.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// Only scan paths matching this regex.
    #[serde(default)]
    pub path: Option<String>,
    /// `[rules.allowlist]`: one allowlist.
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    /// `[[rules.allowlists]]`: any number; a match any of them allows is dropped.
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
    /// A named validator for the secret, e.g. `github-crc32`.
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Skip the global placeholder / reference filter for this rule.
    #[serde(default)]
    pub skip_placeholder_filter: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Text that must produce at least one finding of this rule.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Text that must produce no finding of this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

impl RuleSpec {
    /// Every allowlist of the rule, in the order written.
    pub fn all_allowlists(&self) -> impl Iterator<Item = &AllowlistSpec> {
        self.allowlist.iter().chain(self.allowlists.iter())
    }
}

/// Matches to drop. Regexes apply to the secret unless `target` says
/// otherwise; stopwords always to the secret. With `condition = "or"` (the
/// default) any criterion drops a match; with `"and"` every listed one must.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub condition: AllowCondition,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    /// Commit ids; only sources with commits can satisfy this criterion.
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default, alias = "regexTarget")]
    pub target: AllowTarget,
    /// For a global allowlist: the rules it applies to (all when empty).
    #[serde(default, alias = "targetRules")]
    pub target_rules: Vec<String>,
}

impl AllowlistSpec {
    pub fn has_criteria(&self) -> bool {
        !(self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.paths.is_empty()
            && self.commits.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum AllowCondition {
    #[default]
    #[serde(alias = "or", alias = "OR", alias = "||")]
    Or,
    #[serde(alias = "and", alias = "AND", alias = "&&")]
    And,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowTarget {
    #[default]
    Secret,
    Match,
    Line,
}
