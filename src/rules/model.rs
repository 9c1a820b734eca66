//! The rule file format, as written in `rules/*.toml` and in users' `--config` files.

use serde::{Deserialize, Serialize};

/// One TOML rule file: a list of rules and an optional global allowlist.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    /// `[extend] use_default = false` drops the embedded default rules.
    #[serde(default)]
    pub extend: Option<ExtendSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendSpec {
    #[serde(default = "default_true", alias = "useDefault")]
    pub use_default: bool,
    /// Rule ids from the defaults to leave out.
    #[serde(default, alias = "disabledRules")]
    pub disabled_rules: Vec<String>,
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
    /// Rust regex syntax, matched against bytes.
    pub regex: String,
    /// Capture group holding the secret; 0 means the whole match. Defaults
    /// to 1 when the regex has a capture group, else 0.
    #[serde(default, alias = "secretGroup")]
    pub secret_group: Option<usize>,
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
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
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

/// Matches to drop. Regexes and stopwords apply to the secret unless
/// `target` says otherwise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default, alias = "regexTarget")]
    pub target: AllowTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowTarget {
    #[default]
    Secret,
    Match,
    Line,
}
