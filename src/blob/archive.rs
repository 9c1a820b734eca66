//! Archives and compressed streams, recognised by their first bytes, read
//! member by member as streams: nothing is extracted to disk, a member's
//! name is only a label, and every byte inflated is counted against limits
//! that hold whatever the archive declares about itself.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};

use super::spool::Spool;

/// The formats a blob may be unpacked from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveKind {
    /// zip and its family: jar, war, ear, whl, apk, nupkg, xlsx...
    Zip,
    Tar,
    Gzip,
    Zstd,
    Bzip2,
}

impl ArchiveKind {
    /// How many leading bytes [`ArchiveKind::sniff`] needs to see every
    /// format (tar's magic sits at offset 257).
    pub const SNIFF_LEN: usize = 512;

    /// The format `head`, the first bytes of a blob, starts with.
    pub fn sniff(head: &[u8]) -> Option<ArchiveKind> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(ArchiveKind::Zip)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(ArchiveKind::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(ArchiveKind::Zstd)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(ArchiveKind::Bzip2)
        } else if head.get(257..262) == Some(b"ustar") && tar_checksum_ok(head) {
            Some(ArchiveKind::Tar)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveKind::Zip => "zip",
            ArchiveKind::Tar => "tar",
            ArchiveKind::Gzip => "gzip",
            ArchiveKind::Zstd => "zstd",
            ArchiveKind::Bzip2 => "bzip2",
        }
    }

    /// A compressed stream holds one blob, not named members.
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            ArchiveKind::Gzip | ArchiveKind::Zstd | ArchiveKind::Bzip2
        )
    }
}

/// A tar header's checksum: the sum of its bytes with the checksum field
/// read as spaces. `ustar` at offset 257 alone also starts ordinary text.
fn tar_checksum_ok(head: &[u8]) -> bool {
    let Some(header) = head.get(..512) else {
        return false;
    };
    let field = &header[148..156];
    let digits: String = field
        .iter()
        .take_while(|&&b| b != 0 && b != b' ')
        .map(|&b| b as char)
        .collect();
    let Ok(stored) = u32::from_str_radix(digits.trim(), 8) else {
        return false;
    };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

/// Bounds on what unpacking one top-level blob may cost.
#[derive(Debug, Clone)]
pub struct ArchiveLimits {
    /// Largest uncompressed size of one member.
    pub max_member_size: u64,
    /// Largest uncompressed size of everything under one top-level blob.
    pub max_total_size: u64,
    /// Largest ratio of inflated to compressed bytes before a stream is
    /// taken for a bomb; checked once a stream has inflated a megabyte.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_member_size: 512 << 20,
            max_total_size: 2 << 30,
            max_ratio: 1000,
        }
    }
}

/// Inflated bytes left for one top-level blob, shared by every archive
/// nested in it.
#[derive(Debug)]
pub struct InflateBudget {
    remaining: Cell<u64>,
    total: u64,
    exhausted: Cell<bool>,
    /// The top-level blob's size, when known, and the ratio everything
    /// inflated from it may reach: nested archives each compress within
    /// the per-stream ratio, but a bomb's layers multiply.
    input_size: Cell<Option<u64>>,
    max_ratio: u64,
}

impl InflateBudget {
    pub fn new(limits: &ArchiveLimits) -> InflateBudget {
        InflateBudget {
            remaining: Cell::new(limits.max_total_size),
            total: limits.max_total_size,
            exhausted: Cell::new(false),
            input_size: Cell::new(None),
            max_ratio: limits.max_ratio,
        }
    }

    /// Records the size of the top-level blob everything is inflated from.
    pub fn measure_input(&self, size: u64) {
        self.input_size.set(Some(size.max(1)));
    }

    fn spend(&self, n: u64) -> Result<(), LimitExceeded> {
        let remaining = self.remaining.get().saturating_sub(n);
        self.remaining.set(remaining);
        let inflated = self.total - remaining;
        if let Some(size) = self.input_size.get() {
            if inflated > RATIO_GRACE && inflated / size > self.max_ratio {
                self.exhausted.set(true);
                return Err(LimitExceeded::ArchiveRatio(self.max_ratio));
            }
        }
        Ok(())
    }

    pub fn remaining(&self) -> u64 {
        self.remaining.get()
    }

    /// Whether a read was refused for want of budget: every member after
    /// it would be refused too, so there is no point visiting them.
    pub fn exhausted(&self) -> bool {
        self.exhausted.get()
    }
}

/// Why a member was passed over or cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitExceeded {
    MemberSize(u64),
    TotalSize(u64),
    Ratio(u64),
    /// Everything inflated from one top-level blob, nested archives
    /// included, against the blob's size.
    ArchiveRatio(u64),
    /// A zip entry whose bytes lie inside another entry's: overlapping
    /// entries let a small file inflate to any size.
    Overlap,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitExceeded::MemberSize(n) => {
                write!(f, "inflates past the member size limit ({n} bytes)")
            }
            LimitExceeded::TotalSize(n) => {
                write!(f, "archive inflates past the total size limit ({n} bytes)")
            }
            LimitExceeded::Ratio(n) => write!(f, "compression ratio above {n}:1 (a bomb?)"),
            LimitExceeded::ArchiveRatio(n) => {
                write!(
                    f,
                    "archive inflates to more than {n} times its size (a bomb?)"
                )
            }
            LimitExceeded::Overlap => {
                write!(f, "shares its data with another entry (a zip bomb?)")
            }
        }
    }
}

impl std::error::Error for LimitExceeded {}

/// The limit a read stopped at, if an I/O error is one.
pub fn limit_exceeded(e: &io::Error) -> Option<LimitExceeded> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitExceeded>())
        .copied()
}

/// Bytes that are not what their format says: a truncated or corrupt
/// compressed stream or tar member. The text names the format and the
/// fault, never the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt(pub String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

/// The fault a read stopped at, if an I/O error is a [`Corrupt`] one.
pub fn corrupt(e: &io::Error) -> Option<&Corrupt> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Corrupt>())
}

/// Entries that are not regular files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAFile {
    Link,
    Device,
}

/// What [`for_each_member`] hands its visitor.
pub enum Entry<'a> {
    /// A regular file: its name in the archive and its inflated bytes.
    File {
        name: String,
        reader: &'a mut dyn Read,
    },
    /// A link, device or FIFO: there are no bytes to read.
    Skipped { name: String, reason: NotAFile },
    /// An entry (or, without a name, the rest of the archive) not read
    /// because of a limit.
    Limited {
        name: Option<String>,
        limit: LimitExceeded,
    },
    /// An entry, or the rest of the archive, could not be read.
    Error {
        name: Option<String>,
        message: String,
    },
}

/// Where an archive's bytes come from: zip needs to seek to its central
/// directory at the end, every other format reads front to back.
pub enum ArchiveInput<'a> {
    Seekable(&'a mut dyn ReadSeek),
    Stream(&'a mut dyn Read),
}

pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Bytes from the current position of `r` to its end; the position is
/// kept.
pub fn length_from_here(r: &mut dyn ReadSeek) -> io::Result<u64> {
    let here = r.stream_position()?;
    let end = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(here))?;
    Ok(end.saturating_sub(here))
}

/// Hands every entry of the archive to `visit`, in archive order, until it
/// returns false. `outer_name` names a compressed stream's one member when
/// the stream does not (`app.log.gz` holds `app.log`). Errors are entries:
/// a corrupt member is reported and the rest is still read where the format
/// allows.
pub fn for_each_member(
    kind: ArchiveKind,
    input: ArchiveInput<'_>,
    outer_name: &str,
    limits: &ArchiveLimits,
    budget: &InflateBudget,
    visit: &mut dyn FnMut(Entry<'_>) -> bool,
) {
    match kind {
        ArchiveKind::Zip => zip_members(input, limits, budget, visit),
        ArchiveKind::Tar => {
            let reader: &mut dyn Read = match input {
                ArchiveInput::Seekable(r) => r,
                ArchiveInput::Stream(r) => r,
            };
            tar_members(reader, limits, budget, visit)
        }
        ArchiveKind::Gzip | ArchiveKind::Zstd | ArchiveKind::Bzip2 => {
            let reader: &mut dyn Read = match input {
                ArchiveInput::Seekable(r) => r,
                ArchiveInput::Stream(r) => r,
            };
            stream_member(kind, reader, outer_name, limits, budget, visit)
        }
    }
}

/// The name of a compressed stream's content, from the stream's own name.
pub fn stream_member_name(outer_name: &str, kind: ArchiveKind) -> String {
    let base = outer_name.rsplit('/').next().unwrap_or(outer_name);
    let lower = base.to_ascii_lowercase();
    for (ext, replacement) in [
        (".tgz", ".tar"),
        (".tzst", ".tar"),
        (".tbz2", ".tar"),
        (".gz", ""),
        (".zst", ""),
        (".bz2", ""),
    ] {
        if lower.ends_with(ext) && lower.len() > ext.len() {
            return format!("{}{replacement}", &base[..base.len() - ext.len()]);
        }
    }
    format!("{base}.{}-content", kind.as_str())
}

fn stream_member(
    kind: ArchiveKind,
    reader: &mut dyn Read,
    outer_name: &str,
    limits: &ArchiveLimits,
    budget: &InflateBudget,
    visit: &mut dyn FnMut(Entry<'_>) -> bool,
) {
    let compressed = CountingReader::new(reader);
    let consumed = compressed.count.clone();
    let name = stream_member_name(outer_name, kind);
    let decoder: Box<dyn Read + '_> = match kind {
        ArchiveKind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(
            compressed,
        ))),
        ArchiveKind::Bzip2 => {
            Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(compressed)))
        }
        _ => match zstd::stream::read::Decoder::new(compressed) {
            Ok(d) => Box::new(d),
            Err(e) => {
                visit(Entry::Error {
                    name: Some(name),
                    message: format!("corrupt zstd stream ({})", first_line(&e)),
                });
                return;
            }
        },
    };
    let decoder = StreamErrors {
        inner: decoder,
        what: match kind {
            ArchiveKind::Gzip => "gzip stream",
            ArchiveKind::Bzip2 => "bzip2 stream",
            _ => "zstd stream",
        },
    };
    let mut limited = LimitedReader::new(decoder, limits, budget, RatioBase::Counted(consumed));
    // A compressed tar (or zip) is one stream but many members: the member
    // limit is for those, each counted as it is read, and the stream is
    // bounded by the total size and the ratio.
    let mut head = Vec::with_capacity(ArchiveKind::SNIFF_LEN);
    if let Err(e) = (&mut limited)
        .take(ArchiveKind::SNIFF_LEN as u64)
        .read_to_end(&mut head)
    {
        visit(Entry::File {
            name,
            reader: &mut FailedRead(Some(e)),
        });
        return;
    }
    if ArchiveKind::sniff(&head).is_some() {
        limited.member_limit = u64::MAX;
    }
    let mut content = Cursor::new(head).chain(limited);
    visit(Entry::File {
        name,
        reader: &mut content,
    });
}

/// A reader whose first read fails with the error met while sniffing it,
/// so the fault is reported where every other member's is.
struct FailedRead(Option<io::Error>);

impl Read for FailedRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

fn tar_members(
    reader: &mut dyn Read,
    limits: &ArchiveLimits,
    budget: &InflateBudget,
    visit: &mut dyn FnMut(Entry<'_>) -> bool,
) {
    let mut archive = tar::Archive::new(reader);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            visit(Entry::Error {
                name: None,
                message: format!("corrupt tar archive ({})", first_line(&e)),
            });
            return;
        }
    };
    // Moving to the next header reads past the rest of the previous
    // member: a limit or fault met there belongs to that member.
    let mut previous: Option<String> = None;
    // Whether that member was already reported as cut by a limit: a limit
    // met again while reading past it is the archive's, not the member's.
    let mut previous_cut = false;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // A tar has no index: after a bad header nothing further
                // can be found.
                visit(match (limit_exceeded(&e), corrupt(&e)) {
                    (Some(limit), _) => Entry::Limited {
                        name: previous.filter(|_| !previous_cut),
                        limit,
                    },
                    (None, Some(fault)) => Entry::Error {
                        name: previous,
                        message: fault.to_string(),
                    },
                    (None, None) => Entry::Error {
                        name: None,
                        message: format!("corrupt tar archive ({})", first_line(&e)),
                    },
                });
                return;
            }
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        previous = Some(name.clone());
        previous_cut = false;
        let kind = entry.header().entry_type();
        let go_on = if kind.is_file() || kind.is_gnu_sparse() || kind.is_contiguous() {
            // Tar stores members uncompressed: the ratio check is for the
            // stream around it, so only the size caps apply here. A sparse
            // member is the exception: its holes inflate from nothing.
            let sparse = kind.is_gnu_sparse();
            let base = if sparse {
                let stored = entry.header().entry_size().unwrap_or(0);
                RatioBase::Known(stored.saturating_add(512))
            } else {
                RatioBase::None
            };
            let size = entry.size();
            let limited = LimitedReader::new(&mut entry, limits, budget, base).expecting(size);
            // A sparse member's holes are inflated from nothing.
            let mut limited = if sparse { limited } else { limited.stored() };
            let go_on = visit(Entry::File {
                name,
                reader: &mut limited,
            });
            previous_cut = limited.cut;
            go_on && !limited.broken
        } else if kind.is_symlink() || kind.is_hard_link() {
            visit(Entry::Skipped {
                name,
                reason: NotAFile::Link,
            })
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            visit(Entry::Skipped {
                name,
                reason: NotAFile::Device,
            })
        } else {
            true
        };
        if !go_on {
            return;
        }
    }
}

fn zip_members(
    input: ArchiveInput<'_>,
    limits: &ArchiveLimits,
    budget: &InflateBudget,
    visit: &mut dyn FnMut(Entry<'_>) -> bool,
) {
    match input {
        ArchiveInput::Seekable(r) => zip_from(r, limits, budget, visit),
        ArchiveInput::Stream(r) => {
            // The central directory is at the end: a zip read as a stream
            // (inside another archive, or piped in) is held, within the
            // member size limit, in memory or a temporary file.
            let cap = limits.max_member_size.min(budget.remaining());
            match Spool::read_up_to(r, cap) {
                Ok((_, held)) if held > cap => {
                    visit(Entry::Error {
                        name: None,
                        message: format!(
                            "zip archive read as a stream is larger than {cap} bytes, not read"
                        ),
                    });
                }
                Ok((mut spool, _)) => zip_from(&mut spool, limits, budget, visit),
                Err(e) => {
                    visit(match (limit_exceeded(&e), corrupt(&e)) {
                        (Some(limit), _) => Entry::Limited { name: None, limit },
                        (None, Some(fault)) => Entry::Error {
                            name: None,
                            message: fault.to_string(),
                        },
                        (None, None) => Entry::Error {
                            name: None,
                            message: format!("unreadable ({})", first_line(&e)),
                        },
                    });
                }
            }
        }
    }
}

fn zip_from<R: Read + Seek + ?Sized>(
    reader: &mut R,
    limits: &ArchiveLimits,
    budget: &InflateBudget,
    visit: &mut dyn FnMut(Entry<'_>) -> bool,
) {
    // What an entry declares about its compressed size is not trusted
    // beyond the bytes there are.
    let length = match reader
        .seek(SeekFrom::End(0))
        .and_then(|n| reader.rewind().map(|_| n))
    {
        Ok(n) => n,
        Err(e) => {
            visit(Entry::Error {
                name: None,
                message: format!("unreadable ({})", first_line(&e)),
            });
            return;
        }
    };
    let mut claimed = ClaimedRanges::default();
    let mut archive = match zip::ZipArchive::new(reader) {
        Ok(a) => a,
        Err(e) => {
            visit(Entry::Error {
                name: None,
                message: format!("corrupt zip archive ({})", first_line(&e)),
            });
            return;
        }
    };
    for index in 0..archive.len() {
        let member = match archive.by_index(index) {
            Ok(m) => m,
            Err(e) => {
                if !visit(Entry::Error {
                    name: None,
                    message: format!("corrupt zip archive, entry {index} ({})", first_line(&e)),
                }) {
                    return;
                }
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(member.name_raw()).replace('\\', "/");
        if member.is_symlink() {
            if !visit(Entry::Skipped {
                name,
                reason: NotAFile::Link,
            }) {
                return;
            }
            continue;
        }
        let compressed = member.compressed_size().min(length);
        let data_end = member.data_start().saturating_add(compressed);
        if !claimed.claim(member.header_start(), data_end) {
            if !visit(Entry::Limited {
                name: Some(name),
                limit: LimitExceeded::Overlap,
            }) {
                return;
            }
            continue;
        }
        let member = StreamErrors {
            inner: member,
            what: "zip member",
        };
        let mut limited =
            LimitedReader::new(member, limits, budget, RatioBase::Known(compressed.max(1)));
        if !visit(Entry::File {
            name,
            reader: &mut limited,
        }) {
            return;
        }
    }
}

/// The byte ranges of a zip's entries read so far (local header through
/// compressed data), none overlapping another.
#[derive(Default)]
struct ClaimedRanges {
    /// Start -> end.
    ranges: BTreeMap<u64, u64>,
}

impl ClaimedRanges {
    /// Records `start..end` unless it overlaps a range already recorded.
    fn claim(&mut self, start: u64, end: u64) -> bool {
        let end = end.max(start.saturating_add(1));
        let before_end = self.ranges.range(..end).next_back();
        if before_end.is_some_and(|(_, &e)| e > start) {
            return false;
        }
        self.ranges.insert(start, end);
        true
    }
}

/// What an inflated stream's ratio is measured against.
enum RatioBase {
    None,
    Known(u64),
    Counted(std::rc::Rc<Cell<u64>>),
}

/// Inflated bytes below which the ratio is not checked: small files
/// compress very well without being bombs.
const RATIO_GRACE: u64 = 1 << 20;

/// Counts inflated bytes against the member limit, the shared budget and
/// the compression ratio; past any of them, reads fail with a
/// [`LimitExceeded`] error.
struct LimitedReader<'b, R> {
    inner: R,
    read: u64,
    member_limit: u64,
    max_ratio: u64,
    base: RatioBase,
    budget: &'b InflateBudget,
    /// The size the format promises, where running out early means the
    /// archive was cut (tar reads a short member as a short member).
    expected: Option<u64>,
    /// The stream below failed (or ended early): what follows this member
    /// cannot be found, and the failure was reported with the member.
    broken: bool,
    /// A limit stopped this member.
    cut: bool,
    /// Whether the bytes are inflated here. A tar member's are not: they
    /// were counted as the stream around the tar inflated them (or lie in
    /// the file as they are), and counting them again would halve the
    /// total size limit for a tar.gz.
    spends_budget: bool,
}

impl<'b, R: Read> LimitedReader<'b, R> {
    fn new(inner: R, limits: &ArchiveLimits, budget: &'b InflateBudget, base: RatioBase) -> Self {
        LimitedReader {
            inner,
            read: 0,
            member_limit: limits.max_member_size,
            max_ratio: limits.max_ratio,
            base,
            budget,
            expected: None,
            broken: false,
            cut: false,
            spends_budget: true,
        }
    }

    fn stored(mut self) -> Self {
        self.spends_budget = false;
        self
    }

    fn expecting(mut self, size: u64) -> Self {
        self.expected = Some(size);
        self
    }

    fn total_size_exceeded(&mut self) -> io::Error {
        self.cut = true;
        self.budget.exhausted.set(true);
        io::Error::other(LimitExceeded::TotalSize(self.budget.total))
    }

    fn check(&self) -> Result<(), LimitExceeded> {
        if self.read > self.member_limit {
            return Err(LimitExceeded::MemberSize(self.member_limit));
        }
        if self.read > RATIO_GRACE {
            let compressed = match &self.base {
                RatioBase::None => None,
                RatioBase::Known(n) => Some(*n),
                RatioBase::Counted(c) => Some(c.get().max(1)),
            };
            if compressed.is_some_and(|c| self.read / c > self.max_ratio) {
                return Err(LimitExceeded::Ratio(self.max_ratio));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for LimitedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = if self.spends_budget {
            self.budget.remaining.get()
        } else {
            u64::MAX
        };
        if remaining == 0 {
            // One byte more tells a stream that ends exactly at the budget
            // from one that goes on.
            let mut probe = [0u8; 1];
            let probed = self.inner.read(&mut probe).inspect_err(|_| {
                self.broken = true;
            })?;
            return match probed {
                0 => Ok(0),
                _ => Err(self.total_size_exceeded()),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want]).inspect_err(|_| {
            self.broken = true;
        })?;
        if n == 0 && !buf.is_empty() {
            if let Some(expected) = self.expected.filter(|&e| self.read < e) {
                self.broken = true;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    Corrupt(format!(
                        "truncated tar member ({} of {expected} bytes)",
                        self.read
                    )),
                ));
            }
        }
        self.read += n as u64;
        let spent = match self.spends_budget {
            true => self.budget.spend(n as u64),
            false => Ok(()),
        };
        spent.and_then(|()| self.check()).map_err(|limit| {
            self.cut = true;
            io::Error::other(limit)
        })?;
        Ok(n)
    }
}

/// Names the format in a decoder's errors: "corrupt data" alone does not
/// say which of the nested streams was at fault. Limits and faults of the
/// streams it reads from pass through as they are.
struct StreamErrors<R> {
    inner: R,
    /// The format and what of it was being read: `gzip stream`.
    what: &'static str,
}

impl<R: Read> Read for StreamErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if limit_exceeded(&e).is_some() || corrupt(&e).is_some() {
                return e;
            }
            let detail = match e.kind() {
                io::ErrorKind::UnexpectedEof => "truncated".to_string(),
                _ => first_line(&e).to_lowercase(),
            };
            io::Error::new(
                e.kind(),
                Corrupt(format!("corrupt {} ({detail})", self.what)),
            )
        })
    }
}

/// Counts the compressed bytes a decoder pulls, for the ratio check.
struct CountingReader<R> {
    inner: R,
    count: std::rc::Rc<Cell<u64>>,
}

impl<R> CountingReader<R> {
    fn new(inner: R) -> Self {
        CountingReader {
            inner,
            count: std::rc::Rc::new(Cell::new(0)),
        }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

fn first_line(e: &dyn fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or("error").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every file entry's name and content, or the error text, in order.
    fn unpack(kind: ArchiveKind, bytes: &[u8], name: &str, limits: &ArchiveLimits) -> Vec<String> {
        let budget = InflateBudget::new(limits);
        let mut seen = Vec::new();
        let mut cursor = Cursor::new(bytes.to_vec());
        for_each_member(
            kind,
            ArchiveInput::Seekable(&mut cursor),
            name,
            limits,
            &budget,
            &mut |entry| {
                match entry {
                    Entry::File { name, reader } => {
                        let mut s = Vec::new();
                        match reader.read_to_end(&mut s) {
                            Ok(_) => seen.push(format!("{name}={}", String::from_utf8_lossy(&s))),
                            Err(e) => seen.push(format!(
                                "{name}: {}",
                                limit_exceeded(&e).map_or(e.to_string(), |l| l.to_string())
                            )),
                        }
                    }
                    Entry::Skipped { name, reason } => seen.push(format!("{name}: {reason:?}")),
                    Entry::Limited { name, limit } => {
                        seen.push(format!("{}: {limit}", name.unwrap_or_default()))
                    }
                    Entry::Error { name, message } => {
                        seen.push(format!("{}: {message}", name.unwrap_or_default()))
                    }
                }
                true
            },
        );
        seen
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut out);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in files {
                z.start_file(*name, opts).unwrap();
                z.write_all(data).unwrap();
            }
            z.finish().unwrap();
        }
        out.into_inner()
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gzip_of(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(
            ArchiveKind::sniff(&zip_of(&[("a", b"x")])),
            Some(ArchiveKind::Zip)
        );
        assert_eq!(
            ArchiveKind::sniff(&tar_of(&[("a", b"x")])),
            Some(ArchiveKind::Tar)
        );
        assert_eq!(ArchiveKind::sniff(&gzip_of(b"x")), Some(ArchiveKind::Gzip));
        let zst = zstd::stream::encode_all(&b"hello"[..], 3).unwrap();
        assert_eq!(ArchiveKind::sniff(&zst), Some(ArchiveKind::Zstd));
        assert_eq!(ArchiveKind::sniff(b"BZh91AY&SY"), Some(ArchiveKind::Bzip2));
        assert_eq!(ArchiveKind::sniff(b"PKG_CONFIG_PATH=/usr/lib"), None);
        // `ustar` at the tar magic's offset in plain text is not a tar.
        let mut text = vec![b'a'; 600];
        text[257..262].copy_from_slice(b"ustar");
        assert_eq!(ArchiveKind::sniff(&text), None);
    }

    #[test]
    fn zip_members_in_order_with_hostile_names_as_labels() {
        let z = zip_of(&[("app/.env", b"A=1\n"), ("../../etc/x", b"B=2\n")]);
        let seen = unpack(ArchiveKind::Zip, &z, "a.zip", &ArchiveLimits::default());
        assert_eq!(seen, vec!["app/.env=A=1\n", "../../etc/x=B=2\n"]);
    }

    #[test]
    fn tar_skips_links_and_devices() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "link", "/etc/passwd").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Char);
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, "dev/zero", &b""[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_cksum();
        b.append_data(&mut h, "etc/app.conf", &b"k=v\n"[..])
            .unwrap();
        let t = b.into_inner().unwrap();
        let seen = unpack(ArchiveKind::Tar, &t, "a.tar", &ArchiveLimits::default());
        assert_eq!(
            seen,
            vec!["link: Link", "dev/zero: Device", "etc/app.conf=k=v\n"]
        );
    }

    #[test]
    fn gzip_member_named_after_the_stream() {
        let g = gzip_of(b"line\n");
        let seen = unpack(
            ArchiveKind::Gzip,
            &g,
            "logs/build.log.gz",
            &ArchiveLimits::default(),
        );
        assert_eq!(seen, vec!["build.log=line\n"]);
        assert_eq!(
            stream_member_name("x/rel.tgz", ArchiveKind::Gzip),
            "rel.tar"
        );
        assert_eq!(
            stream_member_name("blob", ArchiveKind::Zstd),
            "blob.zstd-content"
        );
    }

    #[test]
    fn bombs_stop_at_the_ratio() {
        let zeros = vec![0u8; 8 << 20];
        let g = gzip_of(&zeros);
        let seen = unpack(ArchiveKind::Gzip, &g, "z.gz", &ArchiveLimits::default());
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].contains("compression ratio above 1000:1"),
            "{seen:?}"
        );
        let z = zip_of(&[("zeros.bin", &zeros)]);
        let seen = unpack(ArchiveKind::Zip, &z, "z.zip", &ArchiveLimits::default());
        assert!(seen[0].contains("compression ratio"), "{seen:?}");
    }

    #[test]
    fn member_and_total_limits() {
        let limits = ArchiveLimits {
            max_member_size: 10,
            max_total_size: 1 << 20,
            max_ratio: 1000,
        };
        let t = tar_of(&[("big", b"0123456789abcdef"), ("ok", b"short")]);
        let seen = unpack(ArchiveKind::Tar, &t, "t.tar", &limits);
        assert_eq!(
            seen,
            vec![
                "big: inflates past the member size limit (10 bytes)",
                "ok=short"
            ]
        );
        let limits = ArchiveLimits {
            max_member_size: 100,
            max_total_size: 8,
            max_ratio: 1000,
        };
        let z = zip_of(&[("big", b"0123456789abcdef"), ("ok", b"short")]);
        let seen = unpack(ArchiveKind::Zip, &z, "t.zip", &limits);
        assert_eq!(
            seen,
            vec![
                "big: archive inflates past the total size limit (8 bytes)",
                "ok: archive inflates past the total size limit (8 bytes)"
            ]
        );
        // A tar's members are not inflated: only the stream around a tar
        // spends the budget, once.
        let seen = unpack(ArchiveKind::Tar, &t, "t.tar", &limits);
        assert_eq!(seen, vec!["big=0123456789abcdef", "ok=short"]);
    }

    #[test]
    fn truncated_streams_are_errors_not_panics() {
        let g = gzip_of(&b"some text that compresses a little ".repeat(100));
        let seen = unpack(
            ArchiveKind::Gzip,
            &g[..g.len() / 2],
            "t.gz",
            &ArchiveLimits::default(),
        );
        assert_eq!(seen.len(), 1);
        assert!(!seen[0].contains('='), "{seen:?}");
        let z = zip_of(&[("a.txt", b"hello")]);
        let seen = unpack(
            ArchiveKind::Zip,
            &z[..z.len() - 10],
            "t.zip",
            &ArchiveLimits::default(),
        );
        assert!(seen[0].contains("corrupt zip archive"), "{seen:?}");
        let t = tar_of(&[("a.txt", &[b'x'; 2000])]);
        let seen = unpack(
            ArchiveKind::Tar,
            &t[..1000],
            "t.tar",
            &ArchiveLimits::default(),
        );
        assert!(!seen.is_empty());
    }

    #[test]
    fn overlapping_ranges_are_refused() {
        let mut claimed = ClaimedRanges::default();
        assert!(claimed.claim(0, 100));
        assert!(claimed.claim(200, 300));
        assert!(claimed.claim(100, 200));
        assert!(!claimed.claim(0, 100), "the same range again");
        assert!(!claimed.claim(250, 260), "inside another");
        assert!(!claimed.claim(150, 450), "across two");
        assert!(claimed.claim(300, 300), "an empty entry right after");
    }

    #[test]
    fn faults_name_the_format_and_the_member() {
        let t = tar_of(&[("db/dump.sql", &[b'x'; 2000]), ("after", b"never")]);
        let seen = unpack(
            ArchiveKind::Tar,
            &t[..1024],
            "t.tar",
            &ArchiveLimits::default(),
        );
        assert_eq!(
            seen,
            vec!["db/dump.sql: truncated tar member (512 of 2000 bytes)"]
        );
        let zst = zstd::stream::encode_all(&b"deploy ok\n".repeat(1000)[..], 3).unwrap();
        let seen = unpack(
            ArchiveKind::Zstd,
            &zst[..zst.len() / 2],
            "app.log.zst",
            &ArchiveLimits::default(),
        );
        assert_eq!(seen, vec!["app.log: corrupt zstd stream (truncated)"]);
    }

    #[test]
    fn a_streamed_zip_is_held_within_the_member_limit() {
        let limits = ArchiveLimits {
            max_member_size: 64,
            ..ArchiveLimits::default()
        };
        let z = zip_of(&[("a.txt", b"hello")]);
        let budget = InflateBudget::new(&limits);
        let mut seen = Vec::new();
        for_each_member(
            ArchiveKind::Zip,
            ArchiveInput::Stream(&mut &z[..]),
            "inner.zip",
            &limits,
            &budget,
            &mut |entry| {
                if let Entry::Error { message, .. } = entry {
                    seen.push(message);
                }
                true
            },
        );
        assert_eq!(
            seen,
            vec!["zip archive read as a stream is larger than 64 bytes, not read"]
        );
    }

    #[test]
    fn a_compressed_archive_is_not_one_member() {
        let limits = ArchiveLimits {
            max_member_size: 1000,
            ..ArchiveLimits::default()
        };
        let page = b"x".repeat(900);
        let t = tar_of(&[("a.txt", &page), ("b.txt", &page)]);
        assert!(t.len() > 1000);
        let g = gzip_of(&t);
        let budget = InflateBudget::new(&limits);
        let mut sizes = Vec::new();
        for_each_member(
            ArchiveKind::Gzip,
            ArchiveInput::Stream(&mut &g[..]),
            "site.tar.gz",
            &limits,
            &budget,
            &mut |entry| {
                if let Entry::File { reader, .. } = entry {
                    let mut tar_bytes = Vec::new();
                    sizes.push(
                        reader
                            .read_to_end(&mut tar_bytes)
                            .map_err(|e| e.to_string()),
                    );
                }
                true
            },
        );
        assert_eq!(sizes, vec![Ok(t.len())]);
        // A compressed file that is not an archive still is one member.
        let g = gzip_of(&b"y".repeat(2000));
        let seen = unpack(ArchiveKind::Gzip, &g, "big.log.gz", &limits);
        assert_eq!(
            seen,
            vec!["big.log: inflates past the member size limit (1000 bytes)"]
        );
    }
}
