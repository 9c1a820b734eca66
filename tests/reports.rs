//! Every report format, produced by the real binary over fixture folders.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const PAT: &str = "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";
const OAUTH: &str = "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";
const BASIC: &str = "tests/fixtures/reports/basic";
const CLEAN: &str = "tests/fixtures/reports/clean";
const PAT_PATH: &str = "tests/fixtures/reports/basic/config.env";
const OAUTH_PATH: &str = "tests/fixtures/reports/basic/nested/app.json";
const FORMATS: [&str; 7] = ["text", "json", "jsonl", "sarif", "csv", "junit", "github"];

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn scan(dir: &Path, format: &str, extra: &[&str]) -> Run {
    let output = Command::cargo_bin("leakscrub")
        .map(|mut c| {
            c.args(["scan", "dir"])
                .arg(dir)
                .args(["--format", format, "--no-progress"])
                .args(extra)
                .env_remove("NO_COLOR")
                .output()
        })
        .unwrap_or_else(|e| panic!("cannot find binary: {e}"))
        .unwrap_or_else(|e| panic!("cannot run binary: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

fn scan_basic(format: &str, extra: &[&str]) -> Run {
    let run = scan(Path::new(BASIC), format, extra);
    assert_eq!(run.code, Some(1), "findings exit 1; stderr: {}", run.stderr);
    run
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"))
}

/// Findings of one planted secret, by path and rule (other rules may fire
/// on the fixtures as the rule set grows).
fn planted<'a>(findings: &'a [Value], path: &str, rule: &str) -> &'a Value {
    let hits: Vec<&Value> = findings
        .iter()
        .filter(|f| f["path"] == path && f["rule"] == rule)
        .collect();
    assert_eq!(hits.len(), 1, "expected one {rule} in {path}: {findings:?}");
    hits[0]
}

fn check_pat_finding(f: &Value) {
    assert_eq!(f["rule"], "github-pat");
    assert_eq!(f["description"], "GitHub personal access token (classic)");
    assert_eq!(f["path"], PAT_PATH);
    assert_eq!(f["line"], 3);
    assert_eq!(f["end_line"], 3);
    assert_eq!(f["column"], 14);
    assert_eq!(f["secret"], "ghp_***");
    let fp = f["fingerprint"].as_str().unwrap_or_default();
    assert!(fp.starts_with("github-pat:") && fp.len() > 20, "{fp}");
    let entropy = f["entropy"].as_f64().unwrap_or(0.0);
    assert!(entropy > 3.0 && entropy < 6.0, "entropy {entropy}");
}

#[test]
fn json_report_carries_the_finding_fields() {
    let run = scan_basic("json", &[]);
    let v = json(&run.stdout);
    let findings = v.as_array().cloned().unwrap_or_default();
    check_pat_finding(planted(&findings, PAT_PATH, "github-pat"));
    let oauth = planted(&findings, OAUTH_PATH, "github-oauth");
    assert_eq!(oauth["secret"], "gho_***");
    assert_eq!(oauth["line"], 3);
}

#[test]
fn jsonl_report_is_one_finding_per_line() {
    let run = scan_basic("jsonl", &[]);
    let findings: Vec<Value> = run.stdout.lines().map(json).collect();
    check_pat_finding(planted(&findings, PAT_PATH, "github-pat"));
    planted(&findings, OAUTH_PATH, "github-oauth");
}

#[test]
fn reveal_shows_the_raw_secret_in_every_format() {
    for format in FORMATS {
        let run = scan_basic(format, &["--reveal"]);
        assert!(
            run.stdout.contains(PAT),
            "{format} --reveal: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains(OAUTH),
            "{format} --reveal: {}",
            run.stdout
        );
    }
    let v = json(&scan_basic("json", &["--reveal"]).stdout);
    let findings = v.as_array().cloned().unwrap_or_default();
    assert_eq!(planted(&findings, PAT_PATH, "github-pat")["secret"], PAT);
}

#[test]
fn raw_secret_appears_nowhere_without_reveal() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for format in FORMATS {
        for color in ["never", "always"] {
            let run = scan_basic(format, &["--color", color]);
            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                assert!(!text.contains(PAT), "{format} {stream} leaks: {text}");
                assert!(!text.contains(OAUTH), "{format} {stream} leaks: {text}");
            }
            assert!(run.stdout.contains("ghp_***"), "{format}: {}", run.stdout);
        }

        let file = dir.path().join(format!("report.{format}"));
        let run = scan_basic(format, &["--output", &file.display().to_string()]);
        assert!(!run.stdout.contains(PAT) && !run.stderr.contains(PAT));
        let written = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(written.contains("ghp_***"), "{format} file: {written}");
        assert!(!written.contains(PAT), "{format} file leaks: {written}");
        assert!(!written.contains(OAUTH), "{format} file leaks: {written}");
    }
}

#[test]
fn reveal_into_output_file_writes_the_secret_there_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = dir.path().join("report.csv");
    let run = scan_basic(
        "csv",
        &["--reveal", "--output", &file.display().to_string()],
    );
    assert!(!run.stdout.contains(PAT) && !run.stderr.contains(PAT));
    let written = fs::read_to_string(&file).unwrap_or_default();
    assert!(written.contains(PAT));
}

// ---------------------------------------------------------------- SARIF

fn sarif_schema() -> jsonschema::JSONSchema {
    let text = fs::read_to_string("tests/fixtures/sarif-schema-2.1.0.json")
        .unwrap_or_else(|e| panic!("schema: {e}"));
    let schema = json(&text);
    jsonschema::JSONSchema::options()
        .should_validate_formats(true)
        .compile(&schema)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

fn assert_valid_sarif(doc: &Value) {
    let schema = sarif_schema();
    let problems: Vec<String> = match schema.validate(doc) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect(),
    };
    assert!(
        problems.is_empty(),
        "SARIF does not validate:\n{}",
        problems.join("\n")
    );
}

fn sarif_results(doc: &Value) -> Vec<Value> {
    doc["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn result_uri(r: &Value) -> &str {
    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let doc = json(&scan_basic("sarif", &[]).stdout);
    assert_valid_sarif(&doc);

    // The schema check must be able to fail.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!sarif_schema().is_valid(&broken));
    // URI formats are checked too, so the escaping tests below mean something.
    let mut unescaped = doc.clone();
    unescaped["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"] = "sub dir/#1.env".into();
    assert!(!sarif_schema().is_valid(&unescaped));
}

#[test]
fn sarif_run_describes_tool_rules_and_results() {
    let doc = json(&scan_basic("sarif", &[]).stdout);
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"]
        .as_str()
        .unwrap_or_default()
        .contains("sarif"));
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "leakscrub");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"].is_string());
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap_or_default()
        .starts_with("file:///"));

    let rules = driver["rules"].as_array().cloned().unwrap_or_default();
    let results = sarif_results(&doc);
    for id in ["github-pat", "github-oauth"] {
        let rule = rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no rule {id}: {rules:?}"));
        assert!(rule["name"].is_string());
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(rule["fullDescription"]["text"].is_string());
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
        assert_eq!(rule["properties"]["confidence"], "high");
        assert!(rule["properties"]["tags"].is_array());
    }
    // Every rule listed produced a result, and every ruleIndex points at its rule.
    for r in &results {
        let index = r["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(rules.get(index).map(|x| &x["id"]), Some(&r["ruleId"]));
    }
    for rule in &rules {
        assert!(results.iter().any(|r| r["ruleId"] == rule["id"]));
    }

    let pat = results
        .iter()
        .find(|r| r["ruleId"] == "github-pat" && result_uri(r) == PAT_PATH)
        .unwrap_or_else(|| panic!("no github-pat result: {results:?}"));
    assert_eq!(pat["level"], "error");
    let text = pat["message"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("GitHub personal access token") && text.contains("ghp_***"));
    let loc = &pat["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    let region = &loc["region"];
    assert_eq!(region["startLine"], 3);
    assert_eq!(region["startColumn"], 14);
    assert_eq!(region["endLine"], 3);
    assert_eq!(region["endColumn"], 14 + PAT.len() as u64);
    assert_eq!(region["snippet"]["text"], "ghp_***");

    let findings = json(&scan_basic("json", &[]).stdout)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let fp = &planted(&findings, PAT_PATH, "github-pat")["fingerprint"];
    assert_eq!(&pat["partialFingerprints"]["leakscrubFingerprint/v1"], fp);
}

#[test]
fn sarif_is_deterministic() {
    let a = json(&scan_basic("sarif", &["--threads", "1"]).stdout);
    let b = json(&scan_basic("sarif", &["--threads", "2"]).stdout);
    assert_eq!(a, b);
    let uris: Vec<String> = sarif_results(&a)
        .iter()
        .map(|r| result_uri(r).to_string())
        .collect();
    let mut sorted = uris.clone();
    sorted.sort();
    assert_eq!(uris, sorted);
}

/// A folder with the names URIs must escape: space, `#`, `%`, non-ASCII.
fn odd_paths_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let sub = dir.path().join("sub dir #1").join("café");
    fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("mkdir: {e}"));
    fs::write(sub.join("100% ünïcode.env"), format!("TOKEN={PAT}\n"))
        .unwrap_or_else(|e| panic!("write: {e}"));
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn scan_from(cwd: &Path, format: &str) -> Run {
    let output = Command::cargo_bin("leakscrub")
        .map(|mut c| {
            c.current_dir(cwd)
                .args(["scan", "dir", ".", "--format", format, "--no-progress"])
                .output()
        })
        .unwrap_or_else(|e| panic!("cannot find binary: {e}"))
        .unwrap_or_else(|e| panic!("cannot run binary: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

#[test]
fn sarif_escapes_uris_of_odd_paths() {
    let (_guard, root) = odd_paths_dir();
    let run = scan_from(&root, "sarif");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let doc = json(&run.stdout);
    assert_valid_sarif(&doc);
    let results = sarif_results(&doc);
    let uris: Vec<&str> = results.iter().map(result_uri).collect();
    assert!(
        uris.contains(&"sub%20dir%20%231/caf%C3%A9/100%25%20%C3%BCn%C3%AFcode.env"),
        "{uris:?}"
    );
    assert!(!run.stdout.contains(PAT));
}

// ---------------------------------------------------------------- CSV

/// A strict RFC 4180 reader, to check the writer against.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "bare CR in {text:?}");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("bare LF outside quotes in {text:?}"),
            _ => cell.push(c),
        }
    }
    assert!(cell.is_empty() && row.is_empty(), "unterminated record");
    rows
}

#[test]
fn csv_has_header_and_one_row_per_finding() {
    let run = scan_basic("csv", &[]);
    let rows = parse_csv(&run.stdout);
    assert_eq!(
        rows[0],
        [
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
            "layer"
        ]
    );
    assert!(rows.iter().all(|r| r.len() == 14), "{rows:?}");
    let pat = rows
        .iter()
        .find(|r| r[0] == "github-pat" && r[2] == PAT_PATH)
        .unwrap_or_else(|| panic!("no github-pat row: {rows:?}"));
    assert_eq!(pat[1], "GitHub personal access token (classic)");
    assert_eq!(&pat[3..7], ["3", "3", "14", "54"]);
    assert_eq!(pat[7], "ghp_***");
    assert!(pat[8].starts_with("github-pat:"));
    assert!(pat[9].parse::<f64>().is_ok());
}

#[test]
fn csv_quotes_and_defuses_hostile_paths() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let name = "=cmd,\"x\".env";
    fs::write(dir.path().join(name), format!("t={PAT}\n")).unwrap_or_else(|e| panic!("{e}"));
    let run = scan_from(dir.path(), "csv");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stdout.contains("\"'=cmd,\"\"x\"\".env\""),
        "{}",
        run.stdout
    );
    let rows = parse_csv(&run.stdout);
    assert!(rows.iter().any(|r| r[2] == format!("'{name}")), "{rows:?}");
}

// ---------------------------------------------------------------- JUnit

#[test]
fn junit_has_one_failing_case_per_finding() {
    let run = scan_basic("junit", &[]);
    let xml = run.stdout;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let cases = xml.matches("<testcase ").count();
    let failures = xml.matches("<failure ").count();
    assert!(cases >= 2 && cases == failures, "{xml}");
    assert!(xml.contains(&format!(
        "<testsuite name=\"leakscrub\" tests=\"{cases}\" failures=\"{failures}\""
    )));
    assert!(xml.contains("type=\"github-pat\""));
    assert!(xml.contains("type=\"github-oauth\""));
    assert!(xml.contains(&format!("file=\"{PAT_PATH}\" line=\"3\"")));
    assert!(xml.contains("ghp_***"));
    assert!(xml.trim_end().ends_with("</testsuites>"));
}

#[test]
fn junit_clean_scan_is_one_passing_case() {
    let run = scan(Path::new(CLEAN), "junit", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.matches("<testcase ").count(), 1);
    assert!(!run.stdout.contains("<failure"));
    assert!(run.stdout.contains("tests=\"1\" failures=\"0\""));
}

#[test]
fn junit_escapes_markup_and_control_characters_in_paths() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let name = "a<&>\u{1}\".env";
    fs::write(dir.path().join(name), format!("t={PAT}\n")).unwrap_or_else(|e| panic!("{e}"));
    let run = scan_from(dir.path(), "junit");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stdout.contains("a&lt;&amp;&gt;\u{FFFD}&quot;.env"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1}'));
}

// ---------------------------------------------------------------- GitHub

#[test]
fn github_emits_one_annotation_per_finding() {
    let run = scan_basic("github", &[]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&format!("file={PAT_PATH},")))
        .unwrap_or_else(|| panic!("no annotation for {PAT_PATH}: {}", run.stdout));
    assert!(
        line.starts_with(&format!(
            "::error file={PAT_PATH},line=3,col=14,endLine=3,endColumn=53,title=leakscrub%3A github-pat::"
        )),
        "{line}"
    );
    assert!(line.contains("GitHub personal access token (classic): ghp_***"));
    assert!(run
        .stdout
        .lines()
        .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")));
    assert!(!run.stdout.contains("::add-mask::"));
    assert!(run
        .stdout
        .contains(&format!("file={OAUTH_PATH},line=3,col=31,")));
}

#[test]
fn github_escapes_properties() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    fs::write(dir.path().join("a,b:c%.env"), format!("t={PAT}\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = scan_from(dir.path(), "github");
    assert!(
        run.stdout.contains("::error file=a%2Cb%3Ac%25.env,line=1,"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------- text

#[test]
fn text_is_plain_when_piped() {
    let run = scan_basic("text", &[]);
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    assert!(
        run.stdout
            .lines()
            .any(|l| l == format!("{PAT_PATH}:3:14  github-pat  ghp_***")),
        "{}",
        run.stdout
    );
}

#[test]
fn text_shows_the_masked_line_with_or_without_colour() {
    let plain = scan_basic("text", &["--color", "never"]).stdout;
    assert!(plain.contains("    GITHUB_TOKEN=ghp_***\n"), "{plain}");
    let coloured = scan_basic("text", &["--color", "always"]).stdout;
    assert!(coloured.contains('\x1b'));
    assert_eq!(strip_ansi(&coloured), plain);
    assert!(!coloured.contains(PAT));
}

#[test]
fn text_shows_fingerprints_when_asked() {
    let findings = json(&scan_basic("json", &[]).stdout)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let fp = planted(&findings, PAT_PATH, "github-pat")["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = scan_basic("text", &["--show-fingerprint"]).stdout;
    assert!(
        text.lines()
            .any(|l| l == format!("{PAT_PATH}:3:14  github-pat  ghp_***  {fp}")),
        "{text}"
    );
    assert!(!scan_basic("text", &[]).stdout.contains(&fp));
}

// ---------------------------------------------------------------- summary

/// A folder with a secret, a binary file and an empty one, scanned with an
/// input that does not exist: every kind of count is non-zero. `extra` are
/// more arguments, run in the folder.
fn mixed_scan_with(format: &str, extra: &[&str]) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    fs::write(
        dir.path().join("deploy.env"),
        format!("GITHUB_TOKEN={PAT}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        dir.path().join("logo.png"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fs::write(dir.path().join("empty.txt"), b"").unwrap_or_else(|e| panic!("{e}"));
    let output = Command::cargo_bin("leakscrub")
        .map(|mut c| {
            c.current_dir(dir.path())
                .args(["scan", "dir", ".", "missing.env", "--no-progress"])
                .args(["--format", format])
                .args(extra)
                .output()
        })
        .unwrap_or_else(|e| panic!("cannot find binary: {e}"))
        .unwrap_or_else(|e| panic!("cannot run binary: {e}"));
    let run = Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    };
    (run, dir)
}

fn mixed_scan(format: &str) -> Run {
    mixed_scan_with(format, &[]).0
}

#[test]
fn summary_file_carries_what_the_scan_covered() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let coverage = out.path().join("coverage.json");
    let (run, _dir) = mixed_scan_with("json", &["--summary", &coverage.display().to_string()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let summary = json(&fs::read_to_string(&coverage).unwrap_or_default());
    assert_eq!(summary["files"], 1, "{summary}");
    assert_eq!(summary["bytes"], 14 + PAT.len() as u64);
    assert_eq!(summary["skipped"]["binary"], 1, "{summary}");
    assert_eq!(summary["skipped"]["empty"], 1, "{summary}");
    assert_eq!(summary["skipped_total"], 2);
    assert_eq!(summary["errors"], 1);
    assert_eq!(summary["findings"], 1);
    assert_eq!(summary["suppressed"], 0);
    // The report itself stays an array of findings.
    assert_eq!(json(&run.stdout).as_array().map(Vec::len), Some(1));
    assert!(!fs::read_to_string(&coverage)
        .unwrap_or_default()
        .contains(PAT));
}

#[test]
fn an_unwritable_summary_fails_before_scanning() {
    let (run, _dir) = mixed_scan_with("json", &["--summary", "no/such/dir/s.json"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot write summary no/such/dir/s.json"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn jsonl_lines_are_findings_only() {
    let run = mixed_scan("jsonl");
    let lines: Vec<Value> = run.stdout.lines().map(json).collect();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    assert!(lines
        .iter()
        .all(|l| l["rule"].is_string() && l["fingerprint"].is_string()));
}

#[test]
fn sarif_run_carries_the_summary_and_an_incomplete_scan_fails_the_invocation() {
    let run = mixed_scan("sarif");
    let doc = json(&run.stdout);
    assert_valid_sarif(&doc);
    let sarif_run = &doc["runs"][0];
    assert_eq!(sarif_run["properties"]["summary"]["errors"], 1);
    assert_eq!(sarif_run["properties"]["summary"]["skipped"]["binary"], 1);
    assert_eq!(sarif_run["invocations"][0]["executionSuccessful"], false);

    let complete = json(&scan_basic("sarif", &[]).stdout);
    assert_valid_sarif(&complete);
    assert_eq!(
        complete["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
    assert_eq!(complete["runs"][0]["properties"]["summary"]["errors"], 0);
}

#[test]
fn a_json_report_is_a_baseline() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let baseline = dir.path().join("baseline.json");
    scan_basic("json", &["--output", &baseline.display().to_string()]);
    let written = json(&fs::read_to_string(&baseline).unwrap_or_default());
    assert!(written.is_array(), "{written}");
    let run = scan(
        Path::new(BASIC),
        "json",
        &["--baseline", &baseline.display().to_string()],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(json(&run.stdout).as_array().map(Vec::len), Some(0));
    assert!(run.stderr.contains("suppressed"), "{}", run.stderr);
}

/// The report without its escape sequences, as a terminal shows it.
fn strip_ansi(text: &str) -> String {
    String::from_utf8_lossy(&leakscrub::redact::ansi::visible(text.as_bytes())).into_owned()
}
