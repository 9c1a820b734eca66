//! `--format csv`: RFC 4180, one row per finding, for spreadsheets and
//! ticketing imports. Cells that a spreadsheet would run as a formula are
//! defused, since paths, authors and secrets come from scanned content.

use std::io::{self, Write};

use super::{slash_path, sorted, ReportContext};
use crate::finding::Finding;

pub const HEADER: [&str; 14] = [
    "rule",
    "description",
    "path",
    "line",
    "end_line",
    "column",
    "end_column",
    "secret",
    "fingerprint",
    "entropy",
    "commit",
    "author",
    "date",
    "layer",
];

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_row(out, HEADER.iter().map(|h| h.to_string()))?;
    for f in sorted(findings) {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let row = [
            f.rule.clone(),
            f.description.clone(),
            slash_path(&f.path),
            f.line.to_string(),
            f.end_line.to_string(),
            f.column.to_string(),
            f.end_column.to_string(),
            f.display_secret(ctx.reveal),
            f.fingerprint.clone(),
            format!("{:.3}", f.entropy),
            opt(&f.commit),
            opt(&f.author),
            opt(&f.date),
            opt(&f.layer),
        ];
        write_row(out, row.into_iter())?;
    }
    Ok(())
}

fn write_row(out: &mut dyn Write, cells: impl Iterator<Item = String>) -> io::Result<()> {
    let line: Vec<String> = cells.map(|c| cell(&c)).collect();
    // RFC 4180 records end in CRLF.
    write!(out, "{}\r\n", line.join(","))
}

/// One field: defused against formula injection, then quoted if needed.
pub fn cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    #[test]
    fn quotes_and_doubles_quotes() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn defuses_formula_cells() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-cmd"), "'-cmd");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(cell("a=b"), "a=b");
    }

    #[test]
    fn header_and_row() {
        let mut f = finding("dir/a,b.env", 2);
        f.author = Some("=cmd|' /C calc'!A0".into());
        let text = render(write, &[f], false);
        let mut lines = text.split("\r\n");
        assert_eq!(
            lines.next(),
            Some(
                "rule,description,path,line,end_line,column,end_column,secret,fingerprint,\
                 entropy,commit,author,date,layer"
            )
        );
        let row = lines.next().unwrap_or_default();
        assert!(row.starts_with(
            "github-pat,GitHub personal access token (classic),\"dir/a,b.env\",2,2,14,54,ghp_***,"
        ));
        assert!(row.contains(",4.584,,'=cmd|' /C calc'!A0,,"));
        assert!(!text.contains(TOKEN));
    }

    #[test]
    fn reveal_shows_raw_secret() {
        assert!(render(write, &[finding("a.env", 1)], true).contains(TOKEN));
    }
}
