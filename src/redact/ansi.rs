//! The escape sequences matching looks through: CSI sequences (colours,
//! cursor moves, `ESC [ ... final`) and short `ESC` sequences (charset
//! selection, `ESC 7`, the `ESC ]` and `ESC \` that open and close OSC
//! strings). They are transparent to matching and kept in the output.

/// Escape sequences longer than this are treated as ended.
pub const MAX_ESCAPE_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Ground,
    Esc,
    Intermediate,
    Csi,
}

/// What a byte did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An ordinary byte.
    Visible,
    /// Part of a sequence that continues.
    Inside,
    /// The last byte of a sequence.
    Complete,
    /// Not part of the sequence in progress, which ends before it (and is
    /// still transparent): read the byte again from `Ground`.
    Aborted,
}

impl Escape {
    #[inline]
    pub fn next(self, b: u8) -> (Escape, Outcome) {
        match self {
            Escape::Ground => {
                if b == 0x1b {
                    (Escape::Esc, Outcome::Inside)
                } else {
                    (Escape::Ground, Outcome::Visible)
                }
            }
            Escape::Esc => match b {
                b'[' => (Escape::Csi, Outcome::Inside),
                0x20..=0x2f => (Escape::Intermediate, Outcome::Inside),
                0x30..=0x7e => (Escape::Ground, Outcome::Complete),
                _ => (Escape::Ground, Outcome::Aborted),
            },
            Escape::Intermediate => match b {
                0x20..=0x2f => (Escape::Intermediate, Outcome::Inside),
                0x30..=0x7e => (Escape::Ground, Outcome::Complete),
                _ => (Escape::Ground, Outcome::Aborted),
            },
            Escape::Csi => match b {
                0x20..=0x3f => (Escape::Csi, Outcome::Inside),
                0x40..=0x7e => (Escape::Ground, Outcome::Complete),
                _ => (Escape::Ground, Outcome::Aborted),
            },
        }
    }
}

/// Length of the escape sequence at the start of `bytes` when it is
/// complete within `bytes` and within [`MAX_ESCAPE_LEN`], read exactly as
/// the stream parser reads it byte by byte; otherwise `None`.
#[inline]
pub fn complete_sequence_len(bytes: &[u8]) -> Option<usize> {
    let mut state = Escape::Ground;
    for (k, &b) in bytes.iter().enumerate().take(MAX_ESCAPE_LEN + 1) {
        let (next, outcome) = state.next(b);
        match outcome {
            Outcome::Complete => return Some(k + 1),
            Outcome::Inside => state = next,
            Outcome::Visible | Outcome::Aborted => return None,
        }
    }
    None
}

/// The bytes matching sees of `bytes`: escape sequences removed, exactly
/// as the stream parser removes them.
pub fn visible(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut state = Escape::Ground;
    let mut len = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if state != Escape::Ground && len > MAX_ESCAPE_LEN {
            state = Escape::Ground;
        }
        let (next, outcome) = state.next(b);
        state = next;
        match outcome {
            Outcome::Visible => out.push(b),
            Outcome::Inside => len = if b == 0x1b { 1 } else { len + 1 },
            Outcome::Complete => len = 0,
            Outcome::Aborted => {
                len = 0;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_and_short_sequences() {
        assert_eq!(visible(b"SEC\x1b[1mRET"), b"SECRET");
        assert_eq!(visible(b"a\x1b(Bb\x1b[01;31m\x1b[Kc"), b"abc");
        assert_eq!(visible(b"a\x1b\nb"), b"a\nb");
        assert_eq!(visible(b"plain"), b"plain");
    }

    #[test]
    fn complete_sequence_len_needs_the_whole_sequence() {
        assert_eq!(complete_sequence_len(b"\x1b[01;31mX"), Some(8));
        assert_eq!(complete_sequence_len(b"\x1b(B"), Some(3));
        assert_eq!(complete_sequence_len(b"\x1b[01;3"), None);
        assert_eq!(complete_sequence_len(b"\x1b\n"), None);
        assert_eq!(complete_sequence_len(b"x"), None);
        let mut long = b"\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b'1', MAX_ESCAPE_LEN));
        long.push(b'm');
        assert_eq!(complete_sequence_len(&long), None);
    }
}
