//! Text encodings that are not UTF-8. PowerShell's `Out-File`, .NET and
//! many Windows tools write UTF-16 with a byte order mark: two bytes per
//! ASCII character, half of them NUL, so undecoded it looks binary and no
//! rule matches it. Such text is turned into UTF-8 as it is read, in
//! bounded memory, and every position a finding reports is in the decoded
//! text.

use std::io::{self, Read};

/// How a stream's bytes encode text, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, ASCII, or anything else scanned byte for byte.
    Bytes,
    Utf16Le,
    Utf16Be,
}

/// Bytes of a stream's head worth looking at to tell its encoding.
pub const SNIFF_LEN: usize = 512;

impl TextEncoding {
    /// The encoding of a stream starting with `head` (up to
    /// [`SNIFF_LEN`] bytes are looked at). A byte order mark alone is not
    /// trusted: `ÿþ` also starts Latin-1 text and binary files. The code
    /// units after it must look like text: a space, tab or line break
    /// among them, or nothing but ASCII. Either needs NUL bytes in just
    /// the right places, which other text does not have.
    pub fn sniff(head: &[u8]) -> TextEncoding {
        let (encoding, big_endian) = match head {
            [0xff, 0xfe, ..] => (TextEncoding::Utf16Le, false),
            [0xfe, 0xff, ..] => (TextEncoding::Utf16Be, true),
            _ => return TextEncoding::Bytes,
        };
        let body = &head[2..head.len().min(SNIFF_LEN)];
        let mut all_ascii = true;
        for pair in body.chunks_exact(2) {
            let bytes = [pair[0], pair[1]];
            let unit = if big_endian {
                u16::from_be_bytes(bytes)
            } else {
                u16::from_le_bytes(bytes)
            };
            if matches!(unit, 0x09 | 0x0a | 0x0d | 0x20) {
                return encoding;
            }
            all_ascii &= unit < 0x80;
        }
        if all_ascii {
            encoding
        } else {
            TextEncoding::Bytes
        }
    }

    /// A reader of `input` (which starts with its byte order mark, if any)
    /// that yields UTF-8.
    pub fn decoder<'a, R: Read + 'a>(self, input: R) -> Box<dyn Read + 'a> {
        match self {
            TextEncoding::Bytes => Box::new(input),
            TextEncoding::Utf16Le => Box::new(Utf16Decoder::new(input, false)),
            TextEncoding::Utf16Be => Box::new(Utf16Decoder::new(input, true)),
        }
    }
}

/// Decodes UTF-16 into UTF-8 while reading. A leading byte order mark is
/// dropped; unpaired surrogates and a trailing odd byte become U+FFFD, as
/// a text editor shows them.
pub struct Utf16Decoder<R> {
    input: R,
    big_endian: bool,
    /// Raw bytes read but not decoded yet (at most one odd byte carries
    /// over between reads).
    raw: Vec<u8>,
    /// A high surrogate waiting for its low half from the next read.
    pending_high: Option<u16>,
    /// Decoded bytes not yet handed out, from `out_at` on.
    out: Vec<u8>,
    out_at: usize,
    at_start: bool,
    input_done: bool,
}

/// Raw bytes decoded per refill: bounds the decoder's memory.
const DECODE_BLOCK: usize = 64 * 1024;

impl<R: Read> Utf16Decoder<R> {
    pub fn new(input: R, big_endian: bool) -> Utf16Decoder<R> {
        Utf16Decoder {
            input,
            big_endian,
            raw: Vec::with_capacity(DECODE_BLOCK),
            pending_high: None,
            out: Vec::with_capacity(DECODE_BLOCK * 3 / 2),
            out_at: 0,
            at_start: true,
            input_done: false,
        }
    }

    fn unit(&self, pair: &[u8]) -> u16 {
        let bytes = [pair[0], pair[1]];
        if self.big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    }

    fn push_char(out: &mut Vec<u8>, c: char) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    /// Reads one block of raw input and decodes every complete code unit.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_at = 0;
        while self.out.is_empty() && !self.input_done {
            let carried = self.raw.len();
            self.raw.resize(carried + DECODE_BLOCK, 0);
            let n = loop {
                match self.input.read(&mut self.raw[carried..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.raw.truncate(carried);
                        return Err(e);
                    }
                }
            };
            self.raw.truncate(carried + n);
            if n == 0 {
                self.input_done = true;
            }
            let whole = self.raw.len() / 2 * 2;
            let mut i = 0;
            if self.at_start && whole >= 2 {
                self.at_start = false;
                if self.unit(&self.raw[..2]) == 0xfeff {
                    i = 2;
                }
            }
            while i < whole {
                let unit = self.unit(&self.raw[i..i + 2]);
                i += 2;
                self.decode_unit(unit);
            }
            self.raw.drain(..whole);
            if self.input_done {
                if self.pending_high.take().is_some() {
                    Self::push_char(&mut self.out, char::REPLACEMENT_CHARACTER);
                }
                if !self.raw.is_empty() {
                    self.raw.clear();
                    Self::push_char(&mut self.out, char::REPLACEMENT_CHARACTER);
                }
            }
        }
        Ok(())
    }

    fn decode_unit(&mut self, unit: u16) {
        match unit {
            0xd800..=0xdbff => {
                if self.pending_high.replace(unit).is_some() {
                    Self::push_char(&mut self.out, char::REPLACEMENT_CHARACTER);
                }
            }
            0xdc00..=0xdfff => match self.pending_high.take() {
                Some(high) => {
                    let c =
                        0x10000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(unit) - 0xdc00);
                    Self::push_char(
                        &mut self.out,
                        char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER),
                    );
                }
                None => Self::push_char(&mut self.out, char::REPLACEMENT_CHARACTER),
            },
            _ => {
                if self.pending_high.take().is_some() {
                    Self::push_char(&mut self.out, char::REPLACEMENT_CHARACTER);
                }
                // Not a surrogate, so always a valid scalar value.
                let c = char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER);
                Self::push_char(&mut self.out, c);
            }
        }
    }
}

impl<R: Read> Read for Utf16Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.out_at >= self.out.len() {
            self.refill()?;
        }
        let available = &self.out[self.out_at..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes a few at a time, to cut code units and
    /// surrogate pairs at every possible place.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn encode(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in std::iter::once(0xfeff).chain(text.encode_utf16()) {
            if big_endian {
                out.extend_from_slice(&unit.to_be_bytes());
            } else {
                out.extend_from_slice(&unit.to_le_bytes());
            }
        }
        out
    }

    fn decode_bytes(data: &[u8], step: usize) -> Vec<u8> {
        let encoding = TextEncoding::sniff(data);
        let mut out = Vec::new();
        encoding
            .decoder(Trickle { data, step })
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn decode_all(data: &[u8], step: usize) -> String {
        String::from_utf8(decode_bytes(data, step)).unwrap()
    }

    #[test]
    fn both_byte_orders_decode_with_the_bom_dropped_at_any_read_size() {
        let text = "$env:AWS_KEY = 'AKIAQYLPMN5HHHFPZAM2'\r\nÄnderung: 日本 🔑 done\n";
        for big_endian in [false, true] {
            let data = encode(text, big_endian);
            for step in [1, 2, 3, 5, 7, 4096] {
                assert_eq!(decode_all(&data, step), text, "be={big_endian} step={step}");
            }
        }
    }

    #[test]
    fn broken_input_becomes_replacement_characters() {
        // A lone low surrogate, a high one followed by a letter, and an odd
        // trailing byte.
        let data = [
            0xff, 0xfe, 0x00, 0xdc, 0x41, 0x00, 0x00, 0xd8, 0x42, 0x00, 0x43,
        ];
        let decode = |data: &[u8]| {
            let mut out = String::new();
            Utf16Decoder::new(Trickle { data, step: 3 }, false)
                .read_to_string(&mut out)
                .unwrap();
            out
        };
        assert_eq!(decode(&data), "\u{fffd}A\u{fffd}B\u{fffd}");
        // A high surrogate at the very end.
        assert_eq!(decode(&[0xff, 0xfe, 0x3d, 0xd8]), "\u{fffd}");
    }

    #[test]
    fn text_without_a_utf16_bom_passes_through() {
        assert_eq!(
            TextEncoding::sniff(b"\xef\xbb\xbfplain"),
            TextEncoding::Bytes
        );
        assert_eq!(TextEncoding::sniff(b"\xff"), TextEncoding::Bytes);
        let raw = b"plain \xff\xfe text with a stray mark";
        assert_eq!(decode_bytes(raw, 4), raw);
        // Latin-1 text that starts with the same two bytes.
        let latin1 = b"\xff\xfe garbage \xc3\x28\r\nkey: value\r\n";
        assert_eq!(TextEncoding::sniff(latin1), TextEncoding::Bytes);
        // UTF-16 that is all one word, with no space or line break yet.
        let word = encode("AKIAQYLPMN5HHHFPZAM2", false);
        assert_eq!(TextEncoding::sniff(&word), TextEncoding::Utf16Le);
        // Chinese text with a line break is UTF-16; without one, and with
        // units beyond ASCII, it is not trusted.
        assert_eq!(
            TextEncoding::sniff(&encode("密钥\n", true)),
            TextEncoding::Utf16Be
        );
        assert_eq!(
            TextEncoding::sniff(&encode("密钥", true)),
            TextEncoding::Bytes
        );
    }
}
