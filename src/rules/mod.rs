//! Rules: the file format ([`model`]), loading from the embedded defaults,
//! user TOML and gitleaks TOML ([`load`]), and compilation into a
//! [`RuleSet`] that the engine and the redactor share.

pub mod checksum;
pub mod compile;
pub mod gitleaks;
pub mod load;
pub mod model;
pub mod re2;

pub use compile::{Allowlist, Allowlists, Rule, RuleSet};
pub use load::{load_rule_set, LoadOptions};
pub use model::{Confidence, RuleFile, RuleSpec};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));
}

/// The default rule files compiled into the binary: `(file name, TOML text)`.
pub fn default_rule_files() -> &'static [(&'static str, &'static str)] {
    embedded::DEFAULT_RULE_FILES
}
