//! The `::add-mask::` workflow command, read as the GitHub Actions runner
//! reads it: leading blanks allowed (the runner trims the line's start),
//! the command name in any case (`::ADD-MASK::`), optional properties
//! after a space (`::add-mask k=v::`), the value after the first `::` that
//! follows the name, and `%0D`, `%0A`, `%25` in the value standing for
//! CR, LF and `%`.
//!
//! The runner also still reads the legacy form `##[add-mask]VALUE`
//! anywhere in a line: the name in any case, optional properties after a
//! space, the value after the first `]`, with `%3B`, `%0D`, `%0A`, `%5D`
//! and `%25` standing for `;`, CR, LF, `]` and `%`.

/// The command name, lower case.
const NAME: &[u8] = b"add-mask";

/// Where the start of a line is in `[blanks]::add-mask[ properties]::`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandPrefix {
    /// Only blanks so far.
    Lead,
    /// The first `:` of the opening `::`.
    Colon,
    /// This many bytes of the name matched.
    Name(u8),
    /// The name, then one `:`.
    NameColon,
    /// The name, a space, then properties.
    Properties,
    /// Properties, then one `:`.
    PropertiesColon,
}

/// What the next byte makes of a line start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    More(CommandPrefix),
    /// The prefix is complete: the value starts at the next byte.
    Command,
    /// The line is no command.
    NotCommand,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

impl CommandPrefix {
    pub fn step(self, b: u8) -> Step {
        use CommandPrefix::*;
        let named = NAME.len();
        match (self, b) {
            (_, b'\n') => Step::NotCommand,
            (Lead, b) if is_blank(b) => Step::More(Lead),
            (Lead, b':') => Step::More(Colon),
            (Colon, b':') => Step::More(Name(0)),
            (Name(n), b)
                if usize::from(n) < named && b.to_ascii_lowercase() == NAME[usize::from(n)] =>
            {
                Step::More(Name(n + 1))
            }
            (Name(n), b':') if usize::from(n) == named => Step::More(NameColon),
            (Name(n), b' ') if usize::from(n) == named => Step::More(Properties),
            (NameColon, b':') | (PropertiesColon, b':') => Step::Command,
            (Properties, b':') => Step::More(PropertiesColon),
            (Properties, _) | (PropertiesColon, _) => Step::More(Properties),
            _ => Step::NotCommand,
        }
    }

    /// Whether the prefix is inside the properties, which may be long: a
    /// line past the length bound there may still be a command, so it is
    /// dropped rather than written.
    pub fn in_properties(self) -> bool {
        matches!(
            self,
            CommandPrefix::Properties | CommandPrefix::PropertiesColon
        )
    }
}

/// The start of the legacy command, matched in any case.
pub const LEGACY_PREFIX: &[u8] = b"##[add-mask";

/// The values a legacy command registers, given the line from its
/// `##[add-mask` to the line's end (line break excluded); `None` when it
/// is no command after all.
pub fn legacy_command_values(text: &[u8]) -> Option<Vec<Vec<u8>>> {
    let rest = text.get(LEGACY_PREFIX.len()..)?;
    if !matches!(rest.first(), Some(b']' | b' ')) {
        return None;
    }
    let close = memchr::memchr(b']', rest)?;
    let mut raw = &rest[close + 1..];
    if let Some(stripped) = raw.strip_suffix(b"\r") {
        raw = stripped;
    }
    Some(exact_and_lenient(raw, LEGACY_ESCAPES))
}

/// The escapes of the legacy `##[command]` form.
const LEGACY_ESCAPES: &[(&[u8; 2], u8)] = &[
    (b"3B", b';'),
    (b"0D", b'\r'),
    (b"0A", b'\n'),
    (b"5D", b']'),
    (b"25", b'%'),
];

/// The escapes of `::command::` data.
const COMMAND_ESCAPES: &[(&[u8; 2], u8)] = &[(b"25", b'%'), (b"0D", b'\r'), (b"0A", b'\n')];

/// The values a command's raw data registers: the runner's reading (its
/// escapes are upper case, replaced in the order `%0D`, `%0A`, `%25`), and
/// when lower-case escapes occur, also the value with those decoded, so a
/// producer that wrote `%0a` is masked either way.
pub fn command_values(raw: &[u8]) -> Vec<Vec<u8>> {
    exact_and_lenient(raw, COMMAND_ESCAPES)
}

/// `raw` with `escapes` decoded as written, and also with their hex digits
/// in any case when that reads differently.
fn exact_and_lenient(raw: &[u8], escapes: &[(&[u8; 2], u8)]) -> Vec<Vec<u8>> {
    let exact = unescape(raw, escapes, false);
    let lenient = unescape(raw, escapes, true);
    if lenient == exact {
        vec![exact]
    } else {
        vec![exact, lenient]
    }
}

fn unescape(raw: &[u8], escapes: &[(&[u8; 2], u8)], any_case: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 3 <= raw.len() {
            let code = [raw[i + 1], raw[i + 2]];
            let code = if any_case {
                [code[0], code[1].to_ascii_uppercase()]
            } else {
                code
            };
            if let Some((_, c)) = escapes.iter().find(|(e, _)| **e == code) {
                out.push(*c);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[u8]) -> Option<usize> {
        let mut state = CommandPrefix::Lead;
        for (i, &b) in line.iter().enumerate() {
            match state.step(b) {
                Step::More(next) => state = next,
                Step::Command => return Some(i + 1),
                Step::NotCommand => return None,
            }
        }
        None
    }

    #[test]
    fn the_runners_syntax() {
        assert_eq!(parse(b"::add-mask::v"), Some(12));
        assert_eq!(parse(b"  \t::add-mask::v"), Some(15));
        assert_eq!(parse(b"::ADD-MASK::v"), Some(12));
        assert_eq!(parse(b"::Add-Mask::v"), Some(12));
        assert_eq!(parse(b"::add-mask name=x,y=z::v"), Some(23));
        assert_eq!(parse(b"::add-mask a:b::v"), Some(16));
        for not in [
            &b"::add-maskx::v"[..],
            b": :add-mask::v",
            b"x ::add-mask::v",
            b"::add-mask:v",
            b"::add_mask::v",
            b"::warning::v",
            b"##[add-mask]v",
            b"::add-mask\n::",
        ] {
            assert_eq!(parse(not), None, "{}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn the_legacy_form() {
        let values = |t: &[u8]| legacy_command_values(t);
        assert_eq!(
            values(b"##[add-mask]v4lue-1"),
            Some(vec![b"v4lue-1".to_vec()])
        );
        assert_eq!(
            values(b"##[ADD-MASK k=v;x=y]v4lue-2\r"),
            Some(vec![b"v4lue-2".to_vec()])
        );
        assert_eq!(
            values(b"##[add-mask]a%3Bb%5Dc%0Ad%25"),
            Some(vec![b"a;b]c\nd%".to_vec()])
        );
        assert_eq!(values(b"##[add-maskx]v"), None);
        assert_eq!(values(b"##[add-mask no close"), None);
        assert_eq!(values(b"##[add-mask"), None);
    }

    #[test]
    fn escapes_as_the_runner_reads_them() {
        assert_eq!(
            command_values(b"line1%0Aline2%0D%0Aline3"),
            [b"line1\nline2\r\nline3".to_vec()]
        );
        assert_eq!(command_values(b"100%25%0A"), [b"100%\n".to_vec()]);
        // `%250A` is an escaped `%` then `0A`, not a newline.
        assert_eq!(command_values(b"a%250Ab"), [b"a%0Ab".to_vec()]);
        assert_eq!(
            command_values(b"low%0acase"),
            [b"low%0acase".to_vec(), b"low\ncase".to_vec()]
        );
        assert_eq!(command_values(b"50%"), [b"50%".to_vec()]);
    }
}
