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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
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
    /// The file a source read, before any archive member: where a SARIF
    /// viewer can open it.
    pub fn outermost_path(&self) -> &str {
        match self.provenance.first() {
            Some(Origin::File { path }) => path,
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
