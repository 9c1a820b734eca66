//! Turns rule specs into compiled rules: regexes built once, lengths
//! bounded, checksums resolved.

use anyhow::{anyhow, bail, Context, Result};
use std::sync::OnceLock;

use regex::bytes::Regex;

use super::model::{AllowCondition, AllowTarget, AllowlistSpec, Confidence, RuleSpec};
use crate::rules::checksum::Checksum;

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
    /// Whether the secret is the first capture group that matched (see
    /// [`RuleSpec::first_matching_group`]) rather than `secret_group`.
    pub first_matching_group: bool,
    /// Lower-cased keywords.
    pub keywords: Vec<String>,
    pub entropy: Option<f64>,
    pub path: Option<Regex>,
    /// A rule with a path and no regex: it reports every file whose path
    /// matches, whatever the content.
    pub path_only: bool,
    pub allowlist: Allowlists,
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
    /// The secret within one match of the rule's regex.
    pub fn secret_in<'h>(
        &self,
        caps: &regex::bytes::Captures<'h>,
    ) -> Option<regex::bytes::Match<'h>> {
        if self.first_matching_group {
            caps.iter()
                .skip(1)
                .flatten()
                .find(|m| !m.is_empty())
                .or_else(|| caps.get(0))
        } else {
            caps.get(self.secret_group)
        }
    }

    /// The regex if a scan has already built it.
    pub fn built_regex(&self) -> Option<&Regex> {
        self.regex.built.get()
    }

    /// Whether the engine may run this rule on windows around keyword hits.
    pub fn windowed(&self) -> bool {
        !self.keywords.is_empty() && self.max_len.is_some_and(|n| n <= MAX_WINDOWED_LEN)
    }
}

/// One compiled allowlist table.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub condition: AllowCondition,
    pub regexes: Vec<Regex>,
    /// Lower-cased stopwords.
    pub stopwords: Vec<String>,
    pub paths: Vec<Regex>,
    pub commits: Vec<String>,
    pub target: AllowTarget,
}

impl Allowlist {
    pub fn compile(spec: &AllowlistSpec) -> Result<Allowlist> {
        if !spec.has_criteria() {
            bail!("an allowlist needs at least one of regexes, stopwords, paths or commits");
        }
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
            condition: spec.condition,
            regexes,
            stopwords: spec
                .stopwords
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            paths,
            commits: spec.commits.clone(),
            target: spec.target,
        })
    }

    fn path_hits(&self, path: &str) -> bool {
        self.paths.iter().any(|r| r.is_match(path.as_bytes()))
    }

    fn regex_hits(&self, secret: &[u8], whole: &[u8], line: &[u8]) -> bool {
        let target = match self.target {
            AllowTarget::Secret => secret,
            AllowTarget::Match => whole,
            AllowTarget::Line => line,
        };
        self.regexes.iter().any(|r| r.is_match(target))
    }

    fn stopword_hits(&self, secret: &[u8]) -> bool {
        if self.stopwords.is_empty() {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        self.stopwords
            .iter()
            .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    }

    /// Whether every match in a file at `path` is allowed, before any is
    /// found. Commits are never known here, so a commit criterion fails.
    fn allows_file(&self, path: &str) -> bool {
        match self.condition {
            AllowCondition::Or => self.path_hits(path),
            // Regexes and stopwords are decided per match.
            AllowCondition::And => {
                self.regexes.is_empty()
                    && self.stopwords.is_empty()
                    && self.commits.is_empty()
                    && !self.paths.is_empty()
                    && self.path_hits(path)
            }
        }
    }

    fn allows_match(&self, secret: &[u8], whole: &[u8], line: &[u8], path: Option<&str>) -> bool {
        match self.condition {
            AllowCondition::Or => {
                self.regex_hits(secret, whole, line) || self.stopword_hits(secret)
            }
            AllowCondition::And => {
                self.commits.is_empty()
                    && (self.paths.is_empty() || path.is_some_and(|p| self.path_hits(p)))
                    && (self.regexes.is_empty() || self.regex_hits(secret, whole, line))
                    && (self.stopwords.is_empty() || self.stopword_hits(secret))
            }
        }
    }
}

/// The allowlists of a rule, or the global ones: a match that any of them
/// allows is dropped.
#[derive(Debug, Clone, Default)]
pub struct Allowlists {
    pub lists: Vec<Allowlist>,
}

impl Allowlists {
    pub fn compile<'a>(specs: impl IntoIterator<Item = &'a AllowlistSpec>) -> Result<Allowlists> {
        let lists = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                Allowlist::compile(spec).with_context(|| format!("allowlist #{}", i + 1))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Allowlists { lists })
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// True when no match in a file at `path` can be reported.
    pub fn allows_path(&self, path: &str) -> bool {
        self.lists.iter().any(|a| a.allows_file(path))
    }

    /// True when the match should be dropped. `secret`, `whole` and `line`
    /// are the secret, the full regex match and the line(s) around it;
    /// `path` is needed by allowlists that combine paths with other
    /// criteria.
    pub fn allows(&self, secret: &[u8], whole: &[u8], line: &[u8], path: Option<&str>) -> bool {
        self.lists
            .iter()
            .any(|a| a.allows_match(secret, whole, line, path))
    }
}

/// All compiled rules plus the global allowlist.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub allowlist: Allowlists,
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

/// An empty byte class: tiny, and it matches no input.
const NEVER_MATCHING_PATTERN: &str = r"(?-u:[^\x00-\xFF])";

fn never_matching_regex() -> Result<Regex> {
    static NEVER: OnceLock<Option<Regex>> = OnceLock::new();
    NEVER
        .get_or_init(|| build_regex(NEVER_MATCHING_PATTERN).ok())
        .clone()
        .ok_or_else(|| anyhow!("cannot build the empty regex"))
}

pub fn compile_rule(spec: &RuleSpec, origin: &str) -> Result<Rule> {
    let ctx = || format!("rule {:?} in {origin}", spec.id);
    if spec.id.trim().is_empty() {
        bail!("a rule in {origin} has an empty id");
    }
    let path_only = spec.regex.is_empty();
    if path_only && spec.path.is_none() {
        bail!("{}: the rule has neither a regex nor a path", ctx());
    }
    let pattern = if path_only {
        NEVER_MATCHING_PATTERN
    } else {
        spec.regex.as_str()
    };
    let hir = parse_pattern(pattern).with_context(|| format!("{}: regex", ctx()))?;
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
    let allowlist = Allowlists::compile(spec.all_allowlists()).with_context(ctx)?;
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
    let description = if spec.description.is_empty() {
        spec.id.clone()
    } else {
        spec.description.clone()
    };
    // A path-only rule reads no content, so its keywords gate nothing.
    let keywords = if path_only {
        Vec::new()
    } else {
        spec.keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect()
    };
    Ok(Rule {
        id: spec.id.clone(),
        description,
        secret_group,
        first_matching_group: spec.first_matching_group
            && spec.secret_group.is_none()
            && groups >= 1,
        keywords,
        entropy: spec.entropy,
        path,
        path_only,
        allowlist,
        checksum,
        confidence: spec.confidence,
        skip_placeholder_filter: spec.skip_placeholder_filter,
        tags: spec.tags.clone(),
        max_len: if path_only {
            None
        } else {
            hir.properties().maximum_len()
        },
        origin: origin.to_string(),
        spec: spec.clone(),
        regex: LazyRegex::new(pattern)?,
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
            first_matching_group: false,
            keywords: vec!["ab".into()],
            entropy: None,
            path: None,
            allowlist: None,
            allowlists: vec![],
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
