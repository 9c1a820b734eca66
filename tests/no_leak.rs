//! No report shows a secret it did not mean to: whatever the format, the
//! colour, the neighbouring secrets on a line or on the next line, and
//! whichever findings are later dropped, a secret appears only with
//! `--reveal`. The fixture is a small repository with credentials in the
//! syntaxes they are really committed in.

use std::fs;

use assert_cmd::Command;
use serde_json::Value;

const REPO: &str = "tests/fixtures/no_leak";
const BUILD_LOG: &str = "tests/fixtures/no_leak/logs/build-2291.log";
const PEM_FILE: &str = "tests/fixtures/no_leak/deploy/registry-secret.yaml";
const FORMATS: [&str; 7] = ["text", "json", "jsonl", "sarif", "csv", "junit", "github"];

/// Every credential planted in the fixture repository.
const SECRETS: [&str; 15] = [
    "AKIAHHUMJP3ZETLCF5QK",
    "4yxH1vW0mqUH/lLI950X34gZ/nK75hk9MkrNFDSq",
    "AKIAFZTEI4WKHFYUKJCU",
    "oYcokdM37B3RIAcPcrPv9Dt5jMzYNsw7HISRy3Yi",
    "sk_live_dCufnTPOYMAleR62oPwlttzV",
    "xoxb-406875453630-4998424332956-U90qieToJpVDoMLGyYAPj7pt",
    "glpat-shLmaRC4q5jNeTKMns5P",
    "AIzat1S7JFKvs8mzLn--8rlhpfRw3Rq5osRQY7t",
    "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",
    "XkzvOG7hzDS5n3RvgU",
    "ULRfLbOKLAI3nEuu",
    "bc9f7b15efcf6b0f89c74df849881d93",
    "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",
    "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",
    "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",
];

/// The planted credentials plus the body lines of the private key.
fn registered() -> Vec<String> {
    let pem = fs::read_to_string(PEM_FILE).unwrap_or_else(|e| panic!("{PEM_FILE}: {e}"));
    let body: Vec<String> = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::to_string)
        .collect();
    assert!(body.len() > 5, "no key body in {PEM_FILE}");
    SECRETS.iter().map(|s| s.to_string()).chain(body).collect()
}

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn leakscrub(args: &[&str]) -> Run {
    let output = Command::cargo_bin("leakscrub")
        .map(|mut c| c.args(args).arg("--no-progress").output())
        .unwrap_or_else(|e| panic!("cannot find binary: {e}"))
        .unwrap_or_else(|e| panic!("cannot run binary: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

fn assert_no_leak(what: &str, run: &Run) {
    assert_eq!(run.code, Some(1), "{what}: {}", run.stderr);
    for secret in registered() {
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(&secret),
                "{what} shows {}... on {stream}:\n{text}",
                &secret[..4]
            );
        }
    }
}

#[test]
fn no_format_shows_a_secret_without_reveal() {
    for format in FORMATS {
        for color in ["never", "always"] {
            let run = leakscrub(&["scan", "dir", REPO, "-f", format, "--color", color]);
            assert_no_leak(&format!("scan dir --format {format} --color {color}"), &run);
            // The findings are there, masked.
            assert!(run.stdout.contains("AKIA***"), "{format}: {}", run.stdout);
        }
    }
}

#[test]
fn every_format_shows_every_secret_with_reveal() {
    for format in FORMATS {
        let run = leakscrub(&["scan", "dir", REPO, "-f", format, "--reveal"]);
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        for secret in registered() {
            assert!(
                run.stdout.contains(&secret),
                "{format} --reveal lacks {}...",
                &secret[..4]
            );
        }
    }
}

#[test]
fn build_logs_show_no_secret_in_any_format() {
    for format in FORMATS {
        for color in ["never", "always"] {
            let run = leakscrub(&["scan", "log", BUILD_LOG, "-f", format, "--color", color]);
            assert_no_leak(&format!("scan log --format {format} --color {color}"), &run);
        }
    }
}

fn findings(run: &Run) -> Vec<Value> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", run.stdout));
    report.as_array().cloned().unwrap_or_default()
}

#[test]
fn a_match_holds_its_own_line_only() {
    let run = leakscrub(&["scan", "dir", REPO, "-f", "json"]);
    let all = findings(&run);
    assert!(all.len() >= 20, "{}", run.stdout);
    for f in &all {
        let shown = f["match"].as_str().unwrap_or_default();
        let lines = f["end_line"].as_u64().unwrap_or(0) - f["line"].as_u64().unwrap_or(0);
        assert!(
            shown.matches('\n').count() as u64 <= lines,
            "{} at {}:{} shows other lines: {shown}",
            f["rule"],
            f["path"],
            f["line"]
        );
    }
    // The secret key's trailing delimiter ends at its line's end: the
    // database URL on the next line is not part of its match.
    let key = all
        .iter()
        .find(|f| {
            f["rule"] == "aws-secret-access-key"
                && f["path"] == format!("{REPO}/services/billing/.env")
        })
        .unwrap_or_else(|| panic!("no secret key finding: {all:?}"));
    assert_eq!(key["match"], "aws_secret_access_key=oYco***");
}

#[test]
fn sarif_snippets_stay_inside_their_context_region() {
    let run = leakscrub(&["scan", "dir", REPO, "-f", "sarif", "--reveal"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let results = doc["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(results.len() >= 20);
    let mut multi_line = 0;
    for r in &results {
        let loc = &r["locations"][0]["physicalLocation"];
        let context = &loc["contextRegion"];
        let snippet = context["snippet"]["text"].as_str().unwrap_or_default();
        let start = context["startLine"].as_u64().unwrap_or(0);
        let end = context["endLine"].as_u64().unwrap_or(0);
        assert!(snippet.matches('\n').count() as u64 <= end - start, "{r}");
        assert!(start <= loc["region"]["startLine"].as_u64().unwrap_or(0));
        assert!(end >= loc["region"]["endLine"].as_u64().unwrap_or(u64::MAX));
        if end > start {
            // The whole private key, each of its lines.
            assert_eq!(snippet.matches('\n').count() as u64, end - start, "{r}");
            multi_line += 1;
        }
    }
    assert!(multi_line >= 1, "the private key spans lines");
}

#[test]
fn secrets_of_dropped_findings_stay_masked() {
    // Suppress every finding of the rules whose secrets share a line with
    // another rule's: the findings that remain must still mask them.
    let all = findings(&leakscrub(&["scan", "dir", REPO, "-f", "json"]));
    let dropped = ["aws-secret-access-key", "slack-bot-token", "google-api-key"];
    let baseline: Vec<Value> = all
        .iter()
        .filter(|f| dropped.iter().any(|r| f["rule"] == *r))
        .cloned()
        .collect();
    assert!(baseline.len() >= 5, "{all:?}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = dir.path().join("baseline.jsonl");
    let lines: Vec<String> = baseline.iter().map(Value::to_string).collect();
    fs::write(&file, lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();
    for format in FORMATS {
        for color in ["never", "always"] {
            let run = leakscrub(&[
                "scan",
                "dir",
                REPO,
                "-f",
                format,
                "--color",
                color,
                "--baseline",
                &file,
            ]);
            assert_no_leak(&format!("{format} --color {color} with a baseline"), &run);
            assert!(run.stderr.contains("suppressed"), "{}", run.stderr);
        }
    }
    let kept = findings(&leakscrub(&[
        "scan",
        "dir",
        REPO,
        "-f",
        "json",
        "--baseline",
        &file,
    ]));
    assert!(kept.iter().all(|f| dropped.iter().all(|r| f["rule"] != *r)));
    let key_id = kept
        .iter()
        .find(|f| f["path"] == format!("{REPO}/infra/aws/credentials.json"))
        .unwrap_or_else(|| panic!("no key id finding: {kept:?}"));
    assert!(
        key_id["match"]
            .as_str()
            .unwrap_or_default()
            .contains("\"SecretAccessKey\":\"4yxH***\""),
        "{key_id}"
    );
}
