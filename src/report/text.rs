//! `--format text`: for people. `path:line:col  rule  secret`, one line per
//! finding so it stays greppable and editors can jump to it; on a terminal
//! the masked line follows as a coloured excerpt and files are separated.

use std::io::{self, Write};

use super::{slash_path, sorted, ReportContext};
use crate::finding::Finding;

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
        if ctx.color && previous.is_some_and(|p| p != group) {
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
        if extra.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, "{dim}{}{reset}", printable(&extra))?;
        }
        if ctx.color {
            let excerpt = printable(&f.display_line(ctx.reveal, EXCERPT_WIDTH));
            if !excerpt.is_empty() {
                // The secret stands out inside the dimmed line.
                let marked =
                    excerpt.replace(&secret, &format!("{reset}{yellow}{secret}{reset}{dim}"));
                writeln!(out, "    {dim}{marked}{reset}")?;
            }
        }
    }
    Ok(())
}

/// Scanned content decides paths and excerpts; control characters in them
/// could move the cursor or recolour the terminal, so they are shown as
/// `\xNN` instead.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            if c == '\t' {
                out.push(' ');
            } else {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    #[test]
    fn plain_line_per_finding() {
        let text = render(write, &[finding("b.env", 3), finding("a.env", 2)], false);
        assert_eq!(
            text,
            "a.env:2:14  github-pat  ghp_***\nb.env:3:14  github-pat  ghp_***\n"
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
        assert_eq!(text, "0123456789ab:a.env:1:14  github-pat  ghp_***  Dev\n");
    }

    #[test]
    fn reveal_shows_raw_secret() {
        assert!(render(write, &[finding("a.env", 1)], true).contains(TOKEN));
    }
}
