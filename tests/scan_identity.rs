//! One blob, several places: the same bytes reached at two paths are
//! matched once and reported at both, end to end.

use std::fs;
use std::io::Write;
use std::path::Path;

use assert_cmd::Command;

/// A GitHub classic PAT with a valid CRC32 checksum (synthetic).
const TOKEN: &str = "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";

fn env_file() -> String {
    format!("# shared CI settings\nREGISTRY=ghcr.io/acme\nGITHUB_TOKEN={TOKEN}\nLOG_LEVEL=info\n")
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// (path, line, column, fingerprint, provenance) of every finding.
fn scan(dir: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::cargo_bin("leakscrub")
        .unwrap()
        .args(["scan", "dir", "--format", "json", "--no-progress"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    let findings = if out.stdout.is_empty() {
        vec![]
    } else {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().unwrap().clone()
    };
    (
        out.status.code().unwrap_or(-1),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn relative(f: &serde_json::Value, root: &Path) -> String {
    let path = f["path"].as_str().unwrap();
    let root = root.to_string_lossy();
    path.strip_prefix(root.as_ref())
        .unwrap_or(path)
        .trim_start_matches('/')
        .to_string()
}

#[test]
fn a_file_copied_to_two_folders_is_reported_at_both() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "services/api/.env", env_file().as_bytes());
    write(dir.path(), "services/worker/.env", env_file().as_bytes());
    for threads in ["1", "4"] {
        let (code, findings, stderr) = scan(dir.path(), &["--threads", threads]);
        assert_eq!(code, 1, "{stderr}");
        let paths: Vec<String> = findings.iter().map(|f| relative(f, dir.path())).collect();
        assert_eq!(
            paths,
            ["services/api/.env", "services/worker/.env"],
            "{stderr}"
        );
        for f in &findings {
            assert_eq!(
                (f["rule"].as_str(), f["line"].as_u64()),
                (Some("github-pat"), Some(3))
            );
            assert_eq!(f["column"], 14);
            let shown = f["provenance"][0]["path"].as_str().unwrap();
            assert_eq!(shown, f["path"].as_str().unwrap());
        }
        // Fingerprints carry each copy's own path, as a baseline needs.
        assert_ne!(findings[0]["fingerprint"], findings[1]["fingerprint"]);
        assert!(stderr.contains("scanned 2 files"), "{stderr}");
    }
}

#[test]
fn a_copy_gets_the_fingerprint_it_would_get_alone() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/settings.env", env_file().as_bytes());
    write(dir.path(), "b/settings.env", env_file().as_bytes());
    let (_, both, _) = scan(dir.path(), &[]);
    fs::remove_file(dir.path().join("a/settings.env")).unwrap();
    let (_, alone, _) = scan(dir.path(), &[]);
    assert_eq!(alone.len(), 1);
    let copy = both
        .iter()
        .find(|f| relative(f, dir.path()) == "b/settings.env")
        .unwrap();
    assert_eq!(copy["fingerprint"], alone[0]["fingerprint"]);
    assert_eq!(copy["provenance"], alone[0]["provenance"]);
}

#[test]
fn the_same_file_in_two_archives_and_the_same_archive_twice() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_file();
    let readme: &[u8] = b"# deploy bundle\n";
    let bundle = zip(&[("README.md", readme), ("config/app.env", env.as_bytes())]);
    let other = zip(&[("app.env", env.as_bytes())]);
    write(dir.path(), "releases/v1.2.0/bundle.zip", &bundle);
    write(dir.path(), "releases/v1.3.0/bundle.zip", &bundle);
    write(dir.path(), "backup/env.zip", &other);
    let (code, findings, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let paths: Vec<String> = findings.iter().map(|f| relative(f, dir.path())).collect();
    assert_eq!(
        paths,
        [
            "backup/env.zip!app.env",
            "releases/v1.2.0/bundle.zip!config/app.env",
            "releases/v1.3.0/bundle.zip!config/app.env",
        ],
        "{stderr}"
    );
    let copy = &findings[2];
    assert_eq!(copy["provenance"][1]["kind"], "member");
    assert_eq!(copy["provenance"][1]["path"], "config/app.env");
    assert!(copy["provenance"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("releases/v1.3.0/bundle.zip"));
    let fingerprints: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), 3);
}

#[test]
fn a_copy_under_an_allowlisted_path_is_judged_by_its_own_path() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".leakscrub.toml",
        b"[[allowlists]]\ndescription = \"recorded test fixtures\"\npaths = ['''^(.*/)?testdata/''']\n",
    );
    write(dir.path(), "deploy/prod.env", env_file().as_bytes());
    write(dir.path(), "testdata/prod.env", env_file().as_bytes());
    write(dir.path(), "ops/prod.env", env_file().as_bytes());
    let (code, findings, stderr) = scan(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let paths: Vec<String> = findings.iter().map(|f| relative(f, dir.path())).collect();
    assert_eq!(paths, ["deploy/prod.env", "ops/prod.env"], "{stderr}");
}

#[test]
fn reports_with_copies_are_byte_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_file();
    let bundle = zip(&[("deploy/.env", env.as_bytes())]);
    for i in 0..12 {
        write(dir.path(), &format!("tenants/t{i:02}/.env"), env.as_bytes());
        write(dir.path(), &format!("tenants/t{i:02}/bundle.zip"), &bundle);
    }
    let run = |threads: &str| {
        Command::cargo_bin("leakscrub")
            .unwrap()
            .args([
                "scan",
                "dir",
                "--format",
                "sarif",
                "--no-progress",
                "-j",
                threads,
            ])
            .arg(dir.path())
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    for _ in 0..3 {
        assert!(run("4") == one, "reports differ between -j 1 and -j 4");
    }
    let report: serde_json::Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(report["runs"][0]["results"].as_array().unwrap().len(), 24);
}
