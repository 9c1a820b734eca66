//! The global filter for values that look like secrets but are not:
//! placeholders, references to secrets kept elsewhere, and well-known
//! non-secret shapes (UUIDs, hashes, data URIs, SRI digests).

use crate::rules::Confidence;

/// Substrings (lower-case) that mark a value as a placeholder whatever the rule.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "xxxxx",
    "placeholder",
    "your_",
    "your-",
    "yourtoken",
    "yourkey",
    "yourpassword",
    "changeme",
    "change_me",
    "change-me",
    "replace_me",
    "replaceme",
    "redacted",
    "********",
    "<token>",
    "<secret>",
    "<password>",
    "${",
    "{{",
    "}}",
    "%(",
    "000000000000",
];

/// Extra markers for generic (low-confidence) rules, where an ordinary word
/// in the value usually means it is not a random secret.
const GENERIC_MARKERS: &[&str] = &[
    "dummy",
    "sample",
    "fake",
    "notreal",
    "not-real",
    "not_a_real",
    "insert",
    "secret_here",
    "token_here",
    "password_here",
    "key_here",
    "os.environ",
    "os.getenv",
    "getenv(",
    "process.env",
    "env(",
    "environ[",
    "secrets.",
    "vault:",
    "ssm:",
    "enc[",
    "arn:aws",
    "localhost",
    "1234567890",
    "abcdefgh",
    "qwerty",
    "password123",
    "hunter2",
    "todo",
    "fixme",
    "null",
    "undefined",
    "none",
];

/// Returns true when the secret should be dropped as a placeholder or a
/// non-secret shape.
pub fn is_placeholder(secret: &[u8], confidence: Confidence) -> bool {
    let lower = secret.to_ascii_lowercase();
    let s = String::from_utf8_lossy(&lower);
    if PLACEHOLDER_MARKERS.iter().any(|m| s.contains(m)) {
        return true;
    }
    if is_masked(secret) {
        return true;
    }
    if confidence == Confidence::High {
        return false;
    }
    if GENERIC_MARKERS.iter().any(|m| s.contains(m)) {
        return true;
    }
    is_reference(secret)
        || is_uuid(secret)
        || is_data_uri(&s)
        || is_sri_hash(&s)
        || is_repetitive(secret)
        || is_angle_or_bracket_wrapped(secret)
}

/// Values like `****`, `...`, `<...>`: already masked or elided.
fn is_masked(secret: &[u8]) -> bool {
    let masking = secret
        .iter()
        .filter(|&&b| matches!(b, b'*' | b'.' | b'#' | b'?' | b'x' | b'X' | b'-' | b'_'))
        .count();
    secret.len() >= 4 && masking * 10 >= secret.len() * 8
}

/// `$VAR`, `${VAR}`, `$(cmd)`, `%VAR%`, `@Value(...)`: the value lives elsewhere.
fn is_reference(s: &[u8]) -> bool {
    match s.first() {
        Some(b'$') | Some(b'@') => return true,
        Some(b'%') if s.last() == Some(&b'%') => return true,
        _ => {}
    }
    false
}

fn is_angle_or_bracket_wrapped(s: &[u8]) -> bool {
    matches!(
        (s.first(), s.last()),
        (Some(b'<'), Some(b'>')) | (Some(b'['), Some(b']')) | (Some(b'{'), Some(b'}'))
    )
}

pub fn is_uuid(s: &[u8]) -> bool {
    if s.len() != 36 {
        return false;
    }
    s.iter().enumerate().all(|(i, &b)| match i {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

fn is_data_uri(s: &str) -> bool {
    s.starts_with("data:")
}

fn is_sri_hash(s: &str) -> bool {
    ["sha256-", "sha384-", "sha512-", "sha1-"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// One or two characters repeated, or a run of a single character that
/// fills most of the value.
fn is_repetitive(s: &[u8]) -> bool {
    if s.len() < 6 {
        return false;
    }
    let mut distinct = [false; 256];
    let mut n = 0;
    for &b in s {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            n += 1;
        }
    }
    n <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_dropped() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "your-api-key-here",
            "${GITHUB_TOKEN}",
            "{{ secrets.NPM_TOKEN }}",
            "<token>",
            "changeme",
            "xxxxxxxxxxxxxxxxxxxx",
            "****************",
        ] {
            assert!(is_placeholder(p.as_bytes(), Confidence::Low), "{p}");
        }
    }

    #[test]
    fn generic_shapes_are_dropped_for_low_confidence_only() {
        let u = b"123e4567-e89b-12d3-a456-426614174000";
        assert!(is_placeholder(u, Confidence::Low));
        assert!(!is_placeholder(u, Confidence::High));
        assert!(is_placeholder(
            b"sha512-abcDEF0123456789+/==",
            Confidence::Low
        ));
        assert!(is_placeholder(b"$DB_PASSWORD", Confidence::Low));
    }

    #[test]
    fn real_looking_values_survive() {
        assert!(!is_placeholder(b"s3cR3t-Pa55w0rd!9", Confidence::Low));
        assert!(!is_placeholder(
            b"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            Confidence::High
        ));
    }
}
