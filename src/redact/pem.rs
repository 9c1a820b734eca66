//! PEM private-key blocks as they stream: the markers that open and close
//! a block, and the shape of the lines in between.
//!
//! A private key printed line by line (`cat key.pem`, `head -10 key.pem`)
//! is masked a line at a time, so nothing waits for an END marker that may
//! never come. A line inside an open block is classified from its bytes
//! alone: a base64 body line, an RFC 1421 / OpenPGP armor header
//! (`Proc-Type: 4,ENCRYPTED`, `Comment: ...`) or the blank line after the
//! headers, the END marker, or anything else, which ends the block. Most
//! ordinary text is ruled out within its first few bytes (a space between
//! two words, a `(` or a `.`), which is what lets the redactor release it
//! at once.

/// The name block masks are reported under: that of the default rule for
/// PEM private keys, which finds the same blocks in files.
pub const BLOCK_NAME: &str = "private-key-pem";

/// Whether a marker opens or closes a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    Begin,
    End,
}

/// A private-key marker (`-----BEGIN RSA PRIVATE KEY-----`) found in a line;
/// offsets are into the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub kind: MarkerKind,
    pub start: usize,
    pub end: usize,
}

/// The longest label between `BEGIN ` and the closing dashes considered.
const MAX_LABEL: usize = 48;
/// The longest line that can belong to a block. A key body is wrapped at
/// 64 to 76 columns, and even unwrapped the largest keys stay far below
/// this; a longer line ends the block, which bounds what a block holds.
pub const MAX_LINE: usize = 64 * 1024;

/// Every private-key BEGIN or END marker in `line`, in order: PKCS#1,
/// SEC1, PKCS#8 (plain or encrypted), OpenSSH and OpenPGP armor. Public
/// keys and certificates are not markers.
pub fn private_key_markers(line: &[u8]) -> Vec<Marker> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&line[from..], b"-----") {
        let start = from + at;
        let rest = &line[start + 5..];
        let (kind, label_from) = if rest.starts_with(b"BEGIN ") {
            (MarkerKind::Begin, start + 11)
        } else if rest.starts_with(b"END ") {
            (MarkerKind::End, start + 9)
        } else {
            from = start + 1;
            continue;
        };
        let label_len = line[label_from..]
            .iter()
            .take(MAX_LABEL + 1)
            .take_while(|&&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
            .count();
        let label = &line[label_from..label_from + label_len];
        let close = label_from + label_len;
        if label_len <= MAX_LABEL
            && line[close..].starts_with(b"-----")
            && (label.ends_with(b"PRIVATE KEY") || label.ends_with(b"PRIVATE KEY BLOCK"))
        {
            out.push(Marker {
                kind,
                start,
                end: close + 5,
            });
            from = close + 5;
        } else {
            from = start + 1;
        }
    }
    out
}

/// Whether a line holding `markers` opens a block: its last marker is a
/// BEGIN marker followed by nothing but blanks (the body comes on the next
/// lines, not on this one).
pub fn opens_block(line: &[u8], markers: &[Marker]) -> bool {
    markers
        .last()
        .is_some_and(|m| m.kind == MarkerKind::Begin && line[m.end..].iter().all(|&b| is_blank(b)))
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

fn is_body_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

const END_PREFIX: &[u8] = b"-----END ";

/// What a completed line inside an open block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// Base64 of this many characters (blanks around it aside).
    Body(usize),
    /// An armor header, `Name: value`.
    Header,
    /// Nothing but blanks.
    Blank,
    /// Looks like the END marker line (confirmed with
    /// [`private_key_markers`] on the line's text).
    End,
    /// Anything else: the block is over.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum BodyPhase {
    #[default]
    Data,
    Trailing,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum HeaderPhase {
    #[default]
    Name,
    Value,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum EndPhase {
    /// This many bytes of `-----END ` matched.
    #[default]
    Prefix,
    Label,
    Trailing,
    Dead,
}

/// The shape of the line being read inside an open block, fed one visible
/// byte at a time (its line break excluded).
#[derive(Debug, Clone, Default)]
pub struct LineShape {
    /// Bytes after the leading blanks.
    len: usize,
    data_len: usize,
    body: BodyPhase,
    header: HeaderPhase,
    end: EndPhase,
    /// Dashes in a row at the end of the END candidate.
    dashes: usize,
    /// The first byte after the leading blanks.
    first: u8,
}

impl LineShape {
    /// Takes the next byte; returns whether the line can still be part of
    /// a block (once false it stays false).
    pub fn push(&mut self, b: u8) -> bool {
        if self.len == 0 && is_blank(b) {
            return true;
        }
        let at = self.len;
        if at == 0 {
            self.first = b;
        }
        self.len += 1;
        if self.len > MAX_LINE {
            self.body = BodyPhase::Dead;
            self.header = HeaderPhase::Dead;
            self.end = EndPhase::Dead;
            return false;
        }
        self.body = match (self.body, b) {
            (BodyPhase::Data, b) if is_body_char(b) => {
                self.data_len += 1;
                BodyPhase::Data
            }
            (BodyPhase::Data | BodyPhase::Trailing, b) if is_blank(b) => BodyPhase::Trailing,
            _ => BodyPhase::Dead,
        };
        self.header = match (self.header, b) {
            (HeaderPhase::Name, b) if at == 0 && b.is_ascii_alphabetic() => HeaderPhase::Name,
            (HeaderPhase::Name, b) if at > 0 && (b.is_ascii_alphanumeric() || b == b'-') => {
                HeaderPhase::Name
            }
            (HeaderPhase::Name, b':') if at > 0 => HeaderPhase::Value,
            (HeaderPhase::Value, _) => HeaderPhase::Value,
            _ => HeaderPhase::Dead,
        };
        self.end = match self.end {
            EndPhase::Prefix if END_PREFIX[at] == b => {
                if at + 1 == END_PREFIX.len() {
                    EndPhase::Label
                } else {
                    EndPhase::Prefix
                }
            }
            EndPhase::Label if b == b'-' => {
                self.dashes += 1;
                if self.dashes > 5 {
                    EndPhase::Dead
                } else {
                    EndPhase::Label
                }
            }
            EndPhase::Label
                if self.dashes == 0
                    && (b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
                    && at < END_PREFIX.len() + MAX_LABEL =>
            {
                EndPhase::Label
            }
            EndPhase::Label | EndPhase::Trailing if self.dashes == 5 && is_blank(b) => {
                EndPhase::Trailing
            }
            _ => EndPhase::Dead,
        };
        self.viable()
    }

    fn viable(&self) -> bool {
        self.body != BodyPhase::Dead
            || self.header != HeaderPhase::Dead
            || self.end != EndPhase::Dead
    }

    /// Whether the line starts with `=`: an OpenPGP armor checksum.
    pub fn is_checksum(&self) -> bool {
        self.first == b'='
    }

    /// What the line is, now that it is complete.
    pub fn classify(&self) -> LineClass {
        if self.len == 0 {
            return LineClass::Blank;
        }
        if matches!(self.end, EndPhase::Label | EndPhase::Trailing) && self.dashes == 5 {
            return LineClass::End;
        }
        if self.body != BodyPhase::Dead && self.data_len > 0 {
            return LineClass::Body(self.data_len);
        }
        if self.header == HeaderPhase::Value {
            return LineClass::Header;
        }
        LineClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(line: &str) -> (bool, LineClass) {
        let mut s = LineShape::default();
        let mut viable = true;
        for &b in line.as_bytes() {
            viable = s.push(b);
        }
        (viable, s.classify())
    }

    #[test]
    fn markers_of_private_keys_only() {
        let line = b"key: -----BEGIN RSA PRIVATE KEY-----";
        let m = private_key_markers(line);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].kind, MarkerKind::Begin);
        assert_eq!(
            &line[m[0].start..m[0].end],
            b"-----BEGIN RSA PRIVATE KEY-----"
        );
        assert!(opens_block(line, &m));
        for kind in ["", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "PGP "] {
            let suffix = if kind == "PGP " { " BLOCK" } else { "" };
            let text = format!("-----BEGIN {kind}PRIVATE KEY{suffix}-----\r");
            let m = private_key_markers(text.as_bytes());
            assert!(opens_block(text.as_bytes(), &m), "{text}");
        }
        for public in [
            "-----BEGIN CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN private key-----",
        ] {
            assert!(
                private_key_markers(public.as_bytes()).is_empty(),
                "{public}"
            );
        }
        let one_line = b"-----BEGIN EC PRIVATE KEY----- MHcCAQEE -----END EC PRIVATE KEY-----";
        let m = private_key_markers(one_line);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].kind, MarkerKind::End);
        assert!(!opens_block(one_line, &m));
        let trailing = b"-----BEGIN OPENSSH PRIVATE KEY----- (example header)";
        let m = private_key_markers(trailing);
        assert_eq!(m.len(), 1);
        assert!(!opens_block(trailing, &m));
    }

    #[test]
    fn line_shapes() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDX8kq3Vh7nT2bL";
        assert_eq!(shape(body), (true, LineClass::Body(64)));
        assert_eq!(shape(&format!("    {body}\r")), (true, LineClass::Body(64)));
        assert_eq!(shape("kq3Vh7nT2bL=="), (true, LineClass::Body(13)));
        assert_eq!(shape("=hdo4"), (true, LineClass::Body(5)));
        assert_eq!(shape("Proc-Type: 4,ENCRYPTED"), (true, LineClass::Header));
        assert_eq!(
            shape("Comment: build signing key (2026)"),
            (true, LineClass::Header)
        );
        assert_eq!(shape("  \r"), (true, LineClass::Blank));
        assert_eq!(
            shape("-----END RSA PRIVATE KEY-----"),
            (true, LineClass::End)
        );
        assert_eq!(
            shape("  -----END PRIVATE KEY-----  "),
            (true, LineClass::End)
        );
        // Ordinary text is ruled out within a few bytes.
        for text in [
            "ordinary line 0 (done)",
            "Step 3 of 7",
            "npm WARN deprecated",
            "ok.",
            "(cached) foo",
        ] {
            let (viable, class) = shape(text);
            assert!(!viable, "{text}");
            assert_eq!(class, LineClass::Other, "{text}");
        }
        // Only the line's end tells an END marker from other text.
        assert_eq!(shape("-----END OF LOG"), (true, LineClass::Other));
        // A single word is a possible last body line.
        assert_eq!(shape("Compiling"), (true, LineClass::Body(9)));
    }
}
