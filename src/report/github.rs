//! `--format github`: GitHub Actions workflow commands, which the runner
//! turns into annotations on the pull request's changed lines.

use std::io::{self, Write};

use super::{slash_path, sorted, ReportContext};
use crate::finding::Finding;
use crate::rules::Confidence;

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    for f in sorted(findings) {
        let command = match f.confidence {
            Confidence::High => "error",
            Confidence::Medium | Confidence::Low => "warning",
        };
        let path = slash_path(&f.path);
        let path = path.strip_prefix("./").unwrap_or(&path);
        let title = format!("leakscrub: {}", f.rule);
        let mut message = format!(
            "{}: {} (fingerprint {})",
            f.description,
            f.display_secret(ctx.reveal),
            f.fingerprint
        );
        if let Some(c) = &f.commit {
            message.push_str(&format!(" in commit {c}"));
        }
        if let Some(l) = &f.layer {
            message.push_str(&format!(" in layer {l}"));
        }
        // Annotation end columns are inclusive; findings carry the column
        // after the secret.
        let end_column = if f.end_line == f.line {
            f.end_column.saturating_sub(1).max(f.column)
        } else {
            f.end_column.saturating_sub(1).max(1)
        };
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={end_column},title={}::{}",
            escape_property(path),
            f.line,
            f.column,
            f.end_line.max(f.line),
            escape_property(&title),
            escape_data(&message)
        )?;
    }
    Ok(())
}

/// Escaping for the message part of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a `key=value` property, where `:` and `,` delimit.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn one_error_command_per_high_finding() {
        let text = render(write, &[finding("dir/a,b:c.env", 2)], false);
        assert_eq!(
            text,
            "::error file=dir/a%2Cb%3Ac.env,line=2,col=14,endLine=2,endColumn=53,\
             title=leakscrub%3A github-pat::GitHub personal access token (classic): ghp_*** \
             (fingerprint github-pat:"
                .to_string()
                + &finding("dir/a,b:c.env", 2).fingerprint["github-pat:".len()..]
                + ")\n"
        );
    }

    #[test]
    fn lower_confidence_is_a_warning() {
        let mut f = finding("a.env", 1);
        f.confidence = Confidence::Low;
        assert!(render(write, &[f], false).starts_with("::warning file=a.env,"));
    }

    #[test]
    fn newline_in_path_cannot_start_a_new_command() {
        let text = render(write, &[finding("a\n::add-mask::x.env", 1)], false);
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("a%0A%3A%3Aadd-mask%3A%3Ax.env"));
    }

    #[test]
    fn reveal_shows_raw_secret() {
        assert!(!render(write, &[finding("a.env", 1)], false).contains(TOKEN));
        assert!(render(write, &[finding("a.env", 1)], true).contains(TOKEN));
    }
}
