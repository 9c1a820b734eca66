//! The blobs a run has already scanned, by content identity. A blob seen
//! again is not matched again: its findings are copied to the provenance
//! it was reached at the second time, when the scan ends.
//!
//! Rules and allowlists can depend on a blob's path (path-scoped rules,
//! allowlisted paths, lock files), so a copy at a path the rules treat
//! differently is scanned on its own.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::blob::id::BlobId;
use crate::blob::Origin;
use crate::engine::placeholder::is_lock_file;
use crate::finding::{fingerprint, Finding};
use crate::rules::{Allowlists, RuleSet};
use crate::sources::Provenance;

/// Blobs claimed in this run, and the copies that were not scanned.
#[derive(Default)]
pub struct SeenBlobs {
    scanned: Mutex<HashMap<BlobId, Vec<Scanned>>>,
    copies: Mutex<Vec<Duplicate>>,
}

struct Scanned {
    prov: Provenance,
    /// Computed when a copy turns up: most blobs are never seen twice.
    profile: Option<Vec<bool>>,
}

/// A blob not scanned because `of` held the same bytes.
struct Duplicate {
    at: Provenance,
    of: Provenance,
}

impl SeenBlobs {
    /// Whether the blob `id` at `prov` must be scanned: false when the
    /// same bytes were already scanned at a path the rules treat alike.
    pub fn claim(&self, id: BlobId, prov: &Provenance, rules: &RuleSet) -> bool {
        let Ok(mut scanned) = self.scanned.lock() else {
            return true;
        };
        let Some(earlier) = scanned.get_mut(&id) else {
            scanned.insert(
                id,
                vec![Scanned {
                    prov: prov.clone(),
                    profile: None,
                }],
            );
            return true;
        };
        let profile = path_profile(rules, prov.innermost_path());
        for e in earlier.iter_mut() {
            let theirs = e
                .profile
                .get_or_insert_with(|| path_profile(rules, e.prov.innermost_path()));
            if *theirs == profile {
                if let Ok(mut copies) = self.copies.lock() {
                    copies.push(Duplicate {
                        at: prov.clone(),
                        of: e.prov.clone(),
                    });
                    return false;
                }
                return true;
            }
        }
        earlier.push(Scanned {
            prov: prov.clone(),
            profile: Some(profile),
        });
        true
    }

    /// Adds to `findings` those of every copy: each finding made in the
    /// scanned blob (or in what was unpacked or decoded from it), placed
    /// at the copy. Findings of rules that flag a file by its path alone
    /// are not copied: the copy's own path decides those.
    pub fn add_copies(self, findings: &mut Vec<Finding>) {
        let copies = self.copies.into_inner().unwrap_or_else(|e| e.into_inner());
        if copies.is_empty() {
            return;
        }
        // A copy may sit inside a blob that is itself a copy (the same
        // archive twice, holding a file seen elsewhere): repeat until
        // nothing new comes, at most once per level of nesting.
        let mut done = vec![0usize; copies.len()];
        loop {
            let mut added = Vec::new();
            for (copy, from) in copies.iter().zip(done.iter_mut()) {
                let origins = copy.of.origins();
                let start = *from;
                *from = findings.len();
                for f in &findings[start..] {
                    if let Some(moved) = place_at_copy(f, copy, &origins) {
                        added.push(moved);
                    }
                }
            }
            if added.is_empty() {
                return;
            }
            findings.extend(added);
        }
    }
}

/// `f` as found in `copy.at`, if `f` was found in `copy.of`.
fn place_at_copy(f: &Finding, copy: &Duplicate, of_origins: &[Origin]) -> Option<Finding> {
    let of = &copy.of;
    if f.commit != of.commit || f.layer != of.layer || !f.provenance.starts_with(of_origins) {
        return None;
    }
    let path_only_of_the_blob = f.line == 0 && f.provenance.len() == of_origins.len();
    if path_only_of_the_blob {
        return None;
    }
    let inner = f.path.strip_prefix(&of.path)?;
    let at = &copy.at;
    let mut provenance = at.origins();
    provenance.extend_from_slice(&f.provenance[of_origins.len()..]);
    let mut moved = f.clone();
    moved.path = format!("{}{inner}", at.path);
    moved.fingerprint = fingerprint(
        &f.rule,
        &format!("{}{inner}", at.fingerprint_path()),
        &f.secret,
    );
    moved.commit = at.commit.clone();
    moved.author = at.author.clone();
    moved.email = at.email.clone();
    moved.date = at.date.clone();
    moved.layer = at.layer.clone();
    moved.deleted = at.deleted;
    moved.provenance = provenance;
    if f.line == 0 {
        // A member flagged by its name: its excerpt is its path.
        let detected = format!("file detected: {}", moved.path).into_bytes();
        moved.line_text = detected.clone();
        moved.line_masked = detected;
    }
    Some(moved)
}

/// What the rules decide from a path alone: which path-scoped rules
/// apply, which allowlisted paths it is under, whether it is a lock file.
/// Two paths with the same profile get the same findings from the same
/// bytes.
fn path_profile(rules: &RuleSet, path: &str) -> Vec<bool> {
    let mut profile = Vec::new();
    let lists = |a: &Allowlists, profile: &mut Vec<bool>| {
        for list in &a.lists {
            profile.extend(list.paths.iter().map(|re| re.is_match(path.as_bytes())));
        }
    };
    for rule in &rules.rules {
        if let Some(re) = &rule.path {
            profile.push(re.is_match(path.as_bytes()));
        }
        lists(&rule.allowlist, &mut profile);
    }
    lists(&rules.allowlist, &mut profile);
    profile.push(is_lock_file(path));
    profile
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::finding;

    fn rules(toml: &str) -> RuleSet {
        let file = crate::rules::load::parse_rule_file(toml, "t.toml").unwrap();
        crate::rules::load::build_rule_set(&[("t".into(), file)], &[]).unwrap()
    }

    const RULES: &str = r#"
[[rules]]
id = "github-pat"
description = "GitHub token"
regex = '''ghp_[A-Za-z0-9]{36}'''
keywords = ["ghp_"]

[[allowlists]]
paths = ['''testdata/''']
"#;

    #[test]
    fn the_same_bytes_are_scanned_once_where_the_rules_treat_paths_alike() {
        let rules = rules(RULES);
        let seen = SeenBlobs::default();
        let id = BlobId::of_bytes(b"GITHUB_TOKEN=...");
        assert!(seen.claim(id, &Provenance::path("api/.env"), &rules));
        assert!(!seen.claim(id, &Provenance::path("worker/.env"), &rules));
        // An allowlisted path decides differently: scanned on its own.
        assert!(seen.claim(id, &Provenance::path("testdata/.env"), &rules));
        assert!(!seen.claim(id, &Provenance::path("more/testdata/.env"), &rules));
        let other = BlobId::of_bytes(b"LOG_LEVEL=info");
        assert!(seen.claim(other, &Provenance::path("worker/.env"), &rules));
    }

    #[test]
    fn findings_inside_a_scanned_archive_are_placed_in_its_copy() {
        let rules = rules(RULES);
        let seen = SeenBlobs::default();
        let id = BlobId::of_bytes(b"PK...");
        let first = Provenance::path("v1/bundle.zip");
        let copy = Provenance::path("v2/bundle.zip").with_fingerprint_path("repo/v2/bundle.zip");
        assert!(seen.claim(id, &first, &rules));
        assert!(!seen.claim(id, &copy, &rules));

        let member = first.member("config/app.env").decoded("base64");
        let mut inside = finding(&member.path, 3);
        inside.provenance = member.origins();
        let elsewhere = finding("v1/other.env", 1);
        let mut findings = vec![inside.clone(), elsewhere];
        seen.add_copies(&mut findings);

        assert_eq!(findings.len(), 3);
        let moved = &findings[2];
        assert_eq!(moved.path, "v2/bundle.zip!config/app.env");
        assert_eq!(
            moved.provenance,
            copy.member("config/app.env").decoded("base64").origins()
        );
        assert_eq!(
            moved.fingerprint,
            fingerprint(
                "github-pat",
                "repo/v2/bundle.zip!config/app.env",
                &inside.secret
            )
        );
        assert_eq!((moved.line, moved.column), (inside.line, inside.column));
    }

    #[test]
    fn a_copy_inside_a_copy_is_placed_too() {
        let rules = RuleSet::default();
        let seen = SeenBlobs::default();
        // outer.zip holds app.env, a copy of top.env; outer.zip is copied.
        let top = Provenance::path("top.env");
        let outer = Provenance::path("outer.zip");
        let member = outer.member("app.env");
        let outer_copy = Provenance::path("backup/outer.zip");
        assert!(seen.claim(BlobId::of_bytes(b"env"), &top, &rules));
        assert!(seen.claim(BlobId::of_bytes(b"zip"), &outer, &rules));
        assert!(!seen.claim(BlobId::of_bytes(b"zip"), &outer_copy, &rules));
        assert!(!seen.claim(BlobId::of_bytes(b"env"), &member, &rules));
        let mut findings = vec![finding("top.env", 2)];
        seen.add_copies(&mut findings);
        let mut paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        paths.sort();
        assert_eq!(
            paths,
            ["backup/outer.zip!app.env", "outer.zip!app.env", "top.env"]
        );
    }
}
