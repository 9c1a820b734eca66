//! Scans that stop before reading everything: `--max-findings` and
//! `--fail-fast`, end to end.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// A GitHub classic PAT with a valid CRC32 checksum (synthetic).
const TOKEN: &str = "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";

fn leakscrub() -> Command {
    let mut c = Command::cargo_bin("leakscrub").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// A monorepo whose every service leaked the same deploy token.
fn services_with_tokens(root: &Path, n: usize) {
    for i in 0..n {
        let dir = root.join(format!("services/svc-{i:02}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("deploy.sh"),
            format!("#!/bin/sh\n# service {i}\nexport GH_TOKEN={TOKEN}\n./deploy --env prod\n"),
        )
        .unwrap();
    }
}

struct Run {
    code: i32,
    findings: Vec<serde_json::Value>,
    summary: serde_json::Value,
    stderr: String,
}

fn scan(args: &[&str], paths: &[&Path]) -> Run {
    let out_dir = tempfile::tempdir().unwrap();
    let summary_path = out_dir.path().join("summary.json");
    let out = leakscrub()
        .args([
            "scan",
            "dir",
            "--format",
            "json",
            "--no-progress",
            "--summary",
        ])
        .arg(&summary_path)
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    let findings = if out.stdout.is_empty() {
        vec![]
    } else {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().unwrap().clone()
    };
    let summary = fs::read(&summary_path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        findings,
        summary,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn max_findings_stops_the_walk_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    services_with_tokens(dir.path(), 40);

    let all = scan(&["--threads", "1"], &[dir.path()]);
    assert_eq!(all.findings.len(), 40, "{}", all.stderr);
    assert!(!all.stderr.contains("stopped early"), "{}", all.stderr);
    assert!(all.summary.get("stopped_early").is_none());

    let some = scan(&["--threads", "1", "--max-findings", "2"], &[dir.path()]);
    assert_eq!(some.code, 1, "{}", some.stderr);
    assert_eq!(some.findings.len(), 2);
    assert!(
        some.stderr
            .contains("2 findings, stopped early after 2 findings (--max-findings)"),
        "{}",
        some.stderr
    );
    assert_eq!(some.summary["stopped_early"], "max_findings");
    let files = some.summary["files"].as_u64().unwrap();
    assert!(files < 10, "read {files} files after the second finding");
}

#[test]
fn max_findings_counts_only_what_the_baseline_lets_through() {
    let dir = tempfile::tempdir().unwrap();
    services_with_tokens(dir.path(), 6);
    let baseline = tempfile::tempdir().unwrap();
    let baseline_path = baseline.path().join("baseline.json");
    let out = leakscrub()
        .args([
            "scan",
            "dir",
            "--format",
            "json",
            "--no-progress",
            "--output",
        ])
        .arg(&baseline_path)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // One new leak, sorted last among the known ones.
    let new_dir = dir.path().join("services/svc-99");
    fs::create_dir_all(&new_dir).unwrap();
    fs::write(
        new_dir.join("release.env"),
        "NPM_TOKEN=npm_4fR9kQ2mXv7LpT3wZ8nB6yH1jD5sC0aE2gU7\nGITHUB_TOKEN=ghp_Zq8Lm3Vx7Tn2Wr5Yk9Pb4Hd6Jf1Gs0Ce3ATWxK\n",
    )
    .unwrap();
    let run = scan(
        &["--threads", "1", "--max-findings", "1", "--baseline"],
        &[baseline_path.as_path(), dir.path()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 1, "{}", run.stderr);
    assert!(run.findings[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("release.env"));
}

#[test]
fn fail_fast_stops_at_the_first_unreadable_input_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    services_with_tokens(dir.path(), 3);
    let missing = dir.path().join("ci/secrets.env");

    let lenient = scan(&["--threads", "1"], &[missing.as_path(), dir.path()]);
    assert_eq!(lenient.code, 1, "{}", lenient.stderr);
    assert_eq!(lenient.findings.len(), 3);

    let strict = scan(
        &["--threads", "1", "--fail-fast"],
        &[missing.as_path(), dir.path()],
    );
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(strict.findings.is_empty(), "{:?}", strict.findings);
    assert!(
        strict
            .stderr
            .contains("secrets.env: no such file or directory"),
        "{}",
        strict.stderr
    );
    assert!(
        strict
            .stderr
            .contains("stopped early at the first unreadable input"),
        "{}",
        strict.stderr
    );
    assert_eq!(strict.summary["stopped_early"], "fail_fast");
}

#[test]
fn fail_fast_reports_what_was_found_before_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    services_with_tokens(dir.path(), 1);
    let script = dir.path().join("services/svc-00/deploy.sh");
    let missing = dir.path().join("ci/secrets.env");
    let run = scan(&["--fail-fast"], &[script.as_path(), missing.as_path()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.findings.len(), 1);
}

#[test]
fn max_findings_stops_reading_a_build_log() {
    // A long CI log that prints the token on every deploy step.
    let mut log = String::new();
    for step in 0..200_000 {
        log.push_str(&format!(
            "2026-03-02T10:{:02}:{:02}.1234567Z [deploy {step}] GH_TOKEN={TOKEN} pushing layer\n",
            step / 60 % 60,
            step % 60
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.log");
    fs::write(&path, &log).unwrap();
    let summary_path = dir.path().join("summary.json");
    let out = leakscrub()
        .args([
            "scan",
            "log",
            "--format",
            "json",
            "--no-progress",
            "--threads",
            "1",
        ])
        .args(["--max-findings", "3", "--summary"])
        .arg(&summary_path)
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.as_array().map(Vec::len), Some(3));
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["stopped_early"], "max_findings");
    // The log is read in 8 MiB chunks; it stops after the first one.
    let read = summary["bytes"].as_u64().unwrap();
    assert!(
        read < log.len() as u64 * 2 / 3,
        "read {read} of {} bytes",
        log.len()
    );
}
