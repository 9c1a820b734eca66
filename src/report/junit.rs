//! `--format junit`: JUnit XML, which every CI system renders as a test
//! report. One failing test case per finding; a clean scan is one passing
//! case, so the report shows that the check ran.

use std::io::{self, Write};

use super::{slash_path, sorted, ReportContext};
use crate::finding::Finding;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let findings = sorted(findings);
    let time = ctx.summary.elapsed.as_secs_f64();
    let tests = findings.len().max(1);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="leakscrub" tests="{tests}" failures="{}" errors="0" time="{time:.3}">"#,
        findings.len()
    )?;
    writeln!(
        out,
        r#"  <testsuite name="leakscrub" tests="{tests}" failures="{}" errors="0" skipped="0" time="{time:.3}">"#,
        findings.len()
    )?;
    if findings.is_empty() {
        writeln!(
            out,
            r#"    <testcase name="no secrets found" classname="leakscrub" time="{time:.3}"/>"#
        )?;
    }
    for f in findings {
        let path = slash_path(&f.path);
        let secret = f.display_secret(ctx.reveal);
        let name = format!("{} at {path}:{}:{}", f.rule, f.line, f.column);
        let message = format!("{}: {secret}", f.description);
        let mut details = format!(
            "rule: {}\npath: {path}\nline: {}\ncolumn: {}\nsecret: {secret}\nfingerprint: {}\nentropy: {:.3}\n",
            f.rule, f.line, f.column, f.fingerprint, f.entropy
        );
        for (key, value) in [
            ("commit", &f.commit),
            ("author", &f.author),
            ("date", &f.date),
            ("layer", &f.layer),
        ] {
            if let Some(v) = value {
                details.push_str(&format!("{key}: {v}\n"));
            }
        }
        let excerpt = f.display_line(ctx.reveal, 400);
        if !excerpt.is_empty() {
            details.push_str(&format!("match: {excerpt}\n"));
        }
        writeln!(
            out,
            r#"    <testcase name="{}" classname="{}" file="{}" line="{}">"#,
            escape(&name),
            escape(&format!("leakscrub.{}", f.rule)),
            escape(&path),
            f.line
        )?;
        writeln!(
            out,
            r#"      <failure message="{}" type="{}">{}</failure>"#,
            escape(&message),
            escape(&f.rule),
            escape(&details)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// Escapes text for both XML attributes and element content. Characters
/// XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become
/// U+FFFD, so a hostile file name cannot make the report unparseable;
/// newlines and tabs in attributes become references so they survive
/// attribute-value normalisation.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    #[test]
    fn escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1}y\u{1b}z"), "x\u{FFFD}y\u{FFFD}z");
        assert_eq!(escape("l1\nl2\t"), "l1&#10;l2&#9;");
        assert_eq!(escape("\u{FFFF}"), "\u{FFFD}");
    }

    #[test]
    fn empty_scan_is_one_passing_case() {
        let text = render(write, &[], false);
        assert!(text.contains(r#"<testsuite name="leakscrub" tests="1" failures="0""#));
        assert_eq!(text.matches("<testcase ").count(), 1);
        assert!(!text.contains("<failure"));
    }

    #[test]
    fn one_failing_case_per_finding() {
        let mut hostile = finding("evil\u{7}<x>.env", 4);
        hostile.author = Some("A & B".into());
        let text = render(write, &[finding("a.env", 1), hostile], false);
        assert!(text.contains(r#"tests="2" failures="2""#));
        assert_eq!(text.matches("<failure ").count(), 2);
        assert!(text.contains(r#"type="github-pat""#));
        assert!(text.contains("evil\u{FFFD}&lt;x&gt;.env"));
        assert!(text.contains("author: A &amp; B"));
        assert!(!text.contains('\u{7}'));
        assert!(!text.contains(TOKEN));
    }

    #[test]
    fn reveal_shows_raw_secret() {
        assert!(render(write, &[finding("a.env", 1)], true).contains(TOKEN));
    }
}
