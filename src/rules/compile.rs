//! Turns rule specs into compiled rules: regexes built once, lengths
//! bounded, checksums resolved.

use anyhow::{anyhow, bail, Context, Result};
use std::sync::OnceLock;

use regex::bytes::Regex;

use super::model::{AllowTarget, AllowlistSpec, Confidence, RuleSpec};
use crate::engine::checksum::Checksum;

/// The longest match for which the engine scans only a window around a
/// keyword occurrence; rules that can match more scan the whole blob.
pub const MAX_WINDOWED_LEN: usize = 16 * 1024;

/// Size limits for compiled regexes: generous for real rules, bounded so a
/// hostile config cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    /// Built on first use; see [`LazyRegex`].
    pub regex: LazyRegex,
    pub secret_group: usize,
    /// Lower-cased keywords.
    pub keywords: Vec<String>,
    pub entropy: Option<f64>,
    pub path: Option<Regex>,
    pub allowlist: Allowlist,
    pub checksum: Option<Checksum>,
    pub confidence: Confidence,
    pub skip_placeholder_filter: bool,
    pub tags: Vec<String>,
    /// Upper bound of a match's length in bytes, when the regex has one.
    pub max_len: Option<usize>,
    /// Where this rule came from (file name), for messages.
    pub origin: String,
    pub spec: RuleSpec,
}

impl Rule {
    /// The regex if a scan has already built it.
    pub fn built_regex(&self) -> Option<&Regex> {
        self.regex.built.get()
    }

    /// Whether the engine may run this rule on windows around keyword hits.
    pub fn windowed(&self) -> bool {
        !self.keywords.is_empty() && self.max_len.is_some_and(|n| n <= MAX_WINDOWED_LEN)
    }
}

/// Compiled allowlist: a match is dropped when any part hits.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub regexes: Vec<Regex>,
    /// Lower-cased stopwords.
    pub stopwords: Vec<String>,
    pub paths: Vec<Regex>,
    pub target: AllowTarget,
}

impl Allowlist {
    pub fn compile(spec: &AllowlistSpec) -> Result<Allowlist> {
        let regexes = spec
            .regexes
            .iter()
            .map(|r| build_regex(r).with_context(|| format!("allowlist regex {r:?}")))
            .collect::<Result<Vec<_>>>()?;
        let paths = spec
            .paths
            .iter()
            .map(|r| build_regex(r).with_context(|| format!("allowlist path {r:?}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(Allowlist {
            regexes,
            stopwords: spec
                .stopwords
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            paths,
            target: spec.target,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty() && self.stopwords.is_empty() && self.paths.is_empty()
    }

    pub fn allows_path(&self, path: &str) -> bool {
        self.paths.iter().any(|r| r.is_match(path.as_bytes()))
    }

    /// True when the match should be dropped. `secret`, `whole` and `line`
    /// are the secret, the full regex match and the line(s) around it.
    pub fn allows(&self, secret: &[u8], whole: &[u8], line: &[u8]) -> bool {
        let target = match self.target {
            AllowTarget::Secret => secret,
            AllowTarget::Match => whole,
            AllowTarget::Line => line,
        };
        if self.regexes.iter().any(|r| r.is_match(target)) {
            return true;
        }
        if !self.stopwords.is_empty() {
            let lower = secret.to_ascii_lowercase();
            let hay = String::from_utf8_lossy(&lower);
            if self.stopwords.iter().any(|w| hay.contains(w.as_str())) {
                return true;
            }
        }
        false
    }
}

/// All compiled rules plus the global allowlist.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub allowlist: Allowlist,
}

impl RuleSet {
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Patterns run with ASCII semantics for `\w`, `\s`, `\b`, `\d` and
/// `(?i)`, as in gitleaks' Go regexes: secrets are ASCII, and Unicode
/// classes make every regex several times larger to compile and keep the
/// lazy DFA from handling `\b` on non-ASCII text. A pattern that needs
/// Unicode opts in with `(?u:...)`.
pub fn build_regex(pattern: &str) -> Result<Regex> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| anyhow!("{}", first_line(&e.to_string())))
}

fn first_line(s: &str) -> String {
    // regex errors are multi-line with a caret diagram; keep the gist on one line.
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// Parses a pattern as `build_regex` compiles it. With Unicode classes a
/// `(?i)k` would also count the 3-byte Kelvin sign and inflate lengths.
fn parse_pattern(pattern: &str) -> Result<regex_syntax::hir::Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| anyhow!("{}", first_line(&e.to_string())))
}

/// A rule's regex, built the first time it is used. A scan usually runs a
/// fraction of the rules (those whose keywords occur), and building every
/// regex up front was most of start-up: rules with long counted repeats,
/// such as PEM bodies, take milliseconds each. The pattern's syntax and
/// groups are checked when the rule is compiled.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: String,
    built: OnceLock<Regex>,
    /// Used if the pattern parses but exceeds the size limit when built.
    never: Regex,
}

impl LazyRegex {
    fn new(pattern: &str) -> Result<LazyRegex> {
        Ok(LazyRegex {
            pattern: pattern.to_string(),
            built: OnceLock::new(),
            never: never_matching_regex()?,
        })
    }

    /// The compiled regex. A pattern that parses but exceeds the size limit
    /// matches nothing rather than exhausting memory; `rules test` shows it
    /// as a rule whose examples find nothing.
    pub fn get(&self) -> &Regex {
        self.built
            .get_or_init(|| build_regex(&self.pattern).unwrap_or_else(|_| self.never.clone()))
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

impl std::ops::Deref for LazyRegex {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        self.get()
    }
}

fn never_matching_regex() -> Result<Regex> {
    static NEVER: OnceLock<Option<Regex>> = OnceLock::new();
    // An empty byte class: tiny, and it matches no input.
    NEVER
        .get_or_init(|| build_regex(r"(?-u:[^\x00-\xFF])").ok())
        .clone()
        .ok_or_else(|| anyhow!("cannot build the empty regex"))
}

pub fn compile_rule(spec: &RuleSpec, origin: &str) -> Result<Rule> {
    let ctx = || format!("rule {:?} in {origin}", spec.id);
    if spec.id.trim().is_empty() {
        bail!("a rule in {origin} has an empty id");
    }
    let hir = parse_pattern(&spec.regex).with_context(|| format!("{}: regex", ctx()))?;
    let groups = hir.properties().explicit_captures_len();
    let secret_group = match spec.secret_group {
        Some(g) if g > groups => bail!(
            "{}: secret_group {g} but the regex has only {groups} capture group(s)",
            ctx()
        ),
        Some(g) => g,
        None if groups >= 1 => 1,
        None => 0,
    };
    let path = match &spec.path {
        Some(p) => Some(build_regex(p).with_context(|| format!("{}: path", ctx()))?),
        None => None,
    };
    let allowlist = match &spec.allowlist {
        Some(a) => Allowlist::compile(a).with_context(ctx)?,
        None => Allowlist::default(),
    };
    let checksum = match &spec.checksum {
        Some(name) => Some(
            Checksum::from_name(name)
                .ok_or_else(|| anyhow!("{}: unknown checksum {name:?}", ctx()))?,
        ),
        None => None,
    };
    if let Some(e) = spec.entropy {
        if !(0.0..=8.0).contains(&e) {
            bail!("{}: entropy {e} is outside 0..=8 bits per byte", ctx());
        }
    }
    if spec.keywords.iter().any(|k| k.is_empty()) {
        bail!("{}: empty keyword", ctx());
    }
    Ok(Rule {
        id: spec.id.clone(),
        description: spec.description.clone(),
        secret_group,
        keywords: spec
            .keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect(),
        entropy: spec.entropy,
        path,
        allowlist,
        checksum,
        confidence: spec.confidence,
        skip_placeholder_filter: spec.skip_placeholder_filter,
        tags: spec.tags.clone(),
        max_len: hir.properties().maximum_len(),
        origin: origin.to_string(),
        spec: spec.clone(),
        regex: LazyRegex::new(&spec.regex)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(regex: &str) -> RuleSpec {
        RuleSpec {
            id: "t".into(),
            description: "t".into(),
            regex: regex.into(),
            secret_group: None,
            keywords: vec!["ab".into()],
            entropy: None,
            path: None,
            allowlist: None,
            checksum: None,
            confidence: Confidence::Medium,
            skip_placeholder_filter: false,
            tags: vec![],
            examples: vec![],
            negative_examples: vec![],
        }
    }

    #[test]
    fn bounded_rules_are_windowed() {
        let r = compile_rule(&spec("ab[0-9]{10}"), "x").unwrap();
        assert_eq!(r.max_len, Some(12));
        assert!(r.windowed());
        let r = compile_rule(&spec("ab[0-9]+"), "x").unwrap();
        assert!(!r.windowed());
    }

    #[test]
    fn secret_group_defaults_and_bounds() {
        assert_eq!(compile_rule(&spec("ab(c)"), "x").unwrap().secret_group, 1);
        assert_eq!(compile_rule(&spec("abc"), "x").unwrap().secret_group, 0);
        let mut s = spec("ab(c)");
        s.secret_group = Some(3);
        let err = compile_rule(&s, "x").unwrap_err().to_string();
        assert!(err.contains("secret_group 3"), "{err}");
    }

    #[test]
    fn classes_are_ascii_unless_a_pattern_opts_in() {
        let r = build_regex(r"^\w+$").unwrap();
        assert!(r.is_match(b"abc_123"));
        assert!(!r.is_match("caf\u{e9}".as_bytes()));
        let r = build_regex(r"(?u:^\w+$)").unwrap();
        assert!(r.is_match("caf\u{e9}".as_bytes()));
        let r = build_regex("p\u{e4}sswort=(x)").unwrap();
        assert!(r.is_match("p\u{e4}sswort=x".as_bytes()));
    }

    #[test]
    fn regex_is_built_on_first_use_and_oversized_ones_match_nothing() {
        let r = compile_rule(&spec(r"ab([0-9]{4})"), "x").unwrap();
        assert_eq!(r.regex.as_str(), r"ab([0-9]{4})");
        assert!(r.built_regex().is_none());
        assert!(r.regex.is_match(b"xx ab1234"));
        assert!(r.built_regex().is_some());
        // Parses, so the rule loads, but exceeds the size limit when built.
        let r = compile_rule(&spec(r"ab(?:[a-z]{1000}){10000}"), "x").unwrap();
        assert!(!r.regex.is_match(b"ab"));
        let built = r.built_regex().map(|b| b.as_str());
        assert_eq!(built, Some(r"(?-u:[^\x00-\xFF])"));
    }

    #[test]
    fn bad_regex_is_one_line_error() {
        let err = format!("{:#}", compile_rule(&spec("ab(["), "f.toml").unwrap_err());
        assert!(err.contains("f.toml"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
