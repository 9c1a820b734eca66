//! Named validators for secrets that carry their own checksum. A match that
//! fails its checksum is a look-alike, not a credential.

/// A checksum scheme a rule can name with `checksum = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// GitHub's token format (2021): `<prefix>_` + 30 base62 characters +
    /// 6 base62 characters encoding the CRC32 of those 30.
    GithubCrc32,
    /// npm's `npm_` tokens use the same construction as GitHub's.
    NpmCrc32,
}

impl Checksum {
    pub fn from_name(name: &str) -> Option<Checksum> {
        match name {
            "github-crc32" => Some(Checksum::GithubCrc32),
            "npm-crc32" => Some(Checksum::NpmCrc32),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Checksum::GithubCrc32 => "github-crc32",
            Checksum::NpmCrc32 => "npm-crc32",
        }
    }

    /// `secret` is the whole token including its prefix.
    pub fn verify(self, secret: &[u8]) -> bool {
        match self {
            Checksum::GithubCrc32 | Checksum::NpmCrc32 => base62_crc32_suffix(secret),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Checks `prefix_` + body + 6-char base62 CRC32(body).
fn base62_crc32_suffix(token: &[u8]) -> bool {
    let start = match memchr::memrchr(b'_', token) {
        Some(i) => i + 1,
        None => 0,
    };
    let rest = &token[start..];
    if rest.len() <= 6 || !rest.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (body, check) = rest.split_at(rest.len() - 6);
    base62_6(crc32(body)) == check
}

/// Encodes `n` in base62, left-padded with '0' to 6 characters.
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// CRC-32 (IEEE 802.3, as zlib), bitwise: checksums run per candidate
/// token, not per byte of input, so a table buys nothing.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Builds a valid token for `prefix` and 30-character `body`; used by tests
/// and by rule examples generation.
pub fn make_github_style_token(prefix: &str, body: &str) -> String {
    let check = base62_6(crc32(body.as_bytes()));
    format!("{prefix}{body}{}", String::from_utf8_lossy(&check))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn valid_and_tampered_tokens() {
        let t = make_github_style_token("ghp_", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123");
        assert_eq!(t.len(), 40);
        assert!(Checksum::GithubCrc32.verify(t.as_bytes()));
        let mut bad = t.into_bytes();
        bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
        assert!(!Checksum::GithubCrc32.verify(&bad));
        assert!(!Checksum::GithubCrc32.verify(b"ghp_short"));
    }
}
