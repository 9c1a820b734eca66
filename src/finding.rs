//! A finding: one secret at one place, with its provenance. The raw secret
//! never leaves this type unmasked unless the caller asks with `reveal`.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::blob::Origin;
use crate::rules::Confidence;

#[derive(Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub description: String,
    pub path: String,
    /// 1-based.
    pub line: u64,
    pub end_line: u64,
    /// 1-based, in bytes.
    pub column: u64,
    pub end_column: u64,
    /// The raw secret. Serialize findings with [`Finding::to_json`], which
    /// masks it, never with serde directly.
    #[serde(skip)]
    pub secret: Vec<u8>,
    pub fingerprint: String,
    pub entropy: f64,
    pub confidence: Confidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The first line of the commit's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The layer's place in the image, 0 for the base layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    /// The build step that made the layer (its history entry's
    /// `created_by`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// Where the secret was, outermost first: the input, the archive
    /// members it was unpacked from, the encodings it was decoded from.
    pub provenance: Vec<Origin>,
    /// The line(s) holding the secret, raw: shown only with `reveal`.
    #[serde(skip)]
    pub line_text: Vec<u8>,
    /// The same excerpt with every secret any rule matched in it masked,
    /// whether or not that match is reported: the form shown by default.
    #[serde(skip)]
    pub line_masked: Vec<u8>,
}

/// Debug output masks the secret and leaves out the line: a `{:?}` in a
/// log, an assertion or a panic message must not print either.
impl std::fmt::Debug for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finding")
            .field("rule", &self.rule)
            .field("path", &self.path)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("secret", &mask(&self.secret))
            .field("fingerprint", &self.fingerprint)
            .field("commit", &self.commit)
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl Finding {
    /// What makes this finding this finding: see [`FindingKey`].
    pub fn key(&self) -> FindingKey<'_> {
        FindingKey {
            blob: BlobRef {
                path: &self.path,
                commit: self.commit.as_deref(),
                layer: self.layer.as_deref(),
            },
            start: (self.line, self.column),
            rule: &self.rule,
            end: (self.end_line, self.end_column),
            provenance: &self.provenance,
        }
    }

    /// The file a source read, before any archive member: where a SARIF
    /// viewer can open it.
    pub fn outermost_path(&self) -> &str {
        match self.provenance.first() {
            Some(Origin::File { path } | Origin::GitBlob { path, .. }) => path,
            _ => &self.path,
        }
    }

    /// The encodings the secret was decoded from, outermost first.
    pub fn encodings(&self) -> Vec<&'static str> {
        self.provenance
            .iter()
            .filter_map(|o| match o {
                Origin::Decoded { encoding } => Some(*encoding),
                _ => None,
            })
            .collect()
    }

    /// The secret as it may be shown: masked unless `reveal`. A finding
    /// without a secret (a file flagged by its name) shows none.
    pub fn display_secret(&self, reveal: bool) -> String {
        if reveal || self.secret.is_empty() {
            String::from_utf8_lossy(&self.secret).into_owned()
        } else {
            mask(&self.secret)
        }
    }

    /// The secret's line(s) as they may be shown: raw with `reveal`, else
    /// with every secret found in them masked; trimmed and cut to `max`
    /// characters.
    pub fn display_line(&self, reveal: bool, max: usize) -> String {
        let shown = if reveal {
            String::from_utf8_lossy(&self.line_text).into_owned()
        } else {
            let text = String::from_utf8_lossy(&self.line_masked);
            let secret = String::from_utf8_lossy(&self.secret);
            if secret.is_empty() {
                text.into_owned()
            } else {
                text.replace(secret.as_ref(), &mask(&self.secret))
            }
        };
        let trimmed = shown.trim();
        if trimmed.chars().count() > max {
            let cut: String = trimmed.chars().take(max).collect();
            format!("{cut}…")
        } else {
            trimmed.to_string()
        }
    }

    /// The JSON object every machine-readable report is built from.
    pub fn to_json(&self, reveal: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("secret".into(), self.display_secret(reveal).into());
            obj.insert("match".into(), self.display_line(reveal, 400).into());
            obj.insert(
                "entropy".into(),
                serde_json::json!((self.entropy * 1000.0).round() / 1000.0),
            );
        }
        v
    }
}

/// The blob a finding is in, as reports tell blobs apart: where it was
/// reached (the path, with archive members), and for git history and
/// images the commit and layer. A blob reached at two places is two blobs
/// here: each place is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobRef<'a> {
    pub path: &'a str,
    pub commit: Option<&'a str>,
    pub layer: Option<&'a str>,
}

/// The one definition of "the same finding": a rule, a blob and a span in
/// the blob (1-based line and column of its start and end). Its order
/// (blob, start, rule, end, then the provenance chain) is the order of
/// every report, so reports are byte-identical whatever order the scan's
/// threads finished in. Dedup, shadowing and report order all use it.
#[derive(Debug, Clone, Copy)]
pub struct FindingKey<'a> {
    pub blob: BlobRef<'a>,
    pub start: (u64, u64),
    pub rule: &'a str,
    pub end: (u64, u64),
    /// Not part of the identity: two decodings that lead to one secret at
    /// one span are one finding. It orders them, so which one is kept
    /// does not depend on timing.
    pub provenance: &'a [Origin],
}

impl FindingKey<'_> {
    /// Same rule, same blob, same span.
    pub fn same_finding(&self, other: &FindingKey<'_>) -> bool {
        self.identity() == other.identity()
    }

    /// Does this finding's span overlap `other`'s in the same blob?
    pub fn overlaps(&self, other: &FindingKey<'_>) -> bool {
        self.blob == other.blob && self.start < other.end && other.start < self.end
    }

    /// Does this finding's span hold all of `other`'s?
    pub fn contains(&self, other: &FindingKey<'_>) -> bool {
        self.blob == other.blob && self.start <= other.start && other.end <= self.end
    }

    fn identity(&self) -> (BlobRef<'_>, (u64, u64), &str, (u64, u64)) {
        (self.blob, self.start, self.rule, self.end)
    }
}

impl PartialEq for FindingKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for FindingKey<'_> {}

impl PartialOrd for FindingKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FindingKey<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.identity().cmp(&other.identity()).then_with(|| {
            let theirs = other.provenance.iter().map(origin_key);
            self.provenance.iter().map(origin_key).cmp(theirs)
        })
    }
}

fn origin_key(o: &Origin) -> (u8, &str) {
    match o {
        Origin::File { path } => (0, path),
        Origin::GitBlob { path, .. } => (0, path),
        Origin::Layer { path, .. } => (0, path),
        Origin::Member { path } => (1, path),
        Origin::Decoded { encoding } => (2, encoding),
    }
}

/// Sorts findings into report order and drops repeats of one finding (a
/// file named twice, a secret reached by two decodings), keeping the first
/// in that order.
pub fn sort_and_dedup(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.key().cmp(&b.key()));
    findings.dedup_by(|a, b| a.key().same_finding(&b.key()));
}

/// Scanned content decides paths, archive member names and excerpts;
/// control characters in them could move the cursor or recolour the
/// terminal, so they are shown as `\xNN` instead.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            if c == '\t' {
                out.push(' ');
            } else {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Shows at most the first 4 characters of a secret, fewer for short ones,
/// then `***`; the mask's length says nothing of the secret's length.
pub fn mask(secret: &[u8]) -> String {
    let s = String::from_utf8_lossy(secret);
    let n = s.chars().count();
    let keep = if n >= 16 {
        4
    } else if n >= 10 {
        2
    } else {
        0
    };
    let mut out: String = s.chars().take(keep).collect();
    out.push_str("***");
    out
}

/// Content-based, line-independent identity of a finding: survives line
/// moves and edits elsewhere in the file.
pub fn fingerprint(rule: &str, path: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(secret);
    let d = h.finalize();
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{rule}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_masks_the_secret_and_drops_the_line() {
        let mut f = crate::report::testutil::finding("p", 1);
        f.line_text = b"let t = 'tail-of-line-text'".to_vec();
        f.line_masked = f.line_text.clone();
        let shown = format!("{f:?}");
        assert!(!shown.contains(crate::report::testutil::TOKEN), "{shown}");
        assert!(!shown.contains("tail-of-line-text"), "{shown}");
        assert!(shown.contains("ghp_***"), "{shown}");
    }

    fn at(path: &str, line: u64, column: u64, rule: &str) -> Finding {
        let mut f = crate::report::testutil::finding(path, line);
        f.column = column;
        f.end_column = column + 40;
        f.rule = rule.into();
        f
    }

    #[test]
    fn one_finding_reached_by_two_decodings_is_kept_once_whatever_the_order() {
        let mut plain = at("app/.env", 3, 14, "github-pat");
        plain.provenance.push(Origin::Decoded { encoding: "hex" });
        let mut b64 = plain.clone();
        b64.provenance[1] = Origin::Decoded { encoding: "base64" };
        let other_place = at("copy/.env", 3, 14, "github-pat");
        let mut one = vec![plain.clone(), b64.clone(), other_place.clone()];
        let mut two = vec![other_place, plain, b64];
        sort_and_dedup(&mut one);
        sort_and_dedup(&mut two);
        let shown = |v: &[Finding]| -> Vec<(String, Vec<&'static str>)> {
            v.iter().map(|f| (f.path.clone(), f.encodings())).collect()
        };
        assert_eq!(shown(&one), shown(&two));
        assert_eq!(
            shown(&one),
            [
                ("app/.env".to_string(), vec!["base64"]),
                ("copy/.env".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn findings_differing_in_rule_commit_or_span_are_different() {
        let a = at("p", 1, 5, "r");
        let mut by_commit = a.clone();
        by_commit.commit = Some("abc123".into());
        let mut longer = a.clone();
        longer.end_column += 1;
        for other in [at("p", 1, 5, "s"), by_commit, longer, at("p", 1, 6, "r")] {
            assert!(!a.key().same_finding(&other.key()), "{other:?}");
        }
        assert!(a.key().same_finding(&a.clone().key()));
    }

    #[test]
    fn report_order_is_blob_then_position_then_rule() {
        let mut v = vec![
            at("b", 1, 1, "a"),
            at("a", 2, 1, "a"),
            at("a", 1, 9, "a"),
            at("a", 1, 9, "Z"),
        ];
        sort_and_dedup(&mut v);
        let order: Vec<_> = v
            .iter()
            .map(|f| (f.path.as_str(), f.line, f.column, f.rule.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("a", 1, 9, "Z"),
                ("a", 1, 9, "a"),
                ("a", 2, 1, "a"),
                ("b", 1, 1, "a")
            ]
        );
    }

    #[test]
    fn mask_keeps_prefix_only() {
        assert_eq!(mask(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789"), "ghp_***");
        assert_eq!(mask(b"shortpw"), "***");
        assert_eq!(mask(b"mediumpass12"), "me***");
    }

    #[test]
    fn fingerprint_depends_on_rule_path_secret_only() {
        let a = fingerprint("r", "p", b"s");
        assert_eq!(a, fingerprint("r", "p", b"s"));
        assert_ne!(a, fingerprint("r", "q", b"s"));
        assert_ne!(a, fingerprint("r", "p", b"t"));
        assert!(a.starts_with("r:"));
    }
}
