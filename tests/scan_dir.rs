//! `leakscrub scan dir` end to end: the real binary on real files.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

/// A GitHub classic PAT with a valid CRC32 checksum (synthetic).
const TOKEN: &str = "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";
/// The same shape with a wrong checksum: a look-alike.
const LOOKALIKE: &str = "ghp_R4nd0mB0dyW1thThirtyCh4rs7xQzTAAAAAA";

fn leakscrub() -> Command {
    let mut c = Command::cargo_bin("leakscrub").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn scan_json(dir: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = leakscrub()
        .args(["scan", "dir", "--format", "json", "--no-progress"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    let findings: Vec<serde_json::Value> = if out.stdout.is_empty() {
        vec![]
    } else {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["findings"].as_array().unwrap().clone()
    };
    (
        out.status.code().unwrap_or(-1),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn finds_a_token_with_position_and_masks_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("deploy.sh"),
        format!("#!/bin/sh\n\nexport GH_TOKEN={TOKEN}\n"),
    )
    .unwrap();
    let (code, findings, stderr) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f["rule"], "github-pat");
    assert_eq!(f["line"], 3);
    assert_eq!(f["column"], 17);
    assert_eq!(f["secret"], "ghp_***");
    assert!(f["path"].as_str().unwrap().ends_with("deploy.sh"));
    assert!(f["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("github-pat:"));
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&findings).unwrap()).contains(TOKEN));
    assert!(stderr.contains("1 finding"), "{stderr}");
}

#[test]
fn reveal_shows_the_raw_secret() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.env"), format!("T={TOKEN}\n")).unwrap();
    let (_, findings, _) = scan_json(dir.path(), &["--reveal"]);
    assert_eq!(findings[0]["secret"], TOKEN);
}

#[test]
fn clean_tree_exits_zero_and_lookalikes_are_not_findings() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), format!("t = {LOOKALIKE}\n")).unwrap();
    let (code, findings, stderr) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(findings.is_empty());
}

#[test]
fn exit_code_flag_changes_the_findings_code() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), format!("{TOKEN}\n")).unwrap();
    let (code, _, _) = scan_json(dir.path(), &["--exit-code", "42"]);
    assert_eq!(code, 42);
}

#[test]
fn missing_path_is_an_error_naming_it_and_never_clean() {
    leakscrub()
        .args(["scan", "dir", "--no-progress", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/definitely/not/here"));
}

#[test]
fn empty_directory_is_not_clean() {
    let dir = tempfile::tempdir().unwrap();
    leakscrub()
        .args(["scan", "dir", "--no-progress"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing was scanned"));
}

#[test]
fn a_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.txt"), format!("{TOKEN}\n")).unwrap();
    let out = leakscrub()
        .args(["scan", "dir", "--no-progress", "--format", "json"])
        .arg(dir.path())
        .arg(dir.path().join("missing.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.txt"), "{stderr}");
    assert!(stderr.contains("1 unreadable input"), "{stderr}");
    assert!(!stderr.contains(TOKEN));
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_broken_links_are_bounded_and_counted() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("d")).unwrap();
    symlink("..", dir.path().join("d/up")).unwrap();
    symlink("nowhere", dir.path().join("broken")).unwrap();
    fs::write(dir.path().join("d/a.txt"), format!("{TOKEN}\n")).unwrap();
    for follow in [false, true] {
        let mut cmd = leakscrub();
        cmd.args(["scan", "dir", "--no-progress", "--format", "json"]);
        if follow {
            cmd.arg("--follow-links");
        }
        let out = cmd
            .arg(dir.path())
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings = report["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "follow={follow}");
    }
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_reported_and_counted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("secret.txt");
    fs::write(&p, format!("{TOKEN}\n")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&p).is_ok() {
        // Running as root: permissions do not apply, nothing to test.
        return;
    }
    leakscrub()
        .args(["scan", "dir", "--no-progress"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("secret.txt")
                .and(predicate::str::contains("permission denied")),
        );
}

#[cfg(target_os = "linux")]
#[test]
fn read_error_mid_file_names_the_input_and_fails_closed() {
    // Reading /proc/self/mem from offset 0 fails with EIO even for root.
    leakscrub()
        .args(["scan", "dir", "--no-progress", "/proc/self/mem"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/proc/self/mem: input/output error",
        ));
}

#[cfg(target_os = "linux")]
#[test]
fn proc_files_that_report_size_zero_are_still_read() {
    leakscrub()
        .args(["scan", "dir", "--no-progress", "/proc/self/status"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("scanned 1 file"));
}

#[test]
fn gitignore_is_respected_unless_no_ignore() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".gitignore"), "build/\n").unwrap();
    fs::create_dir(dir.path().join("build")).unwrap();
    fs::write(dir.path().join("build/out.txt"), format!("{TOKEN}\n")).unwrap();
    fs::write(dir.path().join("main.txt"), "nothing here\n").unwrap();
    let (code, findings, _) = scan_json(dir.path(), &[]);
    assert_eq!((code, findings.len()), (0, 0));
    let (code, findings, _) = scan_json(dir.path(), &["--no-ignore"]);
    assert_eq!((code, findings.len()), (1, 1));
}

#[test]
fn dot_git_is_always_skipped() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join(".git/config"), format!("{TOKEN}\n")).unwrap();
    fs::write(dir.path().join("a.txt"), "clean\n").unwrap();
    let (code, findings, _) = scan_json(dir.path(), &["--no-ignore"]);
    assert_eq!((code, findings.len()), (0, 0));
}

#[test]
fn binary_files_are_skipped_when_walking_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend_from_slice(TOKEN.as_bytes());
    fs::write(dir.path().join("blob.bin"), &bin).unwrap();
    fs::write(dir.path().join("a.txt"), "clean\n").unwrap();
    let (code, findings, stderr) = scan_json(dir.path(), &[]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert!(stderr.contains("1 binary"), "{stderr}");
}

#[test]
fn invalid_utf8_and_crlf_still_scan() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = b"\xff\xfe garbage \xc3\x28\r\n".to_vec();
    data.extend_from_slice(format!("key: {TOKEN}\r\n").as_bytes());
    fs::write(dir.path().join("a.yml"), &data).unwrap();
    let (_, findings, _) = scan_json(dir.path(), &[]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["line"], 2);
    assert_eq!(findings[0]["column"], 6);
}

#[test]
fn max_file_size_skips_walked_files_but_not_named_ones() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    let mut data = "filler line\n".repeat(20_000);
    data.push_str(&format!("{TOKEN}\n"));
    fs::write(&big, &data).unwrap();
    fs::write(dir.path().join("a.txt"), "clean\n").unwrap();
    let (code, findings, stderr) = scan_json(dir.path(), &["--max-file-size", "10KB"]);
    assert_eq!((code, findings.len()), (0, 0));
    assert!(stderr.contains("1 too large"), "{stderr}");
    let (code, findings, _) = scan_json(&big, &["--max-file-size", "10KB"]);
    assert_eq!((code, findings.len()), (1, 1));
    assert_eq!(findings[0]["line"], 20_001);
}

#[test]
fn bad_size_is_a_usage_error() {
    leakscrub()
        .args(["scan", "dir", "--max-file-size", "12XB", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("12XB"));
}

#[test]
fn big_file_split_into_chunks_keeps_every_match_and_line() {
    // More than one 8 MiB chunk, with tokens right around chunk edges.
    let dir = tempfile::tempdir().unwrap();
    let line =
        "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345678\n";
    let mut data = String::with_capacity(20 << 20);
    let mut expected = Vec::new();
    let mut n = 0u64;
    while data.len() < 20 << 20 {
        n += 1;
        if n % 40_000 == 0 || (data.len() + 200) / (8 << 20) != data.len() / (8 << 20) {
            data.push_str(&format!("{TOKEN}\n"));
            expected.push(n);
        } else {
            data.push_str(line);
        }
    }
    fs::write(dir.path().join("big.log"), &data).unwrap();
    let (_, findings, _) = scan_json(dir.path(), &[]);
    let lines: Vec<u64> = findings
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn one_huge_line_without_newline_is_scanned_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = vec![b'a'; 30 << 20];
    let at = 17 << 20;
    data[at..at + TOKEN.len()]
        .copy_from_slice(format!(" {}", &TOKEN[..TOKEN.len() - 1]).as_bytes());
    data[at + TOKEN.len()..at + TOKEN.len() + 1]
        .copy_from_slice(&TOKEN.as_bytes()[TOKEN.len() - 1..]);
    data[at + TOKEN.len() + 1] = b' ';
    fs::write(dir.path().join("one.line"), &data).unwrap();
    let (_, findings, _) = scan_json(dir.path(), &[]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["line"], 1);
    assert_eq!(findings[0]["column"], at as u64 + 2);
}

#[test]
fn inline_allow_markers_suppress() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.py"),
        format!(
            "a = '{TOKEN}'  # leakscrub:allow\nb = '{TOKEN}'  # gitleaks:allow\nc = '{TOKEN}'  # pragma: allowlist secret\n"
        ),
    )
    .unwrap();
    let (code, findings, _) = scan_json(dir.path(), &[]);
    assert_eq!((code, findings.len()), (0, 0));
}

#[test]
fn baseline_and_ignore_file_suppress_known_findings_across_line_moves() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a.txt"), format!("{TOKEN}\n")).unwrap();
    let report = dir.path().join("baseline.json");
    leakscrub()
        .args(["scan", "dir", "--no-progress", "--format", "json", "-o"])
        .arg(&report)
        .arg(&src)
        .assert()
        .code(1);
    // The secret moves down three lines: its fingerprint does not change.
    fs::write(src.join("a.txt"), format!("\n\n\n{TOKEN}\n")).unwrap();
    let (code, findings, stderr) = scan_json(&src, &["--baseline", report.to_str().unwrap()]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert!(stderr.contains("1 suppressed"), "{stderr}");

    let (_, findings, _) = scan_json(&src, &[]);
    let fp = findings[0]["fingerprint"].as_str().unwrap().to_string();
    fs::write(src.join(".leakscrubignore"), format!("# reviewed\n{fp}\n")).unwrap();
    let (code, findings, _) = scan_json(&src, &[]);
    assert_eq!((code, findings.len()), (0, 0));
}

#[test]
fn bad_baseline_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "x\n").unwrap();
    fs::write(dir.path().join("b.json"), "{nope").unwrap();
    let out = leakscrub()
        .args(["scan", "dir", "--no-progress", "--baseline"])
        .arg(dir.path().join("b.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("b.json"));
}

#[test]
fn user_and_gitleaks_configs_add_rules() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.txt"),
        "internal = itk_q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3\n",
    )
    .unwrap();
    let native = dir.path().join("rules.toml");
    fs::write(
        &native,
        "[[rules]]\nid = \"internal-token\"\ndescription = \"Internal token\"\nregex = '''\\b(itk_[a-z0-9]{32})\\b'''\nkeywords = [\"itk_\"]\n",
    )
    .unwrap();
    let (code, findings, stderr) = scan_json(dir.path(), &["--config", native.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings[0]["rule"], "internal-token");

    // A .gitleaks.toml in the scanned folder is picked up on its own.
    fs::write(
        dir.path().join(".gitleaks.toml"),
        "title = \"t\"\n[extend]\nuseDefault = true\n[[rules]]\nid = \"gl-internal\"\ndescription = \"x\"\nregex = '''itk_([a-z0-9]{32})'''\nsecretGroup = 1\nkeywords = [\"itk_\"]\n",
    )
    .unwrap();
    let (code, findings, stderr) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(findings.iter().any(|f| f["rule"] == "gl-internal"));
}

#[test]
fn broken_config_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "x\n").unwrap();
    let cfg = dir.path().join("bad.toml");
    fs::write(
        &cfg,
        "[[rules]]\nid = \"x\"\ndescription = \"x\"\nregex = \"(unclosed\"\n",
    )
    .unwrap();
    let out = leakscrub()
        .args(["scan", "dir", "--no-progress", "--config"])
        .arg(&cfg)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
}

#[test]
fn rules_list_and_test_work() {
    leakscrub()
        .args(["rules", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("github-pat"));
    leakscrub()
        .args(["rules", "test"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 failure(s)"));
}

#[test]
fn rules_test_fails_on_a_user_file_with_a_broken_example() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mine.toml");
    fs::write(
        &f,
        "[[rules]]\nid = \"mine\"\ndescription = \"m\"\nregex = '''mine_[0-9]{4}'''\nkeywords = [\"mine_\"]\nexamples = [\"mine_12\"]\nnegative_examples = [\"mine_1234\"]\n",
    )
    .unwrap();
    leakscrub()
        .args(["rules", "test"])
        .arg(&f)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("example 1 does not match"))
        .stderr(predicate::str::contains("negative example 1 matches"));
}
