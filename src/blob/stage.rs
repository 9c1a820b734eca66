//! What happens to a blob between the source that found it and the
//! engine: an archive is unpacked and each member goes through this stage
//! again, one level deeper; UTF-16 text is decoded; binary data is passed
//! over; text goes to the reader its kind needs (plain text to the chunked
//! reader, a build log to the log normaliser) and on to the sink. (Encoded
//! runs inside text are decoded by the sink, chunk by chunk.)

use std::io::{self, BufReader, Cursor, Read};

use super::archive::{
    corrupt, for_each_member, length_from_here, limit_exceeded, ArchiveInput, ArchiveKind,
    ArchiveLimits, Entry, InflateBudget, LimitExceeded, NotAFile,
};
use super::id::BlobId;
use crate::sources::log::scan_log_stream;
use crate::sources::text::TextEncoding;
use crate::sources::{
    describe_io_error, feed_reader, BlobSink, Provenance, SkipReason, CHUNK_SIZE,
};

/// How many leading bytes decide what a blob is.
pub const SNIFF_LEN: usize = 8 * 1024;

/// How deep archives are unpacked by default: a jar in a tar.gz is three.
pub const DEFAULT_ARCHIVE_DEPTH: usize = 3;

/// What the text found in a source's blobs is, and so how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlobKind {
    /// Files: scanned as they are.
    #[default]
    Text,
    /// Build logs: escape sequences and timestamps are removed before
    /// matching, positions are those of the input.
    Log,
}

#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Archives nested deeper than this are not unpacked; 0 unpacks none.
    pub max_archive_depth: usize,
    pub archive: ArchiveLimits,
    /// How every text member is read, at any depth.
    pub kind: BlobKind,
    /// A member cut short by an inflate limit is an error naming it, not a
    /// counted skip: logs are named one by one, and a log read only in part
    /// must not pass for a clean one.
    pub limits_are_errors: bool,
}

impl Default for StageOptions {
    fn default() -> Self {
        StageOptions {
            max_archive_depth: DEFAULT_ARCHIVE_DEPTH,
            archive: ArchiveLimits::default(),
            kind: BlobKind::Text,
            limits_are_errors: false,
        }
    }
}

impl StageOptions {
    /// The archive format `head` starts with, if archives at `depth` (0
    /// for a source's own blobs) are unpacked.
    pub fn archive_at(&self, head: &[u8], depth: usize) -> Option<ArchiveKind> {
        if depth >= self.max_archive_depth {
            return None;
        }
        ArchiveKind::sniff(head)
    }
}

/// Unpacks the archive `prov` names and scans every member. The archive
/// itself counts as one input read.
pub fn scan_archive(
    kind: ArchiveKind,
    input: ArchiveInput<'_>,
    prov: &Provenance,
    depth: usize,
    opts: &StageOptions,
    budget: &InflateBudget,
    sink: &dyn BlobSink,
) {
    let outer = prov.innermost_path().to_string();
    let input = match input {
        ArchiveInput::Seekable(r) if depth == 0 => {
            // A size that cannot be told only loses the check on the whole.
            if let Ok(size) = length_from_here(r) {
                budget.measure_input(size);
            }
            ArchiveInput::Seekable(r)
        }
        other => other,
    };
    // A compressed stream's one member is not shown in the path: the
    // stream holds nothing else.
    let member = |name: &str| {
        if kind.is_stream() {
            prov.stream_content(name)
        } else {
            prov.member(name)
        }
    };
    for_each_member(kind, input, &outer, &opts.archive, budget, &mut |entry| {
        match entry {
            Entry::File { name, reader } => {
                scan_member(reader, &member(&name), depth + 1, opts, budget, sink);
            }
            Entry::Skipped { name, reason } => {
                let reason = match reason {
                    NotAFile::Link => SkipReason::Symlink,
                    NotAFile::Device => SkipReason::NotAFile,
                };
                sink.skipped(&member(&name).path, reason);
            }
            Entry::Limited { name, limit } => {
                let at = match name {
                    Some(n) => member(&n).path,
                    None => prov.path.clone(),
                };
                cut_short(&at, limit, opts, sink);
            }
            Entry::Error { name, message } => {
                let at = match name {
                    Some(n) => member(&n).path,
                    None => prov.path.clone(),
                };
                sink.error(format!("{at}: {message}"));
            }
        }
        !sink.should_stop() && !budget.exhausted()
    });
    sink.finished(prov, 0);
}

/// Scans one archive member, read as a stream: another archive is
/// unpacked in turn, text is chunked, binary data is passed over.
fn scan_member(
    reader: &mut dyn Read,
    prov: &Provenance,
    depth: usize,
    opts: &StageOptions,
    budget: &InflateBudget,
    sink: &dyn BlobSink,
) {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    if let Err(e) = reader.take(SNIFF_LEN as u64).read_to_end(&mut head) {
        member_error(prov, &e, opts, sink);
        return;
    }
    if head.is_empty() {
        sink.skipped(&prov.path, SkipReason::Empty);
        return;
    }
    if let Some(kind) = ArchiveKind::sniff(&head) {
        if depth >= opts.max_archive_depth {
            sink.skipped(&prov.path, SkipReason::ArchiveLimit);
            return;
        }
        let mut stream = Cursor::new(head).chain(reader);
        let input = ArchiveInput::Stream(&mut stream);
        scan_archive(kind, input, prov, depth, opts, budget, sink);
        return;
    }
    let encoding = TextEncoding::sniff(&head);
    if encoding == TextEncoding::Bytes && memchr::memchr(0, &head).is_some() {
        sink.skipped(&prov.path, SkipReason::Binary);
        return;
    }
    // A member that fits its head is held whole: the same file in two
    // archives is matched once.
    let whole = head.len() < SNIFF_LEN && encoding == TextEncoding::Bytes;
    if whole && !sink.claim(prov, BlobId::of_bytes(&head)) {
        sink.finished(prov, head.len() as u64);
        return;
    }
    let stream = encoding.decoder(Cursor::new(head).chain(reader));
    // Members are scanned on the thread that unpacks them: the walk
    // already keeps every core busy with other files.
    let scanned = match opts.kind {
        BlobKind::Text => feed_reader(stream, prov, sink, CHUNK_SIZE, 1).map(|_| ()),
        BlobKind::Log => scan_log_stream(
            BufReader::with_capacity(64 * 1024, stream),
            prov,
            CHUNK_SIZE,
            sink,
        ),
    };
    if let Err(e) = scanned {
        member_error(prov, &e, opts, sink);
    }
}

/// A member that could not be read to its end: cut short by a limit (see
/// [`cut_short`]; what was inflated before it was scanned) or corrupt (an
/// error naming it).
fn member_error(prov: &Provenance, e: &io::Error, opts: &StageOptions, sink: &dyn BlobSink) {
    if let Some(limit) = limit_exceeded(e) {
        cut_short(&prov.path, limit, opts, sink);
    } else if let Some(fault) = corrupt(e) {
        sink.error(format!("{}: {fault}", prov.path));
    } else {
        sink.error(format!(
            "{}: corrupt or unreadable ({})",
            prov.path,
            describe_io_error(e)
        ));
    }
}

/// A member not read, or not read to its end, because of `limit`: a skip
/// counted with its reason like a file over `--max-file-size`, or an error
/// when the options say so.
fn cut_short(path: &str, limit: LimitExceeded, opts: &StageOptions, sink: &dyn BlobSink) {
    if opts.limits_are_errors {
        let what = match limit {
            LimitExceeded::Overlap => "not read",
            _ => "the rest is not read",
        };
        sink.error(format!("{path}: {limit}, {what}"));
    } else {
        sink.skipped(path, SkipReason::ArchiveLimit);
    }
}
