//! RE2 (Go `regexp`) syntax, as gitleaks configs are written, rewritten in
//! the syntax of Rust's `regex` crate with the same meaning.
//!
//! The two dialects agree on almost everything; where they differ, a
//! pattern is either rejected by Rust or, worse, accepted with another
//! meaning. The differences handled here:
//!
//! - `{` that does not start an RE2 repetition (`{2}`, `{2,}`, `{2,5}`;
//!   not `{,5}` nor `{02}`) is a literal in RE2 (`${VAR}`, `{{ secret }}`),
//!   an error in Rust.
//! - Inside a class, `[` is a literal in RE2 but opens a nested class in
//!   Rust, and `&&`, `--`, `~~` are literals in RE2 but set operations in
//!   Rust.
//! - `\<` and `\>` are the characters `<` and `>` in RE2, word boundaries
//!   in Rust.
//! - `\Q...\E` quoting, octal escapes (`\012`) and `\C` exist in RE2 only.
//! - `\pL`, `\p{Greek}` need Unicode mode, which leakscrub's byte regexes
//!   leave off elsewhere; they are wrapped in `(?u:...)`.
//! - Flags `x`, `u` and `R` are Rust-only; RE2 rejects them, and so does
//!   the translation, rather than let `(?x)` silently drop whitespace.
//!
//! `\z`, `\A`, `\b`, Perl classes, POSIX classes, `(?P<name>...)`,
//! `(?i)`, `(?s)`, `(?m)`, `(?U)` and counted repetitions mean the same in
//! both and pass through. Look-around and back-references exist in
//! neither. Errors carry the 1-based character position in the original
//! pattern.

use std::fmt;

/// Why a pattern cannot be used, and where in the original pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Re2Error {
    /// 1-based character position in the RE2 pattern.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for Re2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

impl std::error::Error for Re2Error {}

/// Rewrites an RE2 pattern in Rust syntax and checks that Rust accepts it
/// as leakscrub compiles patterns.
pub fn translate(pattern: &str) -> Result<String, Re2Error> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        out: String::with_capacity(pattern.len() + 8),
        origin: Vec::with_capacity(pattern.len() + 8),
    };
    t.run()?;
    if let Err(e) = check_rust_syntax(&t.out) {
        let (offset, message) = e;
        let at = t.origin.get(offset).copied().unwrap_or(t.chars.len());
        return Err(Re2Error {
            position: at + 1,
            message,
        });
    }
    Ok(t.out)
}

/// Parses as `compile::build_regex` compiles, returning the byte offset of
/// the error in the translated pattern.
fn check_rust_syntax(pattern: &str) -> Result<(), (usize, String)> {
    let parsed = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern);
    match parsed {
        Ok(_) => Ok(()),
        Err(regex_syntax::Error::Parse(e)) => Err((e.span().start.offset, e.kind().to_string())),
        Err(regex_syntax::Error::Translate(e)) => {
            Err((e.span().start.offset, e.kind().to_string()))
        }
        Err(e) => Err((0, e.to_string())),
    }
}

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// One member of a bracketed class, as RE2 reads it.
enum ClassItem {
    Char(char),
    Range(char, char),
    /// Passed through as written: `\d`, `\pL`, `[:alpha:]`.
    Verbatim(String),
}

struct Translator {
    chars: Vec<char>,
    out: String,
    /// For each byte of `out`, the index in `chars` it was produced from.
    origin: Vec<usize>,
}

impl Translator {
    fn emit(&mut self, text: &str, from: usize) {
        self.out.push_str(text);
        self.origin.extend(std::iter::repeat_n(from, text.len()));
    }

    fn emit_char(&mut self, c: char, from: usize) {
        let mut buf = [0u8; 4];
        self.emit(c.encode_utf8(&mut buf), from);
    }

    fn err(&self, at: usize, message: impl Into<String>) -> Re2Error {
        Re2Error {
            position: at + 1,
            message: message.into(),
        }
    }

    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn run(&mut self) -> Result<(), Re2Error> {
        let mut i = 0;
        while i < self.chars.len() {
            let c = self.chars[i];
            i = match c {
                '\\' => self.escape(i)?,
                '[' => self.class(i)?,
                '{' => match repetition_len(&self.chars[i..]) {
                    Some(len) => {
                        let text: String = self.chars[i..i + len].iter().collect();
                        self.emit(&text, i);
                        i + len
                    }
                    None => {
                        self.emit("\\{", i);
                        i + 1
                    }
                },
                '}' | ']' => {
                    self.emit("\\", i);
                    self.emit_char(c, i);
                    i + 1
                }
                '(' if self.at(i + 1) == Some('?') => self.group_opening(i)?,
                _ => {
                    self.emit_char(c, i);
                    i + 1
                }
            };
        }
        Ok(())
    }

    /// `(?` then a name (`P<name>`, `<name>`) or flags: only RE2's flags
    /// are accepted, and look-around is named as such.
    fn group_opening(&mut self, i: usize) -> Result<usize, Re2Error> {
        match (self.at(i + 2), self.at(i + 3)) {
            (Some('=' | '!'), _) | (Some('<'), Some('=' | '!')) => {
                return Err(self.err(i, "look-around is not supported (not in RE2 either)"));
            }
            (Some('P'), Some('<')) | (Some('<'), _) => {
                // A group name: copied as written; Rust checks it.
                self.emit("(?", i);
                return Ok(i + 2);
            }
            _ => {}
        }
        let mut j = i + 2;
        while let Some(c) = self.at(j) {
            match c {
                'i' | 'm' | 's' | 'U' | '-' => j += 1,
                ')' | ':' => break,
                other => {
                    return Err(self.err(j, format!("flag {other:?} is not an RE2 flag")));
                }
            }
        }
        let text: String = self.chars[i..j].iter().collect();
        self.emit(&text, i);
        Ok(j)
    }

    /// An escape outside a class, starting at the backslash `i`.
    fn escape(&mut self, i: usize) -> Result<usize, Re2Error> {
        let Some(c) = self.at(i + 1) else {
            return Err(self.err(i, "trailing backslash"));
        };
        match c {
            'Q' => {
                let mut j = i + 2;
                while j < self.chars.len() {
                    if self.chars[j] == '\\' && self.at(j + 1) == Some('E') {
                        return Ok(j + 2);
                    }
                    let quoted = regex_syntax::escape(&self.chars[j].to_string());
                    self.emit(&quoted, j);
                    j += 1;
                }
                Ok(j)
            }
            'A' | 'z' | 'b' | 'B' | 'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'a' | 'f' | 'n' | 'r'
            | 't' | 'v' => {
                self.emit(&format!("\\{c}"), i);
                Ok(i + 2)
            }
            'C' => {
                self.emit("(?s-u:.)", i);
                Ok(i + 2)
            }
            'p' | 'P' => {
                let end = self.unicode_class_end(i)?;
                let text: String = self.chars[i..end].iter().collect();
                self.emit(&format!("(?u:{text})"), i);
                Ok(end)
            }
            _ => {
                let (ch, end) = self.escaped_char(i)?;
                let literal = regex_syntax::escape(&ch.to_string());
                self.emit(&literal, i);
                Ok(end)
            }
        }
    }

    /// The end of `\pL` or `\p{Name}` starting at the backslash `i`.
    fn unicode_class_end(&self, i: usize) -> Result<usize, Re2Error> {
        match self.at(i + 2) {
            Some('{') => {
                let close = self.chars[i + 3..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| self.err(i, "unclosed \\p{...}"))?;
                Ok(i + 3 + close + 1)
            }
            Some(_) => Ok(i + 3),
            None => Err(self.err(i, "incomplete \\p escape")),
        }
    }

    /// An escape that stands for one character (octal, hex, control,
    /// escaped punctuation), starting at the backslash `i`: the character
    /// and the index after the escape.
    fn escaped_char(&self, i: usize) -> Result<(char, usize), Re2Error> {
        let Some(c) = self.at(i + 1) else {
            return Err(self.err(i, "trailing backslash"));
        };
        let simple = |ch: char| Ok((ch, i + 2));
        match c {
            'a' => simple('\x07'),
            'f' => simple('\x0C'),
            'n' => simple('\n'),
            'r' => simple('\r'),
            't' => simple('\t'),
            'v' => simple('\x0B'),
            '0'..='7' => {
                // RE2: `\0` starts an octal escape; `\1`..`\7` only when a
                // second octal digit follows (alone it would be a
                // back-reference). Up to three digits in all.
                let next_is_octal = matches!(self.at(i + 2), Some('0'..='7'));
                if c != '0' && !next_is_octal {
                    return Err(
                        self.err(i, "back-references are not supported (not in RE2 either)")
                    );
                }
                let mut value = 0u32;
                let mut j = i + 1;
                while j < i + 4 {
                    match self.at(j) {
                        Some(d @ '0'..='7') => {
                            value = value * 8 + (d as u32 - '0' as u32);
                            j += 1;
                        }
                        _ => break,
                    }
                }
                let ch =
                    char::from_u32(value).ok_or_else(|| self.err(i, "invalid octal escape"))?;
                Ok((ch, j))
            }
            '8' | '9' => Err(self.err(i, "back-references are not supported (not in RE2 either)")),
            'x' => self.hex_escape(i),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => simple(c),
            other => Err(self.err(i, format!("invalid escape \\{other}"))),
        }
    }

    fn hex_escape(&self, i: usize) -> Result<(char, usize), Re2Error> {
        let (digits, end) = if self.at(i + 2) == Some('{') {
            let close = self.chars[i + 3..]
                .iter()
                .position(|&c| c == '}')
                .ok_or_else(|| self.err(i, "unclosed \\x{...}"))?;
            (
                self.chars[i + 3..i + 3 + close].iter().collect::<String>(),
                i + 3 + close + 1,
            )
        } else {
            let end = (i + 4).min(self.chars.len());
            (self.chars[i + 2..end].iter().collect::<String>(), i + 4)
        };
        let bad = || self.err(i, "invalid hex escape");
        if digits.is_empty() || (self.at(i + 2) != Some('{') && digits.chars().count() != 2) {
            return Err(bad());
        }
        let value = u32::from_str_radix(&digits, 16).map_err(|_| bad())?;
        let ch = char::from_u32(value).ok_or_else(bad)?;
        Ok((ch, end))
    }

    /// A bracketed class starting at `[` (index `i`), read as RE2 reads it
    /// and written out with every literal escaped for Rust.
    fn class(&mut self, i: usize) -> Result<usize, Re2Error> {
        let mut j = i + 1;
        let negated = self.at(j) == Some('^');
        if negated {
            j += 1;
        }
        let mut items: Vec<(ClassItem, usize)> = Vec::new();
        let mut needs_unicode = false;
        let mut first = true;
        loop {
            let Some(c) = self.at(j) else {
                return Err(self.err(i, "missing closing ]"));
            };
            if c == ']' && !first {
                j += 1;
                break;
            }
            first = false;
            let start = j;
            if c == '[' && self.at(j + 1) == Some(':') {
                if let Some(len) = self.posix_class_len(j)? {
                    let text: String = self.chars[j..j + len].iter().collect();
                    items.push((ClassItem::Verbatim(text), start));
                    j += len;
                    continue;
                }
            }
            let lo = if c == '\\' {
                match self.at(j + 1) {
                    Some(e @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                        items.push((ClassItem::Verbatim(format!("\\{e}")), start));
                        j += 2;
                        continue;
                    }
                    Some('p' | 'P') => {
                        let end = self.unicode_class_end(j)?;
                        let text: String = self.chars[j..end].iter().collect();
                        items.push((ClassItem::Verbatim(text), start));
                        needs_unicode = true;
                        j = end;
                        continue;
                    }
                    _ => {
                        let (ch, end) = self.escaped_char(j)?;
                        j = end;
                        ch
                    }
                }
            } else {
                j += 1;
                c
            };
            // A range needs a `-` that is not the class's last character.
            if self.at(j) == Some('-') && self.at(j + 1).is_some_and(|n| n != ']') {
                let hi_at = j + 1;
                let hi = if self.at(hi_at) == Some('\\') {
                    if matches!(
                        self.at(hi_at + 1),
                        Some('d' | 'D' | 's' | 'S' | 'w' | 'W' | 'p' | 'P')
                    ) {
                        return Err(self.err(start, "invalid character class range"));
                    }
                    let (ch, end) = self.escaped_char(hi_at)?;
                    j = end;
                    ch
                } else {
                    j = hi_at + 1;
                    self.chars[hi_at]
                };
                if hi < lo {
                    return Err(self.err(start, "invalid character class range"));
                }
                needs_unicode |= !hi.is_ascii() || !lo.is_ascii();
                items.push((ClassItem::Range(lo, hi), start));
            } else {
                needs_unicode |= !lo.is_ascii();
                items.push((ClassItem::Char(lo), start));
            }
        }
        if needs_unicode {
            self.emit("(?u:", i);
        }
        self.emit(if negated { "[^" } else { "[" }, i);
        for (item, at) in items {
            match item {
                ClassItem::Char(c) => self.emit(&class_literal(c), at),
                ClassItem::Range(lo, hi) => {
                    let text = format!("{}-{}", class_literal(lo), class_literal(hi));
                    self.emit(&text, at);
                }
                ClassItem::Verbatim(text) => self.emit(&text, at),
            }
        }
        self.emit("]", j - 1);
        if needs_unicode {
            self.emit(")", j - 1);
        }
        Ok(j)
    }

    /// The length of `[:name:]` at `j`, if it is one; an unknown name
    /// between `[:` and `:]` is an error, as in RE2.
    fn posix_class_len(&self, j: usize) -> Result<Option<usize>, Re2Error> {
        let rest = &self.chars[j + 2..];
        let Some(close) = rest.windows(2).position(|w| w == [':', ']']) else {
            return Ok(None);
        };
        let name: String = rest[..close].iter().collect();
        let bare = name.strip_prefix('^').unwrap_or(&name);
        if !POSIX_CLASSES.contains(&bare) {
            return Err(self.err(j, format!("unknown POSIX class [:{name}:]")));
        }
        Ok(Some(2 + close + 2))
    }
}

/// A class member literal, escaped where Rust's class syntax gives the
/// character a meaning RE2 does not.
fn class_literal(c: char) -> String {
    match c {
        '\\' | '[' | ']' | '^' | '-' | '&' | '~' => format!("\\{c}"),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        c if c.is_ascii_control() => format!("\\x{:02X}", c as u32),
        c => c.to_string(),
    }
}

/// The length of an RE2 counted repetition at the start of `s` (`{n}`,
/// `{n,}`, `{n,m}`: decimal without leading zeros), or `None` when RE2
/// reads the `{` as a literal.
fn repetition_len(s: &[char]) -> Option<usize> {
    fn number(s: &[char], from: usize) -> Option<usize> {
        let digits = s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && s[from] == '0') {
            return None;
        }
        Some(from + digits)
    }
    let mut at = number(s, 1)?;
    if s.get(at) == Some(&',') {
        at += 1;
        if s.get(at) != Some(&'}') {
            at = number(s, at)?;
        }
    }
    (s.get(at) == Some(&'}')).then_some(at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile::build_regex;

    fn tr(p: &str) -> String {
        translate(p).unwrap()
    }

    fn matches(p: &str, hay: &str) -> bool {
        build_regex(&tr(p)).unwrap().is_match(hay.as_bytes())
    }

    #[test]
    fn brace_that_is_not_a_repetition_is_a_literal() {
        // Spring placeholders, Helm templates, Logstash references and ES
        // module exports, as allowlists write them.
        assert!(matches(
            r"^\${[a-z]+(?:\.[a-z]+)*}$",
            "${spring.datasource.password}"
        ));
        assert!(matches(
            r"{{-?\s*\.Values\.[A-Za-z.]+\s*-?}}",
            "password: {{ .Values.db.password }}"
        ));
        assert!(matches(r"^%{[A-Z_]+}$", "%{LOGSTASH_PASS}"));
        assert!(matches(
            r"export\s+{\s*\w+(?:,\s*\w+)*\s*}",
            "export { apiKey, apiSecret }"
        ));
        assert!(matches(r"^{\d}$", "{7}"));
        // Repetitions stay repetitions.
        assert!(matches(r"^a{2,3}b{2}c{1,}$", "aabbccc"));
        assert!(!matches(r"^a{2}$", "a{2}"));
    }

    #[test]
    fn brace_forms_that_are_not_re2_repetitions_are_literals() {
        // Forms Rust rejects that RE2 reads as literals.
        assert!(matches(r"^x{,3}$", "x{,3}"));
        assert!(!matches(r"^x{,3}$", "xx"));
        // Leading zeros: a literal in RE2.
        assert!(matches(r"^x{02}$", "x{02}"));
        assert!(matches(r"^x{ 2}$", "x{ 2}"));
    }

    #[test]
    fn end_of_text_and_begin_of_text() {
        assert!(matches(r"\Atoken=\w+\z", "token=abc"));
        assert!(!matches(r"token=\w+\z", "token=abc\n"));
    }

    #[test]
    fn word_boundary_escapes_of_rust_are_literals_in_re2() {
        assert!(matches(r"^\<key\>$", "<key>"));
        assert!(!matches(r"\<key\>", "key"));
    }

    #[test]
    fn class_syntax_rust_would_nest_or_combine() {
        // `[` inside a class is a literal in RE2.
        assert!(matches(r"^[[a]+$", "[a["));
        // `&&`, `--` and `~~` are literals in RE2, set operations in Rust.
        assert!(matches(r"^[a&&b]+$", "a&b"));
        assert!(matches(r"^[+--]+$", "+,-"));
        assert!(matches(r"^[~~x]+$", "~x"));
        // `-` after a class escape is a literal in RE2.
        assert!(matches(r"^[\w-.]+$", "a-b.c"));
        // POSIX classes and a leading `]` keep their meaning.
        assert!(matches(r"^[[:alpha:]]+$", "abc"));
        assert!(!matches(r"^[[:alpha:]]+$", "ab1"));
        assert!(matches(r"^[]a]+$", "]a"));
        assert!(matches(r"^[^]a]+$", "bc"));
    }

    #[test]
    fn quoting_octal_and_any_byte() {
        assert!(matches(r"^\Qa.b{1}\E$", "a.b{1}"));
        assert!(!matches(r"^\Qa.b\E$", "axb"));
        assert!(matches(r"^a\011b$", "a\tb"));
        assert!(matches(r"^a\0b$", "a\0b"));
        assert!(matches(r"^a\Cb$", "a\nb"));
    }

    #[test]
    fn unicode_classes_get_unicode_mode() {
        assert!(matches(r"^\p{Greek}+$", "αβγ"));
        assert!(matches(r"^[\p{L}0-9]+$", "é9"));
        assert!(matches(r"^[é-ü]+$", "ö"));
    }

    #[test]
    fn escaped_punctuation_is_a_literal() {
        assert!(matches(r#"^\"\'\/\@\%\:\=\ \_$"#, r#""'/@%:= _"#));
    }

    #[test]
    fn untranslatable_constructs_name_their_position() {
        let err = translate(r"ab(?=c)").unwrap_err();
        assert_eq!(err.position, 3);
        assert!(err.message.contains("look-around"), "{err}");
        let err = translate(r"(a)\1").unwrap_err();
        assert_eq!(err.position, 4);
        let err = translate(r"(?x) a b").unwrap_err();
        assert_eq!(err.position, 3);
        let err = translate(r"abc[z-a]").unwrap_err();
        assert_eq!(err.position, 5);
        let err = translate(r"[[:alfa:]]").unwrap_err();
        assert_eq!(err.position, 2);
        // Rust's own error, mapped back to the original position.
        let err = translate(r"x{2}{{(").unwrap_err();
        assert_eq!(err.position, 7, "{err}");
        let err = translate(r"ab\").unwrap_err();
        assert_eq!(err.position, 3);
    }

    #[test]
    fn already_compatible_patterns_keep_their_meaning() {
        for (p, yes, no) in [
            (
                r"(?i)\b(ghp_[0-9a-z]{36})\b",
                "GHP_abcdefabcdefabcdefabcdefabcdefabcdef",
                "ghp_short",
            ),
            (r"(?P<v>[a-f0-9]{8})-x", "deadbeef-x", "deadbee-x"),
            (r"\x41\x{42}", "AB", "ab"),
        ] {
            assert!(matches(p, yes), "{p}");
            assert!(!matches(p, no), "{p}");
        }
    }

    proptest::proptest! {
        /// Any input: no panic, and whatever is accepted compiles.
        #[test]
        fn translation_never_panics_and_accepted_patterns_compile(
            pattern in "[a-zA-Z0-9\\\\\\[\\](){}^$.*+?|:,<>=!&~-]{0,24}"
        ) {
            if let Ok(rust) = translate(&pattern) {
                proptest::prop_assert!(build_regex(&rust).is_ok(), "{} -> {}", pattern, rust);
            }
        }
    }
}
