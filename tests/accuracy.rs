//! Detection accuracy on the labelled corpus in `tests/fixtures/corpus`:
//! small realistic repositories with synthetic credentials of many kinds
//! planted among hard negatives (lock-file hashes, UUIDs, SRI digests,
//! references, placeholders, public keys, look-alikes with bad checksums).
//!
//! The real binary scans the corpus; findings are matched to labels by
//! (path, line), not by rule id, since a secret may be found by a
//! provider rule or a generic one.
//!
//! recall    = labelled lines with a finding / labelled lines
//! precision = findings on labelled lines / all findings, where several
//!             findings on one labelled line count once

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Floors: the targets for the default rules. The corpus is tuned on, so
/// these guard against regressions; a held-out corpus is the real measure.
const MIN_RECALL: f64 = 0.97;
const MIN_PRECISION: f64 = 0.97;

const CORPUS: &str = "tests/fixtures/corpus";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Label {
    path: String,
    line: u64,
    kind: String,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    manifest_dir().join(CORPUS)
}

fn read_labels() -> Vec<Label> {
    let text = std::fs::read_to_string(corpus_dir().join("labels.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Label {
                path: v["path"].as_str().unwrap().to_string(),
                line: v["line"].as_u64().unwrap(),
                kind: v["kind"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

/// (path relative to the corpus root, line, rule, masked secret) of every finding.
fn scan_corpus() -> Vec<(String, u64, String, String)> {
    let out = Command::cargo_bin("leakscrub")
        .unwrap()
        .current_dir(manifest_dir())
        .args(["scan", "dir", CORPUS, "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected findings; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report.as_array().unwrap();
    let prefix = format!("{CORPUS}/");
    findings
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let rel = path.strip_prefix(&prefix).unwrap_or(path).to_string();
            (
                rel,
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn recall_and_precision_on_labelled_corpus() {
    let labels = read_labels();
    assert!(labels.len() >= 100, "corpus too small: {}", labels.len());
    let kinds: BTreeSet<&str> = labels.iter().map(|l| l.kind.as_str()).collect();
    assert!(kinds.len() >= 65, "only {} credential kinds", kinds.len());

    let labelled: BTreeMap<(&str, u64), &str> = labels
        .iter()
        .map(|l| ((l.path.as_str(), l.line), l.kind.as_str()))
        .collect();
    let findings = scan_corpus();

    let mut hit_lines: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut false_positives = Vec::new();
    for (path, line, rule, secret) in &findings {
        if labelled.contains_key(&(path.as_str(), *line)) {
            hit_lines.insert((path.clone(), *line));
        } else {
            false_positives.push(format!("{path}:{line}  {rule}  {secret}"));
        }
    }
    // Precision counts lines, so two rules agreeing on one false positive
    // cost one line, as two agreeing on a secret earn one.
    let fp_lines: BTreeSet<(String, u64)> = findings
        .iter()
        .filter(|(p, l, _, _)| !labelled.contains_key(&(p.as_str(), *l)))
        .map(|(p, l, _, _)| (p.clone(), *l))
        .collect();

    let mut misses_by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for l in &labels {
        if !hit_lines.contains(&(l.path.clone(), l.line)) {
            misses_by_kind
                .entry(l.kind.as_str())
                .or_default()
                .push(format!("{}:{}", l.path, l.line));
        }
    }

    let recall = hit_lines.len() as f64 / labelled.len() as f64;
    let reported = hit_lines.len() + fp_lines.len();
    let precision = if reported == 0 {
        0.0
    } else {
        hit_lines.len() as f64 / reported as f64
    };

    println!(
        "corpus: {} labelled secrets of {} kinds, {} findings",
        labelled.len(),
        kinds.len(),
        findings.len()
    );
    println!(
        "recall    {recall:.3} ({} / {})",
        hit_lines.len(),
        labelled.len()
    );
    println!(
        "precision {precision:.3} ({} / {reported})",
        hit_lines.len()
    );
    if !misses_by_kind.is_empty() {
        println!("\nmissed, by kind:");
        println!("{:<40} {:>6}  where", "kind", "missed");
        for (kind, places) in &misses_by_kind {
            println!("{kind:<40} {:>6}  {}", places.len(), places.join(", "));
        }
    }
    if !false_positives.is_empty() {
        println!("\nfalse positives:");
        for fp in &false_positives {
            println!("  {fp}");
        }
    }

    assert!(
        recall >= MIN_RECALL,
        "recall {recall:.3} below {MIN_RECALL}"
    );
    assert!(
        precision >= MIN_PRECISION,
        "precision {precision:.3} below {MIN_PRECISION}"
    );
}

#[test]
fn labels_point_at_planted_lines() {
    let root = corpus_dir();
    let mut seen = BTreeSet::new();
    for l in read_labels() {
        assert!(
            seen.insert((l.path.clone(), l.line)),
            "two labels on {}:{}",
            l.path,
            l.line
        );
        let text = std::fs::read_to_string(root.join(&l.path))
            .unwrap_or_else(|e| panic!("{}: {e}", l.path));
        let line = text
            .lines()
            .nth(l.line as usize - 1)
            .unwrap_or_else(|| panic!("{}:{} is past the end", l.path, l.line));
        assert!(!line.trim().is_empty(), "{}:{} is blank", l.path, l.line);
    }
}

/// Every labelled file must reach the engine: not hidden by an ignore file
/// (the walk honours .gitignore and .ignore, in the corpus and above it)
/// and not mistaken for binary (a NUL byte in its first 8 KiB).
#[test]
fn labelled_files_are_walked_and_are_text() {
    let root = corpus_dir();
    let mut walked = BTreeSet::new();
    let walker = ignore::WalkBuilder::new(&root)
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walker {
        let entry = entry.unwrap();
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let rel = entry.path().strip_prefix(&root).unwrap();
            walked.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    for l in read_labels() {
        assert!(
            walked.contains(&l.path),
            "{} is skipped by an ignore file",
            l.path
        );
        let bytes = std::fs::read(root.join(&l.path)).unwrap();
        let head = &bytes[..bytes.len().min(8 * 1024)];
        assert!(!head.contains(&0), "{} would be skipped as binary", l.path);
    }
}

/// The committed corpus is exactly what `generate.py` writes, so labels and
/// files cannot drift apart. Needs python3; without it the check is skipped
/// with a note.
#[test]
fn corpus_matches_its_generator() {
    let probe = std::process::Command::new("python3")
        .arg("--version")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 not found: corpus/generator sync not checked");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .arg(corpus_dir().join("generate.py"))
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "generate.py failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let generated = list_files(out.path());
    let mut committed = list_files(&corpus_dir());
    committed.remove("generate.py");
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "corpus files differ from generate.py's output; rerun it"
    );
    for (path, bytes) in &generated {
        assert!(
            committed.get(path) == Some(bytes),
            "{path} differs from generate.py's output; rerun it"
        );
    }
}

fn list_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
