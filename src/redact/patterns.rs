//! Rule-based detection in a stream: each rule's keywords become anchors
//! in the redactor's automaton; how far past an anchor a match can reach,
//! and whether it can span lines, decide how long the stream is held.

use regex_syntax::hir::{Class, Hir, HirKind};

use super::automaton::{AnchorInfo, ByteSet, Pattern};
use crate::rules::{Confidence, RuleSet};

/// Reach assumed for single-line rules with unbounded matches: such a
/// match is decided at its line's end, or after this many bytes.
pub const LINE_REACH_CAP: usize = 4096;
/// Reach assumed for multi-line rules (PEM blocks) with unbounded or very
/// long matches. A longer match is not masked past this cap.
pub const MULTI_LINE_REACH_CAP: usize = 16 * 1024;

/// Which rules the redactor applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSelection {
    High,
    All,
    None,
}

/// Keeps the rules the selection asks for and that the stream can anchor
/// (rules without keywords cannot be streamed and are left out).
pub fn select_rules(set: &RuleSet, selection: RuleSelection) -> RuleSet {
    let rules = set
        .rules
        .iter()
        .filter(|r| match selection {
            RuleSelection::High => r.confidence == Confidence::High,
            RuleSelection::All => true,
            RuleSelection::None => false,
        })
        .filter(|r| !r.keywords.is_empty())
        .cloned()
        .collect();
    RuleSet {
        rules,
        allowlist: set.allowlist.clone(),
    }
}

/// The anchor patterns of every rule in `set`.
pub fn anchor_patterns(set: &RuleSet) -> Vec<Pattern> {
    let mut out = Vec::new();
    for rule in &set.rules {
        let multi_line = can_match_newline(&rule.spec.regex);
        let cap = if multi_line {
            MULTI_LINE_REACH_CAP
        } else {
            LINE_REACH_CAP
        };
        let reach = rule.max_len.unwrap_or(cap).min(cap);
        let alphabet = match_alphabet(&rule.spec.regex);
        for kw in &rule.keywords {
            out.push(Pattern::Anchor {
                bytes: kw.as_bytes().to_vec(),
                info: AnchorInfo {
                    keyword_len: kw.len() as u32,
                    reach: reach.max(kw.len()) as u32,
                    multi_line,
                    alphabet,
                    command: false,
                },
            });
        }
    }
    out
}

/// Whether some match of `pattern` can contain a newline. Unparsable
/// patterns are assumed to (the conservative answer: hold longer).
pub fn can_match_newline(pattern: &str) -> bool {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
    else {
        return true;
    };
    hir_can_match_newline(&hir)
}

/// Every byte some match of `pattern` can contain (parsed as rules are
/// compiled: bytes, ASCII classes unless `(?u)`). Any non-ASCII character
/// in a class stands for every byte from 0x80 up. Unparsable patterns get
/// every byte (the conservative answer: a match is never ruled out).
pub fn match_alphabet(pattern: &str) -> ByteSet {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .build()
        .parse(pattern)
    else {
        return ByteSet::full();
    };
    let mut set = ByteSet::default();
    add_alphabet(&hir, &mut set);
    set
}

fn add_alphabet(hir: &Hir, set: &mut ByteSet) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => lit.0.iter().for_each(|&b| set.insert(b)),
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.ranges() {
                let (from, to) = (u32::from(r.start()), u32::from(r.end()));
                if from < 0x80 {
                    set.insert_range(from as u8, to.min(0x7f) as u8);
                }
                if to >= 0x80 {
                    set.insert_range(0x80, 0xff);
                }
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                set.insert_range(r.start(), r.end());
            }
        }
        HirKind::Repetition(rep) => add_alphabet(&rep.sub, set),
        HirKind::Capture(cap) => add_alphabet(&cap.sub, set),
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            v.iter().for_each(|h| add_alphabet(h, set));
        }
    }
}

fn hir_can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(lit) => lit.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Repetition(rep) => hir_can_match_newline(&rep.sub),
        HirKind::Capture(cap) => hir_can_match_newline(&cap.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(hir_can_match_newline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_detection() {
        assert!(!can_match_newline(r"\b(ghp_[0-9A-Za-z]{36})\b"));
        assert!(!can_match_newline(r"key=[^\s]+"));
        assert!(can_match_newline(r"-----BEGIN[\s\S]*?-----END"));
        assert!(can_match_newline(r"(?s)BEGIN.*END"));
        assert!(can_match_newline(r#"pw="[^"]+""#));
        assert!(!can_match_newline(r"a.b"));
    }

    #[test]
    fn alphabets() {
        let pem = match_alphabet(r"-----BEGIN[A-Za-z0-9+/=\s-]{64,}-----END");
        for b in b"-BEGINEND azAZ09+/=\n\t" {
            assert!(pem.contains(*b), "{}", *b as char);
        }
        for b in b"().;!\"\x80" {
            assert!(!pem.contains(*b), "{}", *b as char);
        }
        let json = match_alphabet(r#""type":[^}]{0,512}?"key""#);
        assert!(json.contains(b'\n') && json.contains(0xc3) && !json.contains(b'}'));
        let insensitive = match_alphabet(r"(?i)key=x");
        assert!(insensitive.contains(b'K') && insensitive.contains(b'k'));
        assert!(!insensitive.contains(b'q'));
        assert_eq!(match_alphabet(r"(unclosed"), ByteSet::full());
        let unicode = match_alphabet(r"(?u:\w+)");
        assert!(unicode.contains(0xe9) && unicode.contains(b'_') && !unicode.contains(b' '));
    }
}
