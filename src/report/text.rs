//! `--format text`: for people. Each finding is a `path:line:col  rule
//! secret` line, so it stays greppable and editors can jump to it, followed
//! by its masked line, indented; files are separated by a blank line. Colour
//! changes styling only: without the escape sequences, the coloured report
//! is the plain one.

use std::io::{self, Write};

use super::{slash_path, sorted, ReportContext};
use crate::finding::{printable, Finding};

const EXCERPT_WIDTH: usize = 160;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let (bold, red, yellow, dim, reset) = if ctx.color {
        ("\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let mut previous: Option<(&str, Option<&str>, Option<&str>)> = None;
    for f in sorted(findings) {
        let group = (f.path.as_str(), f.commit.as_deref(), f.layer.as_deref());
        if previous.is_some_and(|p| p != group) {
            writeln!(out)?;
        }
        previous = Some(group);

        let mut loc = format!("{}:{}:{}", slash_path(&f.path), f.line, f.column);
        if let Some(c) = &f.commit {
            let short: String = c.chars().take(12).collect();
            loc = format!("{short}:{loc}");
        }
        if let Some(l) = &f.layer {
            loc = format!("{l}:{loc}");
        }
        let mut extra = String::new();
        let encodings = f.encodings();
        if !encodings.is_empty() {
            extra.push_str(&format!("  ({})", encodings.join(", ")));
        }
        if let Some(a) = &f.author {
            extra.push_str(&format!("  {a}"));
        }
        if let Some(d) = &f.date {
            extra.push_str(&format!("  {d}"));
        }
        if f.deleted == Some(true) {
            extra.push_str("  (deleted in a later layer)");
        }
        let secret = printable(&f.display_secret(ctx.reveal));
        write!(
            out,
            "{bold}{}{reset}  {red}{}{reset}  {yellow}{secret}{reset}",
            printable(&loc),
            printable(&f.rule),
        )?;
        if ctx.show_fingerprint {
            write!(out, "  {dim}{}{reset}", printable(&f.fingerprint))?;
        }
        if extra.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, "{dim}{}{reset}", printable(&extra))?;
        }
        let excerpt = printable(&f.display_line(ctx.reveal, EXCERPT_WIDTH));
        if !excerpt.is_empty() {
            if ctx.color {
                // The secret stands out inside the dimmed line.
                let marked =
                    excerpt.replace(&secret, &format!("{reset}{yellow}{secret}{reset}{dim}"));
                writeln!(out, "    {dim}{marked}{reset}")?;
            } else {
                writeln!(out, "    {excerpt}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, render_with, TOKEN};

    #[test]
    fn a_line_per_finding_then_its_masked_line() {
        let text = render(write, &[finding("b.env", 3), finding("a.env", 2)], false);
        assert_eq!(
            text,
            "a.env:2:14  github-pat  ghp_***\n    GITHUB_TOKEN=ghp_***\n\n\
             b.env:3:14  github-pat  ghp_***\n    GITHUB_TOKEN=ghp_***\n"
        );
    }

    #[test]
    fn control_characters_are_made_visible() {
        let text = render(write, &[finding("a\x1b[2Jb.env", 1)], false);
        assert!(text.starts_with("a\\x1b[2Jb.env:1:14"));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn provenance_follows_the_secret() {
        let mut f = finding("a.env", 1);
        f.commit = Some("0123456789abcdef".into());
        f.author = Some("Dev".into());
        let text = render(write, &[f], false);
        assert_eq!(
            text,
            "0123456789ab:a.env:1:14  github-pat  ghp_***  Dev\n    GITHUB_TOKEN=ghp_***\n"
        );
    }

    #[test]
    fn reveal_shows_raw_secret() {
        assert!(render(write, &[finding("a.env", 1)], true).contains(TOKEN));
    }

    /// The report without its escape sequences, as a terminal shows it.
    fn strip_ansi(text: &str) -> String {
        String::from_utf8_lossy(&crate::redact::ansi::visible(text.as_bytes())).into_owned()
    }

    #[test]
    fn colour_changes_styling_never_content() {
        let mut with_author = finding("b.env", 7);
        with_author.author = Some("Dev".into());
        with_author.date = Some("2026-01-02".into());
        let mut no_excerpt = finding("c.env", 1);
        no_excerpt.line_text.clear();
        no_excerpt.line_masked.clear();
        let findings = [
            finding("a.env", 2),
            with_author,
            finding("a.env", 5),
            no_excerpt,
        ];
        for reveal in [false, true] {
            for show_fingerprint in [false, true] {
                let plain = render_with(write, &findings, reveal, false, show_fingerprint);
                let coloured = render_with(write, &findings, reveal, true, show_fingerprint);
                assert!(coloured.contains('\x1b') && !plain.contains('\x1b'));
                assert_eq!(strip_ansi(&coloured), plain);
            }
        }
    }

    #[test]
    fn fingerprints_are_shown_when_asked() {
        let f = finding("a.env", 2);
        let fp = f.fingerprint.clone();
        let shown = render_with(write, std::slice::from_ref(&f), false, false, true);
        assert_eq!(
            shown.lines().next(),
            Some(format!("a.env:2:14  github-pat  ghp_***  {fp}").as_str())
        );
        assert!(!render(write, &[f], false).contains(&fp));
    }
}
