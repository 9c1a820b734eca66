//! The matcher. It knows nothing of files, git or images: it takes bytes
//! (and, for path-scoped rules, a path) and returns raw matches.
//!
//! Pipeline per blob: one Aho-Corasick automaton over every rule's keywords
//! finds where rules can possibly match; each rule's regex then runs only
//! on windows around its keywords' occurrences (or on the whole blob when
//! its matches are unbounded); each match's secret group goes through the
//! checksum, entropy, allowlist, inline-suppression and placeholder checks.

/// The engine runs the validators rules name; they live with the rules.
pub use crate::rules::checksum;
pub mod entropy;
pub mod placeholder;

use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use anyhow::{Context, Result};
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::rules::{Rule, RuleSet};

/// Markers that suppress every finding on their line.
pub const INLINE_ALLOW_MARKERS: &[&[u8]] = &[
    b"leakscrub:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
];

/// The most a window may extend past its nominal end to reach a line end,
/// so that `$` and `\b` at the window's edge see the real next byte.
const WINDOW_EDGE_SLACK: usize = 256;

/// One accepted match, with offsets into the scanned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMatch {
    /// Index into the rule set.
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub secret_start: usize,
    pub secret_end: usize,
    pub entropy: f64,
}

/// Finds the rules that may match in a blob, from their keywords.
#[derive(Debug)]
pub struct KeywordPrefilter {
    automaton: AhoCorasick,
    /// For each automaton pattern, the rules that listed that keyword.
    rules_by_pattern: Vec<Vec<usize>>,
}

impl KeywordPrefilter {
    fn new(rules: &[Rule]) -> Result<Option<KeywordPrefilter>> {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_by_pattern: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for kw in &rule.keywords {
                match keywords.iter().position(|k| k == kw) {
                    Some(p) => rules_by_pattern[p].push(i),
                    None => {
                        keywords.push(kw.clone());
                        rules_by_pattern.push(vec![i]);
                    }
                }
            }
        }
        if keywords.is_empty() {
            return Ok(None);
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // The default for a few hundred patterns is an NFA, several
            // times slower per byte; the DFA stays small (a few MB at most).
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .context("building the keyword automaton")?;
        Ok(Some(KeywordPrefilter {
            automaton,
            rules_by_pattern,
        }))
    }
}

#[derive(Debug)]
pub struct Engine {
    rules: Arc<RuleSet>,
    prefilter: Option<KeywordPrefilter>,
    /// Rules with no keywords: they run on every blob.
    unkeyed: Vec<usize>,
    /// Rules that report a file by its path alone.
    path_only: Vec<usize>,
    /// Rules that validate a checksum: their formats let other rules'
    /// matches be recognised as look-alikes.
    checksum_rules: Vec<usize>,
    overlap: usize,
    /// Per rule, when known: every match holds a keyword starting at most
    /// this many bytes after the match's start.
    keyword_leads: Vec<Option<usize>>,
}

impl Engine {
    pub fn new(rules: Arc<RuleSet>) -> Result<Engine> {
        let prefilter = KeywordPrefilter::new(&rules.rules)?;
        let unkeyed = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.keywords.is_empty() && !r.path_only)
            .map(|(i, _)| i)
            .collect();
        let path_only = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.path_only)
            .map(|(i, _)| i)
            .collect();
        let checksum_rules = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.checksum.is_some() && !r.keywords.is_empty())
            .map(|(i, _)| i)
            .collect();
        let overlap = rules
            .rules
            .iter()
            .filter_map(|r| r.max_len)
            .filter(|&n| n <= crate::rules::compile::MAX_WINDOWED_LEN)
            .max()
            .unwrap_or(0)
            + WINDOW_EDGE_SLACK;
        let keyword_leads = rules
            .rules
            .iter()
            .map(|r| keyword_lead_of_pattern(&r.spec.regex, &r.keywords))
            .collect();
        Ok(Engine {
            rules,
            prefilter,
            unkeyed,
            path_only,
            checksum_rules,
            overlap,
            keyword_leads,
        })
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn rule_set(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules)
    }

    /// How many bytes consecutive chunks of one stream must share so that
    /// no bounded match is lost at a chunk boundary.
    pub fn chunk_overlap(&self) -> usize {
        self.overlap
    }

    /// Scans all of `hay`.
    pub fn scan(&self, hay: &[u8], path: Option<&str>) -> Vec<RawMatch> {
        let mut out = Vec::new();
        self.scan_into(hay, path, 0..hay.len(), &mut out);
        out
    }

    /// Scans `hay`, keeping only matches that start inside `keep`; the bytes
    /// outside `keep` are context shared with neighbouring chunks.
    pub fn scan_into(
        &self,
        hay: &[u8],
        path: Option<&str>,
        keep: Range<usize>,
        out: &mut Vec<RawMatch>,
    ) {
        let rules = &self.rules.rules;
        // (rule, window start, window end); whole-blob rules get one window.
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut whole = vec![false; 0];
        if let Some(pf) = &self.prefilter {
            for m in pf.automaton.find_overlapping_iter(hay) {
                for &r in &pf.rules_by_pattern[m.pattern().as_usize()] {
                    let rule = &rules[r];
                    if rule.windowed() {
                        // A match holds the keyword, so it starts at most
                        // `max_len` before the keyword's end and ends at most
                        // `max_len` after its start.
                        let reach = rule.max_len.unwrap_or(0);
                        let mut start = m.end().saturating_sub(reach);
                        // Most of a generic rule's reach is its value, after
                        // the keyword: start the window where a match holding
                        // this keyword can start at the earliest.
                        if let Some(lead) = self.keyword_leads[r] {
                            start = start.max(m.start().saturating_sub(lead));
                        }
                        windows.push((r, start, (m.start() + reach).min(hay.len())));
                    } else {
                        if whole.is_empty() {
                            whole = vec![false; rules.len()];
                        }
                        whole[r] = true;
                    }
                }
            }
        }
        for (r, w) in whole.iter().enumerate() {
            if *w {
                windows.push((r, 0, hay.len()));
            }
        }
        for &r in &self.unkeyed {
            windows.push((r, 0, hay.len()));
        }
        if windows.is_empty() {
            return;
        }
        windows.sort_unstable();

        let mut i = 0;
        while i < windows.len() {
            let r = windows[i].0;
            let rule = &rules[r];
            let mut j = i;
            while j < windows.len() && windows[j].0 == r {
                j += 1;
            }
            if self.rule_applies(rule, path) {
                self.run_rule(r, rule, hay, path, &windows[i..j], &keep, out);
            }
            i = j;
        }
    }

    /// The path-only rules that report a file at `path`: their path
    /// matches and no rule or global allowlist exempts the file.
    pub fn path_only_matches(&self, path: &str) -> Vec<usize> {
        if self.path_only.is_empty() || self.rules.allowlist.allows_path(path) {
            return Vec::new();
        }
        self.path_only
            .iter()
            .copied()
            .filter(|&r| self.rule_applies(&self.rules.rules[r], Some(path)))
            .collect()
    }

    fn rule_applies(&self, rule: &Rule, path: Option<&str>) -> bool {
        match (&rule.path, path) {
            (Some(re), Some(p)) => re.is_match(p.as_bytes()) && !rule.allowlist.allows_path(p),
            (Some(_), None) => false,
            (None, Some(p)) => !rule.allowlist.allows_path(p),
            (None, None) => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_rule(
        &self,
        r: usize,
        rule: &Rule,
        hay: &[u8],
        path: Option<&str>,
        windows: &[(usize, usize, usize)],
        keep: &Range<usize>,
        out: &mut Vec<RawMatch>,
    ) {
        // Windows are sorted by start; merge overlapping ones and never
        // rescan bytes a previous match already consumed.
        let mut consumed = 0usize;
        let mut k = 0;
        while k < windows.len() {
            let start = windows[k].1;
            let mut end = windows[k].2;
            k += 1;
            while k < windows.len() && windows[k].1 <= end {
                end = end.max(windows[k].2);
                k += 1;
            }
            let end = extend_to_line_end(hay, end);
            let mut at = start.max(consumed);
            while at <= end {
                let Some(caps) = rule.regex.captures_at(&hay[..end], at) else {
                    break;
                };
                let Some(whole) = caps.get(0) else { break };
                let secret = rule.secret_in(&caps).filter(|s| !s.is_empty());
                // A delimiter around the secret may have consumed a newline;
                // the match then belongs to the secret's own line(s) only,
                // and the next search starts at that newline so a secret at
                // the start of the next line keeps its leading delimiter.
                let own = match &secret {
                    Some(s) => clip_to_secret_lines(hay, whole.range(), s.range()),
                    None => whole.range(),
                };
                at = if own.end > whole.start() {
                    own.end
                } else {
                    whole.end() + 1
                };
                consumed = consumed.max(own.end);
                // Ownership across chunks is decided on the regex's own
                // start, which every chunk holding this match computes alike.
                if whole.start() < keep.start || whole.start() >= keep.end {
                    continue;
                }
                let Some(secret) = secret else {
                    continue;
                };
                if let Some(m) = self.accept(r, rule, hay, path, own, secret.range()) {
                    out.push(m);
                }
            }
        }
    }

    /// The per-match checks: checksum, entropy, allowlists, inline
    /// suppression, placeholders.
    fn accept(
        &self,
        r: usize,
        rule: &Rule,
        hay: &[u8],
        path: Option<&str>,
        whole: Range<usize>,
        secret_range: Range<usize>,
    ) -> Option<RawMatch> {
        let secret = &hay[secret_range.clone()];
        if let Some(ck) = rule.checksum {
            if !ck.verify(secret) {
                return None;
            }
        }
        let entropy = entropy::shannon(secret);
        if let Some(min) = rule.entropy {
            if entropy < min {
                return None;
            }
        }
        let line = line_around(hay, whole.clone());
        if INLINE_ALLOW_MARKERS
            .iter()
            .any(|m| memchr::memmem::find(line, m).is_some())
        {
            return None;
        }
        if rule
            .allowlist
            .allows(secret, &hay[whole.clone()], line, path)
        {
            return None;
        }
        let global = &self.rules.allowlist;
        if !global.is_empty() {
            if path.is_some_and(|p| global.allows_path(p)) {
                return None;
            }
            if global.allows(secret, &hay[whole.clone()], line, path) {
                return None;
            }
        }
        if !rule.skip_placeholder_filter
            && placeholder::is_placeholder_at(secret, rule.confidence, path)
        {
            return None;
        }
        if rule.checksum.is_none() && self.fails_a_checksum_format(secret) {
            return None;
        }
        Some(RawMatch {
            rule: r,
            start: whole.start,
            end: whole.end,
            secret_start: secret_range.start,
            secret_end: secret_range.end,
            entropy,
        })
    }
}

impl Engine {
    /// Whether `secret` holds a token of a format with a checksum (a rule
    /// that names one) whose checksum fails: a look-alike that the format's
    /// own rule rejected, so a generic rule must not report it either.
    fn fails_a_checksum_format(&self, secret: &[u8]) -> bool {
        if self.checksum_rules.is_empty() {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        self.checksum_rules.iter().any(|&c| {
            let rule = &self.rules.rules[c];
            let Some(checksum) = rule.checksum else {
                return false;
            };
            if !rule
                .keywords
                .iter()
                .any(|k| memchr::memmem::find(&lower, k.as_bytes()).is_some())
            {
                return false;
            }
            rule.regex
                .captures_iter(secret)
                .filter_map(|caps| caps.get(rule.secret_group))
                .any(|token| !checksum.verify(token.as_bytes()))
        })
    }
}

/// An upper bound on how far into any match of `pattern` an occurrence of
/// one of `keywords` (lower-cased) starts, when the pattern's shape proves
/// one: a literal holding a keyword, after parts of bounded length.
fn keyword_lead_of_pattern(pattern: &str, keywords: &[String]) -> Option<usize> {
    if keywords.is_empty() {
        return None;
    }
    // Parsed as `build_regex` compiles it, so lengths agree byte for byte.
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    keyword_lead(&hir, keywords)
}

fn keyword_lead(hir: &Hir, keywords: &[String]) -> Option<usize> {
    match hir.kind() {
        HirKind::Capture(c) => keyword_lead(&c.sub, keywords),
        HirKind::Repetition(rep) if rep.min >= 1 => keyword_lead(&rep.sub, keywords),
        HirKind::Alternation(branches) => branches
            .iter()
            .map(|b| keyword_lead(b, keywords))
            .try_fold(0usize, |most, lead| lead.map(|l| most.max(l))),
        HirKind::Concat(parts) => concat_keyword_lead(parts, keywords),
        _ => literal_strings(hir)?
            .iter()
            .map(|text| first_keyword_in(text, keywords))
            .try_fold(0usize, |most, lead| lead.map(|l| most.max(l))),
    }
}

/// Walks a sequence of parts, reading adjacent literal parts as the small
/// set of strings they can spell: `(?i)token` is five one-letter classes,
/// and the parser turns `password|pass` into `pass(?:word|)`.
fn concat_keyword_lead(parts: &[Hir], keywords: &[String]) -> Option<usize> {
    // Bytes every match may hold before the current run of literal parts.
    let mut before = 0usize;
    let mut runs: Vec<Vec<u8>> = vec![Vec::new()];
    for part in parts {
        if let Some(strings) = literal_strings(part) {
            if let Some(joined) = cross(&runs, &strings) {
                runs = joined;
                let leads: Option<Vec<usize>> =
                    runs.iter().map(|r| first_keyword_in(r, keywords)).collect();
                if let Some(leads) = leads {
                    return leads.into_iter().max().map(|l| before + l);
                }
                continue;
            }
        }
        before = before.checked_add(runs.iter().map(Vec::len).max().unwrap_or(0))?;
        runs = vec![Vec::new()];
        if let Some(lead) = keyword_lead(part, keywords) {
            return Some(before + lead);
        }
        before = before.checked_add(part.properties().maximum_len()?)?;
    }
    None
}

/// Bounds on the literal-string sets the analysis expands.
const MAX_LITERAL_STRINGS: usize = 64;
const MAX_LITERAL_LEN: usize = 64;

fn cross(prefixes: &[Vec<u8>], suffixes: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if prefixes.len() * suffixes.len() > MAX_LITERAL_STRINGS {
        return None;
    }
    let mut out = Vec::with_capacity(prefixes.len() * suffixes.len());
    for p in prefixes {
        for s in suffixes {
            if p.len() + s.len() > MAX_LITERAL_LEN {
                return None;
            }
            let mut joined = p.clone();
            joined.extend_from_slice(s);
            out.push(joined);
        }
    }
    Some(out)
}

/// Every lower-cased string a part can match, when they are few.
fn literal_strings(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty => Some(vec![Vec::new()]),
        HirKind::Literal(_) => folded_literal(hir).map(|l| vec![l]),
        HirKind::Class(Class::Bytes(class)) => {
            // A small class such as `[pe]` spells one string per byte.
            let mut bytes: Vec<u8> = class
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(9)
                .map(|b| b.to_ascii_lowercase())
                .collect();
            bytes.sort_unstable();
            bytes.dedup();
            (bytes.len() <= 4).then(|| bytes.into_iter().map(|b| vec![b]).collect())
        }
        HirKind::Class(_) => folded_literal(hir).map(|l| vec![l]),
        HirKind::Capture(c) => literal_strings(&c.sub),
        HirKind::Concat(parts) => parts.iter().try_fold(vec![Vec::new()], |acc, part| {
            cross(&acc, &literal_strings(part)?)
        }),
        HirKind::Alternation(branches) => {
            let mut out = Vec::new();
            for b in branches {
                out.extend(literal_strings(b)?);
                if out.len() > MAX_LITERAL_STRINGS {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Repetition(rep) if rep.max.is_some_and(|m| m <= 2) => {
            let sub = literal_strings(&rep.sub)?;
            let mut out = Vec::new();
            let mut power = vec![Vec::new()];
            for n in 0..=rep.max.unwrap_or(0) {
                if n >= rep.min {
                    out.extend(power.iter().cloned());
                }
                power = cross(&power, &sub)?;
            }
            (out.len() <= MAX_LITERAL_STRINGS).then_some(out)
        }
        _ => None,
    }
}

/// The lower-cased bytes a literal part always matches: a literal, or a
/// class of one byte or of one ASCII letter in both cases.
fn folded_literal(hir: &Hir) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(lit.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(class)) => {
            let mut bytes = class
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(3);
            let first = bytes.next()?;
            match (bytes.next(), bytes.next()) {
                (None, _) => Some(vec![first.to_ascii_lowercase()]),
                (Some(second), None)
                    if first.is_ascii_alphabetic() && first.eq_ignore_ascii_case(&second) =>
                {
                    Some(vec![first.to_ascii_lowercase()])
                }
                _ => None,
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut chars = class
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(3);
            let first = chars.next()?;
            let lower = u8::try_from(first).ok()?.to_ascii_lowercase();
            match (chars.next(), chars.next()) {
                (None, _) => Some(vec![lower]),
                (Some(second), None)
                    if first.is_ascii_alphabetic()
                        && second.is_ascii()
                        && first.eq_ignore_ascii_case(&second) =>
                {
                    Some(vec![lower])
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn first_keyword_in(text: &[u8], keywords: &[String]) -> Option<usize> {
    keywords
        .iter()
        .filter_map(|k| memchr::memmem::find(text, k.as_bytes()))
        .min()
}

fn extend_to_line_end(hay: &[u8], end: usize) -> usize {
    if end >= hay.len() {
        return hay.len();
    }
    let limit = (end + WINDOW_EDGE_SLACK).min(hay.len());
    match memchr::memchr(b'\n', &hay[end..limit]) {
        Some(i) => end + i,
        None => limit,
    }
}

/// `whole` without the parts of its leading and trailing delimiters that
/// lie on other lines than the secret: a `(?:[^A-Za-z0-9]|$)` after a
/// secret at a line's end matches the newline, and the match would then
/// run onto the next line (its text, its inline markers, its secrets).
pub fn clip_to_secret_lines(hay: &[u8], whole: Range<usize>, secret: Range<usize>) -> Range<usize> {
    let start = match memchr::memrchr(b'\n', &hay[whole.start..secret.start]) {
        Some(i) => whole.start + i + 1,
        None => whole.start,
    };
    let end = match memchr::memchr(b'\n', &hay[secret.end..whole.end]) {
        Some(i) => secret.end + i,
        None => whole.end,
    };
    start..end
}

/// The full line(s) a match spans, without the newline.
pub fn line_around(hay: &[u8], span: Range<usize>) -> &[u8] {
    let start = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[span.end..]).map_or(hay.len(), |i| span.end + i);
    &hay[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load::{build_rule_set, parse_rule_file};

    fn engine(toml: &str) -> Engine {
        let f = parse_rule_file(toml, "t.toml").unwrap();
        Engine::new(Arc::new(build_rule_set(&[("t".into(), f)], &[]).unwrap())).unwrap()
    }

    const TOKEN_RULE: &str = r#"
[[rules]]
id = "tok"
description = "tok"
regex = '''\b(tk_[a-z0-9]{12})\b'''
keywords = ["tk_"]
confidence = "high"
"#;

    #[test]
    fn finds_windowed_match_and_secret_group() {
        let e = engine(TOKEN_RULE);
        let hay = b"first line\nlet t = \"tk_abc123def456\";\n";
        let m = e.scan(hay, None);
        assert_eq!(m.len(), 1);
        assert_eq!(&hay[m[0].secret_start..m[0].secret_end], b"tk_abc123def456");
    }

    #[test]
    fn keyword_absent_means_no_regex_run() {
        let e = engine(TOKEN_RULE);
        assert!(e.scan(b"nothing to see here abc123def456", None).is_empty());
    }

    #[test]
    fn inline_allow_suppresses() {
        let e = engine(TOKEN_RULE);
        assert!(e
            .scan(b"t = tk_abc123def456 # leakscrub:allow\n", None)
            .is_empty());
        assert!(e
            .scan(b"t = tk_abc123def456 # gitleaks:allow\n", None)
            .is_empty());
    }

    #[test]
    fn keep_range_drops_matches_starting_outside() {
        let e = engine(TOKEN_RULE);
        let hay = b"tk_abc123def456 tk_zzz999yyy888";
        let mut out = Vec::new();
        e.scan_into(hay, None, 5..hay.len(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].start, 16);
    }

    #[test]
    fn many_close_keywords_yield_each_match_once() {
        let e = engine(TOKEN_RULE);
        let hay = b"tk_aaaaaaaaaaa1 tk_bbbbbbbbbbb2 tk_ccccccccccc3 tk_ddddddddddd4";
        assert_eq!(e.scan(hay, None).len(), 4);
    }

    fn lead(pattern: &str, keywords: &[&str]) -> Option<usize> {
        let kws: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        keyword_lead_of_pattern(pattern, &kws)
    }

    #[test]
    fn keyword_lead_follows_the_pattern_shape() {
        assert_eq!(lead(r"\b(tk_[a-z0-9]{12})\b", &["tk_"]), Some(0));
        assert_eq!(
            lead(r"(?i)[a-z_]{0,20}token\s*=\s*(\w{16,64})", &["token"]),
            Some(20)
        );
        assert_eq!(
            lead(r"(?i)\b(?:password|pwd|pass)\s*=(\S{8,})", &["pass", "pwd"]),
            Some(0)
        );
        assert_eq!(
            lead(
                r"\bhttps?://[a-z]{1,9}:([^@\s]{3,9})@",
                &["http://", "https://"]
            ),
            Some(0)
        );
        assert_eq!(
            lead(
                r"xo[xy][pe]-[0-9]{10}",
                &["xoxp-", "xoxe-", "xoyp-", "xoye-"]
            ),
            Some(0)
        );
        // A branch without a keyword proves nothing.
        assert_eq!(lead(r"(?:password|secret)=(\w+)", &["password"]), None);
        // Nor does an unbounded part before the keyword.
        assert_eq!(lead(r"[a-z]+token=(\w+)", &["token"]), None);
        assert_eq!(lead(r"sk-[0-9]{4}", &[]), None);
    }

    #[test]
    fn window_reaches_a_long_value_after_the_keyword() {
        let e = engine(
            r#"
[[rules]]
id = "g"
description = "g"
regex = '''(?i)\b[a-z_]{0,20}token[a-z_]{0,20}\s{0,3}=\s{0,3}"([A-Za-z0-9]{16,200})"'''
keywords = ["token"]
"#,
        );
        let value = "Q7w".repeat(60);
        let hay = format!("x = 1\nmy_Api_TOKEN_value = \"{value}\"\ny = 2\n");
        let m = e.scan(hay.as_bytes(), None);
        assert_eq!(m.len(), 1);
        let secret = &hay.as_bytes()[m[0].secret_start..m[0].secret_end];
        assert_eq!(secret, value.as_bytes());
        assert_eq!(&hay[m[0].start..m[0].start + 6], "my_Api");
    }

    #[test]
    fn other_rules_drop_lookalikes_of_a_checksummed_format() {
        let e = engine(
            r#"
[[rules]]
id = "gh"
description = "gh"
regex = '''\b(ghp_[0-9A-Za-z]{36})\b'''
keywords = ["ghp_"]
checksum = "github-crc32"
confidence = "high"

[[rules]]
id = "generic"
description = "generic"
regex = '''token=([0-9A-Za-z_]{20,60})'''
keywords = ["token="]
confidence = "low"
"#,
        );
        let good = "token=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";
        let bad = "token=ghp_R4nd0mB0dyW1thThirtyCh4rs7xQzTAAAAAA";
        let other = "token=Zq8rT2mX9vL4Kp7Wn3Bd6Hs1";
        let rules_of = |hay: &str| -> Vec<usize> {
            let mut r: Vec<usize> = e
                .scan(hay.as_bytes(), None)
                .iter()
                .map(|m| m.rule)
                .collect();
            r.sort();
            r
        };
        assert_eq!(rules_of(good), vec![0, 1]);
        assert!(rules_of(bad).is_empty());
        assert_eq!(rules_of(other), vec![1]);
    }

    /// Leading and trailing delimiters that can consume a newline, as
    /// users' and gitleaks' rules often have.
    const DELIMITED_RULE: &str = r#"
[[rules]]
id = "delim"
description = "delim"
regex = '''(?:^|[^0-9A-Za-z])(dl_[0-9A-Za-z]{16})(?:[^0-9A-Za-z]|$)'''
keywords = ["dl_"]
"#;

    #[test]
    fn delimiters_never_carry_a_match_onto_another_line() {
        let e = engine(DELIMITED_RULE);
        let hay = b"a=dl_Q7wE9rT2yU4iO6pA\ndl_Z3xC5vB7nM9kL1jH\nnext line\n";
        let m = e.scan(hay, None);
        let texts: Vec<&[u8]> = m.iter().map(|m| &hay[m.start..m.end]).collect();
        // The second secret starts its line: it is found although the
        // first match's trailing delimiter could have taken the newline.
        assert_eq!(
            texts,
            vec![&b"=dl_Q7wE9rT2yU4iO6pA"[..], &b"dl_Z3xC5vB7nM9kL1jH"[..]]
        );
    }

    #[test]
    fn a_marker_on_the_next_line_does_not_suppress_a_match() {
        let e = engine(DELIMITED_RULE);
        let hay = b"t dl_Q7wE9rT2yU4iO6pA\nu = 1 # leakscrub:allow\n";
        assert_eq!(e.scan(hay, None).len(), 1);
        let hay = b"t dl_Q7wE9rT2yU4iO6pA # leakscrub:allow\nu = 1\n";
        assert!(e.scan(hay, None).is_empty());
    }

    #[test]
    fn no_default_rule_ends_its_match_on_the_next_line() {
        let set = crate::rules::load_rule_set(&crate::rules::LoadOptions {
            config: None,
            no_defaults: false,
        })
        .unwrap();
        let mut checked = 0;
        for rule in &set.rules {
            // A multi-line example's match may legitimately go on past
            // its secret's line (a key file's later fields); a one-line
            // example's match may only if a delimiter took the newline.
            for example in rule.spec.examples.iter().filter(|e| !e.contains('\n')) {
                let hay = format!("{example}\nNEXT_LINE=1\n");
                let Some(caps) = rule.regex.captures(hay.as_bytes()) else {
                    continue;
                };
                let (Some(whole), Some(secret)) = (caps.get(0), caps.get(rule.secret_group)) else {
                    continue;
                };
                let after = &hay.as_bytes()[secret.end()..whole.end()];
                assert!(
                    !after.contains(&b'\n'),
                    "rule {}: its trailing delimiter takes the newline",
                    rule.id
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} examples checked");
    }

    #[test]
    fn entropy_and_path_gates() {
        let e = engine(
            r#"
[[rules]]
id = "p"
description = "p"
regex = '''pw=([A-Za-z0-9]{8,32})'''
keywords = ["pw="]
entropy = 3.0
path = '''\.env$'''
"#,
        );
        assert_eq!(e.scan(b"pw=Zq8rT2mX9vL4", Some("a/.env")).len(), 1);
        assert!(e.scan(b"pw=Zq8rT2mX9vL4", Some("a/main.rs")).is_empty());
        assert!(e.scan(b"pw=aaaaaaaabbbb", Some("a/.env")).is_empty());
    }
}
