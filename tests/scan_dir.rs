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
        report.as_array().unwrap().clone()
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
        let findings = report.as_array().unwrap();
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

/// Runs `scan dir ARGS --format json` in `cwd`.
fn scan_json_in(cwd: &Path, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = leakscrub()
        .current_dir(cwd)
        .args(["scan", "dir", "--format", "json", "--no-progress"])
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let findings = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fingerprints(findings: &[serde_json::Value]) -> Vec<String> {
    let mut fps: Vec<String> = findings
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    fps.sort();
    fps
}

fn shown_paths(findings: &[serde_json::Value]) -> Vec<String> {
    let mut paths: Vec<String> = findings
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// A service folder with credentials in several syntaxes: an INI file with
/// two on adjacent lines, a JSON file with two on one line.
fn write_service(dir: &Path) {
    fs::create_dir_all(dir.join("config")).unwrap();
    fs::write(
        dir.join("config/app.ini"),
        "[aws]\nregion = eu-west-1\naws_access_key_id = AKIAQYLPMN5HHHFPZAM2\n\
         aws_secret_access_key = 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\n\n\
         [database]\nurl = postgres://app_user:Xk9vR2mPq7LwT4zN@db.internal:5432/app\n",
    )
    .unwrap();
    fs::write(
        dir.join("creds.json"),
        format!(
            "{{\"AccessKeyId\":\"AKIAQYLPMN5HHHFPZAM2\",\"github\":\"{TOKEN}\",\"region\":\"eu-west-1\"}}\n"
        ),
    )
    .unwrap();
}

#[test]
fn fingerprints_do_not_depend_on_how_the_folder_is_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("proj");
    write_service(&proj);
    let abs = proj.to_str().unwrap();
    let (code, from_parent, _) = scan_json_in(tmp.path(), &["proj"]);
    assert_eq!(code, 1);
    assert!(from_parent.len() >= 4, "{from_parent:?}");
    let expected = fingerprints(&from_parent);
    for (cwd, arg) in [
        (proj.as_path(), "."),
        (tmp.path(), "proj/"),
        (tmp.path(), "./proj/../proj"),
        (Path::new("/"), abs),
    ] {
        let (code, found, stderr) = scan_json_in(cwd, &[arg]);
        assert_eq!(code, 1, "{arg}: {stderr}");
        assert_eq!(fingerprints(&found), expected, "scan dir {arg}");
    }
    // Paths are shown as typed.
    let (_, found, _) = scan_json_in(&proj, &["."]);
    assert_eq!(shown_paths(&found), ["config/app.ini", "creds.json"]);
    let (_, found, _) = scan_json_in(Path::new("/"), &[abs]);
    assert_eq!(
        shown_paths(&found),
        [format!("{abs}/config/app.ini"), format!("{abs}/creds.json")]
    );
}

#[test]
fn inside_a_work_tree_fingerprints_are_relative_to_its_root() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("orders");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let api = repo.join("services/api");
    write_service(&api);
    fs::write(
        repo.join("deploy.sh"),
        format!("#!/bin/sh\nexport GH_TOKEN={TOKEN}\n"),
    )
    .unwrap();

    // The whole repository, scanned from its root.
    let (_, whole, _) = scan_json_in(&repo, &["."]);
    let api_fps = |found: &[serde_json::Value]| {
        let only: Vec<serde_json::Value> = found
            .iter()
            .filter(|f| {
                f["path"].as_str().unwrap().contains("app.ini")
                    || f["path"].as_str().unwrap().contains("creds.json")
            })
            .cloned()
            .collect();
        fingerprints(&only)
    };
    let expected = api_fps(&whole);
    assert!(expected.len() >= 4);
    for (cwd, args) in [
        (repo.as_path(), vec!["services/api"]),
        (api.as_path(), vec!["."]),
        (api.as_path(), vec!["config/app.ini", "creds.json"]),
        (Path::new("/"), vec![api.to_str().unwrap()]),
    ] {
        let (code, found, stderr) = scan_json_in(cwd, &args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert_eq!(fingerprints(&found), expected, "scan dir {args:?}");
    }

    // So a baseline written at the root suppresses the same secrets when a
    // hook scans the subfolder.
    let baseline = tmp.path().join("baseline.json");
    leakscrub()
        .current_dir(&repo)
        .args(["scan", "dir", "--no-progress", "-f", "json", "-o"])
        .arg(&baseline)
        .arg(".")
        .assert()
        .code(1);
    let (code, found, stderr) =
        scan_json_in(&api, &["--baseline", baseline.to_str().unwrap(), "."]);
    assert_eq!((code, found.len()), (0, 0), "{stderr}");
}

#[test]
fn what_gitignore_hides_is_counted_with_the_way_to_scan_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    fs::create_dir_all(repo.join(".git/refs")).unwrap();
    fs::write(repo.join(".git/config"), format!("token = {TOKEN}\n")).unwrap();
    // Ignored: 2 folders (node_modules/, dist/), 3 files (two *.log, one
    // .env.local); api/.gitignore adds 1 file (secrets.dev.json); .ignore
    // adds 1 folder (coverage/).
    fs::write(
        repo.join(".gitignore"),
        "node_modules/\ndist/\n*.log\n.env.local\n.*\n!.gitignore\n!.ignore\n",
    )
    .unwrap();
    fs::write(repo.join(".ignore"), "coverage/\n").unwrap();
    for f in [
        "node_modules/left-pad/index.js",
        "node_modules/left-pad/package.json",
        "dist/app.js",
    ] {
        fs::create_dir_all(repo.join(f).parent().unwrap()).unwrap();
        fs::write(repo.join(f), format!("const t = '{TOKEN}';\n")).unwrap();
    }
    fs::write(repo.join("npm-debug.log"), format!("auth {TOKEN}\n")).unwrap();
    fs::create_dir_all(repo.join("api/coverage")).unwrap();
    fs::write(repo.join("api/coverage/lcov.info"), "SF:src/app.js\n").unwrap();
    fs::write(repo.join("api/server.log"), "listening on 8080\n").unwrap();
    fs::write(repo.join(".env.local"), format!("GH_TOKEN={TOKEN}\n")).unwrap();
    fs::write(repo.join("api/.gitignore"), "secrets.dev.json\n").unwrap();
    fs::write(
        repo.join("api/secrets.dev.json"),
        format!("{{\"t\":\"{TOKEN}\"}}\n"),
    )
    .unwrap();
    fs::write(repo.join("api/app.js"), "module.exports = {};\n").unwrap();
    fs::write(repo.join("README.md"), "# orders\n").unwrap();

    let (code, findings, stderr) = scan_json_in(repo, &["."]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert!(
        stderr.contains("7 ignored by .gitignore (4 files, 3 folders); --no-ignore to scan them"),
        "{stderr}"
    );
    assert!(stderr.contains("scanned 5 files"), "{stderr}");

    let (code, findings, stderr) = scan_json_in(repo, &["--no-ignore", "."]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings.len(), 6, "{findings:?}");
    assert!(!stderr.contains("ignored"), "{stderr}");

    // Scanning a subfolder counts only what is hidden there.
    let (_, _, stderr) = scan_json_in(repo, &["api"]);
    assert!(
        stderr.contains("3 ignored by .gitignore (2 files, 1 folder)"),
        "{stderr}"
    );
}

#[test]
fn nothing_ignored_says_nothing_about_ignore_files() {
    let dir = tempfile::tempdir().unwrap();
    write_service(dir.path());
    fs::create_dir_all(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join(".gitignore"), "*.tmp\n").unwrap();
    let (code, _, stderr) = scan_json_in(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("ignored"), "{stderr}");
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_named_fifo_is_read_and_a_walked_one_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("env.pipe");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            fs::write(
                &fifo,
                format!("AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2\nGH_TOKEN={TOKEN}\n"),
            )
        })
    };
    let (code, findings, stderr) = scan_json(&fifo, &[]);
    // Joined only once the FIFO was surely read: a writer left without a
    // reader would block forever.
    assert_eq!(code, 1, "{stderr}");
    writer.join().unwrap().unwrap();
    let lines: Vec<u64> = findings
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 2], "{findings:?}");

    // Found by walking, nobody writes to it: reading would block forever.
    write_service(dir.path());
    let (code, findings, stderr) = scan_json_in(dir.path(), &["."]);
    assert_eq!(code, 1, "{stderr}");
    assert!(findings.len() >= 4);
    assert!(stderr.contains("1 not a regular file"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn devices_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.env"), format!("T={TOKEN}\n")).unwrap();
    let out = leakscrub()
        .args(["scan", "dir", "--no-progress", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/dev/zero: a character device, not a file"),
        "{stderr}"
    );
    // With a good file beside it the finding is still reported.
    let out = leakscrub()
        .args(["scan", "dir", "--no-progress", "/dev/urandom"])
        .arg(dir.path())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/dev/urandom: a character device, not a file"),
        "{stderr}"
    );
}

#[test]
fn quiet_keeps_the_reason_for_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("src/settings.py");
    let out = leakscrub()
        .args(["scan", "dir", "-q"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("settings.py: no such file or directory"),
        "{stderr}"
    );

    let out = leakscrub()
        .args(["scan", "dir", "--quiet"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nothing was scanned"), "{stderr}");

    // A run that succeeds (or finds something) is silent on stderr.
    write_service(dir.path());
    let out = leakscrub()
        .args(["scan", "dir", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn named_empty_files_are_nothing_to_scan_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["__init__.py", "app/__init__.py", ".keep"] {
        fs::create_dir_all(dir.path().join(f).parent().unwrap()).unwrap();
        fs::write(dir.path().join(f), "").unwrap();
    }
    // As a pre-commit hook calls it: the staged files, by name.
    let (code, findings, stderr) =
        scan_json_in(dir.path(), &["__init__.py", "app/__init__.py", ".keep"]);
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    assert!(stderr.contains("skipped 3 (3 empty)"), "{stderr}");
    assert!(stderr.contains("nothing to scan"), "{stderr}");
    assert!(!stderr.contains("nothing was scanned"), "{stderr}");

    // A folder holding only empty files, or a missing file next to empty
    // ones, still fails.
    let (code, _, stderr) = scan_json_in(dir.path(), &["app"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = scan_json_in(dir.path(), &["__init__.py", "app/missing.py"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("app/missing.py"), "{stderr}");
}

/// Encodes a UTF-8 file as UTF-16 with a byte order mark the way Windows
/// tools do: Python's `utf-16` codec (little-endian, CRLF line ends), or
/// iconv to big-endian with the mark encoded first.
fn utf16_with_python(text: &Path, out: &Path) {
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; t = open(sys.argv[1], encoding='utf-8').read(); \
             open(sys.argv[2], 'wb').write(t.replace('\\n', '\\r\\n').encode('utf-16'))",
        ])
        .arg(text)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

fn utf16be_with_iconv(text: &Path, out: &Path) {
    let mut input = "\u{feff}".as_bytes().to_vec();
    input.extend(fs::read(text).unwrap());
    let encoded = std::process::Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "UTF-16BE"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&input)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(encoded.status.success());
    assert_eq!(&encoded.stdout[..2], b"\xfe\xff");
    fs::write(out, encoded.stdout).unwrap();
}

fn windows_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows")
        .join(name)
}

fn positions(findings: &[serde_json::Value]) -> Vec<(String, u64, u64, u64, u64)> {
    let mut p: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["end_line"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
            )
        })
        .collect();
    p.sort();
    p
}

#[test]
fn utf16_files_are_decoded_with_positions_in_the_decoded_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = Vec::new();
    for name in ["deploy.ps1", "Transcript.txt"] {
        let (code, found, stderr) = scan_json(&windows_fixture(name), &[]);
        assert_eq!(code, 1, "{stderr}");
        reference.push(positions(&found));
    }
    assert!(reference.iter().all(|r| r.len() >= 4), "{reference:?}");
    // The column of a secret after a non-ASCII character counts the
    // character's UTF-8 bytes.
    let transcript = fs::read(windows_fixture("Transcript.txt")).unwrap();
    let text = String::from_utf8(transcript).unwrap();
    let line9 = text.lines().nth(8).unwrap();
    let column = line9.find("ghp_").unwrap() as u64 + 1;
    assert!(reference[1].iter().any(|p| p.1 == 9 && p.2 == column));

    for (encode, sub) in [
        (utf16_with_python as fn(&Path, &Path), "le"),
        (utf16be_with_iconv, "be"),
    ] {
        let folder = dir.path().join(sub);
        fs::create_dir(&folder).unwrap();
        for name in ["deploy.ps1", "Transcript.txt"] {
            encode(&windows_fixture(name), &folder.join(name));
        }
        // Walked, not only named: a UTF-16 file is not taken for binary.
        let (code, found, stderr) = scan_json(&folder, &[]);
        assert_eq!(code, 1, "{sub}: {stderr}");
        assert!(!stderr.contains("binary"), "{sub}: {stderr}");
        for (i, name) in ["deploy.ps1", "Transcript.txt"].iter().enumerate() {
            let mine: Vec<serde_json::Value> = found
                .iter()
                .filter(|f| f["path"].as_str().unwrap().ends_with(name))
                .cloned()
                .collect();
            assert_eq!(positions(&mine), reference[i], "{sub}/{name}");
        }
        assert!(found.iter().all(|f| f["secret"] != TOKEN));
    }
}

#[test]
fn large_utf16_file_is_scanned_in_chunks_with_every_line_right() {
    // Decoded, more than two 8 MiB chunks; secrets at known lines,
    // including around chunk edges, two of them on adjacent lines.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("Export-Log.txt");
    let script = format!(
        "import sys\n\
         token = '{TOKEN}'\n\
         filler = 'INFO  Sync-Mailbox: processed batch with 250 items in 0.42s (queue depth 17)'\n\
         lines, expected, size, n = [], [], 0, 0\n\
         while size < 18 * 1024 * 1024:\n\
         \x20   n += 1\n\
         \x20   edge = (size + 200) // (8 << 20) != size // (8 << 20)\n\
         \x20   if n % 50000 == 0 or n % 50000 == 1 and n > 1 or edge:\n\
         \x20       line = 'WARN  token=' + token\n\
         \x20       expected.append(n)\n\
         \x20   else:\n\
         \x20       line = filler\n\
         \x20   lines.append(line)\n\
         \x20   size += len(line) + 1\n\
         open(sys.argv[1], 'wb').write(('\\n'.join(lines) + '\\n').encode('utf-16'))\n\
         print(' '.join(map(str, expected)))\n"
    );
    let gen = std::process::Command::new("python3")
        .args(["-c", &script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let expected: Vec<u64> = String::from_utf8(gen.stdout)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(expected.len() > 4);
    let (code, findings, stderr) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<u64> = findings
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, expected);
    assert!(findings.iter().all(|f| f["column"] == 13));
}

#[test]
fn a_folder_with_everything_ignored_says_so_even_when_quiet() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".gitignore"), "*.env\n.gitignore\n").unwrap();
    fs::write(dir.path().join("prod.env"), format!("GH_TOKEN={TOKEN}\n")).unwrap();
    fs::write(dir.path().join("staging.env"), "DEBUG=1\n").unwrap();
    let out = leakscrub()
        .args(["scan", "dir", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("nothing was scanned")
            && stderr.contains("(3 ignored by .gitignore; --no-ignore to scan them)"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn links_the_walker_cannot_follow_are_errors_not_ignored_entries() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("deploy/k8s")).unwrap();
    symlink("..", dir.path().join("deploy/k8s/parent")).unwrap();
    symlink("../secrets/prod.env", dir.path().join("deploy/prod.env")).unwrap();
    fs::write(dir.path().join(".gitignore"), "*.bak\n").unwrap();
    fs::write(
        dir.path().join("deploy/values.yaml.bak"),
        format!("token: {TOKEN}\n"),
    )
    .unwrap();
    fs::write(dir.path().join("deploy/k8s/app.yaml"), "replicas: 2\n").unwrap();
    let (_, _, stderr) = scan_json_in(dir.path(), &["--follow-links", "."]);
    assert!(stderr.contains("2 unreadable inputs"), "{stderr}");
    assert!(
        stderr.contains(", 1 ignored by .gitignore; --no-ignore to scan them"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_broken_link_followed_is_one_plain_error_line() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    symlink("../shared/.env", dir.path().join(".env")).unwrap();
    fs::write(dir.path().join("app.py"), "DEBUG = False\n").unwrap();
    let (code, _, stderr) = scan_json_in(dir.path(), &["--follow-links", "."]);
    assert_eq!(code, 2);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(".env")).collect();
    assert_eq!(
        errors,
        ["leakscrub: .env: no such file or directory"],
        "{stderr}"
    );
}
