//! `--format sarif`: SARIF 2.1.0, the format GitHub code scanning and most
//! security dashboards ingest. One run, rule metadata for every rule that
//! produced a finding, results in a stable order.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Map, Value};

use super::{slash_path, sorted, summary_json, ReportContext};
use crate::finding::Finding;
use crate::rules::Confidence;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/leakscrub/leakscrub";
/// Relative result paths resolve against this base, so the report stays
/// valid when the checkout moves (CI runners use different roots).
const SRCROOT: &str = "%SRCROOT%";
const FINGERPRINT_KEY: &str = "leakscrubFingerprint/v1";

pub fn write(findings: &[Finding], ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = document(findings, ctx);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The whole SARIF log as a JSON value.
pub fn document(findings: &[Finding], ctx: &ReportContext<'_>) -> Value {
    let findings = sorted(findings);

    // Rules sorted by id so `ruleIndex` is stable across runs.
    let mut rule_ids: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &findings {
        rule_ids.entry(f.rule.as_str()).or_insert(f);
    }
    let index_of: BTreeMap<&str, usize> = rule_ids
        .keys()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let rules: Vec<Value> = rule_ids.values().map(|f| rule_descriptor(f, ctx)).collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| result(f, index_of.get(f.rule.as_str()).copied().unwrap_or(0), ctx))
        .collect();

    let mut run = Map::new();
    run.insert(
        "tool".into(),
        json!({
            "driver": {
                "name": "leakscrub",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        }),
    );
    run.insert("originalUriBaseIds".into(), original_uri_base_ids());
    run.insert("columnKind".into(), "utf16CodeUnits".into());
    run.insert("results".into(), Value::Array(results));
    run.insert("invocations".into(), json!([invocation(ctx)]));
    run.insert(
        "properties".into(),
        json!({ "summary": summary_json(ctx.summary, findings.len()) }),
    );

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [Value::Object(run)],
    })
}

/// An unreadable input means the scan did not cover everything it was
/// asked to: CI must not read the run as complete.
fn invocation(ctx: &ReportContext<'_>) -> Value {
    let errors = ctx.summary.errors;
    let mut invocation = json!({ "executionSuccessful": errors == 0 });
    if errors > 0 {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "error",
            "message": {
                "text": format!(
                    "{errors} input{} could not be read; the scan is incomplete",
                    if errors == 1 { "" } else { "s" }
                )
            },
        }]);
    }
    invocation
}

fn rule_descriptor(f: &Finding, ctx: &ReportContext<'_>) -> Value {
    let rule = ctx.rules.get(&f.rule);
    let description = rule.map_or(f.description.as_str(), |r| r.description.as_str());
    let confidence = rule.map_or(f.confidence, |r| r.confidence);
    let mut tags: Vec<String> = vec!["security".into(), "secret".into()];
    if let Some(r) = rule {
        for t in &r.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
    }
    let full = format!(
        "{description}. A credential matching rule '{}' was found in scanned content; \
         rotate it and remove it from the source.",
        f.rule
    );
    json!({
        "id": f.rule,
        "name": rule_name(&f.rule),
        "shortDescription": { "text": description },
        "fullDescription": { "text": full },
        "defaultConfiguration": { "level": level(confidence) },
        "properties": {
            "confidence": confidence.as_str(),
            "tags": tags,
            "precision": precision(confidence),
            "security-severity": security_severity(confidence),
        },
    })
}

fn result(f: &Finding, rule_index: usize, ctx: &ReportContext<'_>) -> Value {
    let secret = f.display_secret(ctx.reveal);
    let (start_column, end_column) = utf16_columns(f);
    let start_column = start_column.max(1);
    let end_line = f.end_line.max(f.line).max(1);
    // An empty or inverted span would be rejected by consumers.
    let end_column = if end_line <= f.line.max(1) && end_column <= start_column {
        start_column + 1
    } else {
        end_column.max(1)
    };
    let region = json!({
        "startLine": f.line.max(1),
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
        "snippet": { "text": secret },
    });
    let mut physical = Map::new();
    physical.insert(
        "artifactLocation".into(),
        artifact_location(f.outermost_path()),
    );
    physical.insert("region".into(), region);
    // Not cut: a snippet is the text of its region. The excerpt is already
    // bounded (the secret's lines, clipped to a margin around the match).
    let context_line = f.display_line(ctx.reveal, usize::MAX);
    if !context_line.is_empty() {
        // The snippet holds the secret's lines and no other, so its lines
        // are the region's; it must also contain the region.
        let snippet_lines = context_line.matches('\n').count() as u64;
        physical.insert(
            "contextRegion".into(),
            json!({
                "startLine": f.line.max(1),
                "endLine": end_line.max(f.line.max(1) + snippet_lines),
                "snippet": { "text": context_line },
            }),
        );
    }

    let mut props = Map::new();
    props.insert("confidence".into(), f.confidence.as_str().into());
    props.insert(
        "entropy".into(),
        json!((f.entropy * 1000.0).round() / 1000.0),
    );
    for (key, value) in [
        ("commit", &f.commit),
        ("author", &f.author),
        ("email", &f.email),
        ("date", &f.date),
        ("layer", &f.layer),
    ] {
        if let Some(v) = value {
            props.insert(key.into(), v.clone().into());
        }
    }
    if let Some(d) = f.deleted {
        props.insert("deleted".into(), d.into());
    }
    if f.provenance.len() > 1 {
        props.insert("provenance".into(), json!(f.provenance));
    }

    json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.confidence),
        "message": { "text": format!("{}: {secret}", f.description) },
        "locations": [ { "physicalLocation": Value::Object(physical) } ],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
        "properties": Value::Object(props),
    })
}

fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "error",
        Confidence::Medium | Confidence::Low => "warning",
    }
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

/// GitHub code scanning reads this to rank alerts (0.0–10.0, as a string).
fn security_severity(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "8.0",
        Confidence::Medium => "6.0",
        Confidence::Low => "3.0",
    }
}

/// SARIF wants a readable identifier distinct from the opaque id:
/// `github-pat` becomes `GithubPat`.
fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn artifact_location(path: &str) -> Value {
    let slashed = slash_path(path);
    let relative = slashed.strip_prefix("./").unwrap_or(&slashed);
    if is_absolute(relative) {
        let with_root = if relative.starts_with('/') {
            relative.to_string()
        } else {
            format!("/{relative}")
        };
        json!({ "uri": format!("file://{}", percent_encode_path(&with_root)) })
    } else {
        json!({ "uri": percent_encode_path(relative), "uriBaseId": SRCROOT })
    }
}

fn is_absolute(slashed: &str) -> bool {
    let b = slashed.as_bytes();
    slashed.starts_with('/') || (b.len() >= 3 && b[0].is_ascii_alphabetic() && &b[1..3] == b":/")
}

/// Where `%SRCROOT%` points: the working directory the relative paths were
/// reported against. Left without a `uri` when it cannot be determined.
fn original_uri_base_ids() -> Value {
    let root = std::env::current_dir()
        .ok()
        .and_then(|d| directory_uri(&d))
        .map_or_else(
            || json!({ "description": { "text": "The directory leakscrub was run from." } }),
            |uri| json!({ "uri": uri }),
        );
    json!({ SRCROOT: root })
}

fn directory_uri(dir: &Path) -> Option<String> {
    let s = slash_path(dir.to_str()?);
    let mut rooted = if s.starts_with('/') {
        s
    } else {
        format!("/{s}")
    };
    if !rooted.ends_with('/') {
        rooted.push('/');
    }
    Some(format!("file://{}", percent_encode_path(&rooted)))
}

/// RFC 3986 percent-encoding of a path: unreserved characters and `/` pass,
/// every other byte of the UTF-8 form becomes `%XX` (so spaces, `#`, `%`,
/// `?` and non-ASCII cannot change how the URI parses).
pub fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The finding's columns in UTF-16 code units, SARIF's default column kind.
/// Findings carry byte columns; the conversion needs the line's text from
/// its first byte, which the excerpt holds only when it was not cut at the
/// front. Otherwise byte columns are the best estimate (exact for ASCII).
fn utf16_columns(f: &Finding) -> (u64, u64) {
    let bytes = (f.column, f.end_column);
    if f.line != f.end_line || f.secret.is_empty() || f.column == 0 {
        return bytes;
    }
    let start = usize::try_from(f.column - 1).unwrap_or(usize::MAX);
    let end = start.saturating_add(f.secret.len());
    let text = &f.line_text;
    if end > text.len() || text[start..end] != f.secret[..] {
        return bytes;
    }
    let units = |b: &[u8]| -> u64 {
        String::from_utf8_lossy(b)
            .encode_utf16()
            .count()
            .try_into()
            .unwrap_or(u64::MAX)
    };
    let start_units = units(&text[..start]) + 1;
    (start_units, start_units + units(&f.secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{finding, render, TOKEN};

    fn parse(findings: &[Finding], reveal: bool) -> Value {
        let text = render(write, findings, reveal);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    #[test]
    fn percent_encodes_reserved_and_non_ascii() {
        assert_eq!(
            percent_encode_path("a dir/#1/é/50%.txt"),
            "a%20dir/%231/%C3%A9/50%25.txt"
        );
        assert_eq!(percent_encode_path("src/main.rs"), "src/main.rs");
    }

    #[test]
    fn rule_name_is_pascal_case() {
        assert_eq!(rule_name("github-pat"), "GithubPat");
        assert_eq!(rule_name("aws_access-key.id"), "AwsAccessKeyId");
    }

    #[test]
    fn result_carries_location_fingerprint_and_masked_secret() {
        let v = parse(&[finding("sub dir/#x é.env", 2)], false);
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "leakscrub");
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "github-pat");
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "github-pat");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["level"], "error");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "sub%20dir/%23x%20%C3%A9.env"
        );
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(loc["region"]["startLine"], 2);
        assert_eq!(loc["region"]["startColumn"], 14);
        assert_eq!(loc["region"]["endColumn"], 54);
        assert_eq!(loc["region"]["snippet"]["text"], "ghp_***");
        assert_eq!(
            r["partialFingerprints"]["leakscrubFingerprint/v1"],
            finding("sub dir/#x é.env", 2).fingerprint
        );
        assert!(!v.to_string().contains(TOKEN));
    }

    #[test]
    fn reveal_shows_raw_secret() {
        let v = parse(&[finding("a.env", 1)], true);
        assert!(v.to_string().contains(TOKEN));
    }

    #[test]
    fn provenance_goes_to_properties() {
        let mut f = finding("a.env", 1);
        f.commit = Some("0123456789abcdef".into());
        f.layer = Some("sha256:abc".into());
        let v = parse(&[f], false);
        let props = &v["runs"][0]["results"][0]["properties"];
        assert_eq!(props["commit"], "0123456789abcdef");
        assert_eq!(props["layer"], "sha256:abc");
    }

    #[test]
    fn columns_count_utf16_units_before_the_secret() {
        let mut f = finding("a.env", 1);
        f.line_text = format!("é𝄞={TOKEN}").into_bytes();
        // é is 2 bytes / 1 unit, 𝄞 is 4 bytes / 2 units.
        f.column = 8;
        f.end_column = 8 + TOKEN.len() as u64;
        assert_eq!(utf16_columns(&f), (5, 5 + TOKEN.len() as u64));
    }

    #[test]
    fn output_is_sorted_whatever_the_input_order() {
        let a = finding("b.env", 3);
        let b = finding("a.env", 9);
        let v = parse(&[a, b], false);
        let uris: Vec<&str> = v["runs"][0]["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(uris, vec!["a.env", "b.env"]);
    }

    #[test]
    fn run_carries_the_summary_and_whether_every_input_was_read() {
        let v = parse(&[finding("a.env", 1)], false);
        let run = &v["runs"][0];
        assert_eq!(run["properties"]["summary"]["findings"], 1);
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);

        let rules = crate::rules::RuleSet::default();
        let summary = crate::summary::ScanSummary {
            files: 3,
            errors: 2,
            ..Default::default()
        };
        let ctx = ReportContext {
            reveal: false,
            color: false,
            show_fingerprint: false,
            rules: &rules,
            summary: &summary,
            roots: &[],
        };
        let doc = document(&[], &ctx);
        let invocation = &doc["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        let note = invocation["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(note.starts_with("2 inputs could not be read"), "{note}");
        assert_eq!(doc["runs"][0]["properties"]["summary"]["errors"], 2);
    }

    #[test]
    fn context_region_spans_every_line_of_its_snippet() {
        let mut f = finding("key.pem", 4);
        f.end_line = 4;
        f.line_masked = b"-----BEGIN***\n-----END PRIVATE KEY-----".to_vec();
        let v = parse(&[f], false);
        let loc = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(loc["contextRegion"]["startLine"], 4);
        assert_eq!(loc["contextRegion"]["endLine"], 5);
    }

    #[test]
    fn absolute_paths_become_file_uris() {
        let loc = artifact_location("/srv/x y/a.env");
        assert_eq!(loc["uri"], "file:///srv/x%20y/a.env");
        assert!(loc.get("uriBaseId").is_none());
    }
}
