//! What happens to a blob between the source that found it and the
//! engine: an archive is unpacked and each member goes through this stage
//! again, one level deeper; UTF-16 text is decoded; binary data is passed
//! over; text goes to the chunked reader and the sink. (Encoded runs inside
//! text are decoded by the sink, chunk by chunk.)

use std::io::{self, Cursor, Read};

use super::archive::{
    for_each_member, limit_exceeded, ArchiveInput, ArchiveKind, ArchiveLimits, Entry,
    InflateBudget, NotAFile,
};
use super::id::BlobId;
use crate::sources::text::TextEncoding;
use crate::sources::{
    describe_io_error, feed_reader, BlobSink, Provenance, SkipReason, CHUNK_SIZE,
};

/// How many leading bytes decide what a blob is.
pub const SNIFF_LEN: usize = 8 * 1024;

/// How deep archives are unpacked by default: a jar in a tar.gz is three.
pub const DEFAULT_ARCHIVE_DEPTH: usize = 3;

#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Archives nested deeper than this are not unpacked; 0 unpacks none.
    pub max_archive_depth: usize,
    pub archive: ArchiveLimits,
}

impl Default for StageOptions {
    fn default() -> Self {
        StageOptions {
            max_archive_depth: DEFAULT_ARCHIVE_DEPTH,
            archive: ArchiveLimits::default(),
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
    for_each_member(kind, input, &outer, &opts.archive, budget, &mut |entry| {
        match entry {
            Entry::File { name, reader } => {
                let member = if kind.is_stream() {
                    prov.stream_content(&name)
                } else {
                    prov.member(&name)
                };
                scan_member(reader, &member, depth + 1, opts, budget, sink);
            }
            Entry::Skipped { name, reason } => {
                let reason = match reason {
                    NotAFile::Link => SkipReason::Symlink,
                    NotAFile::Device => SkipReason::NotAFile,
                };
                sink.skipped(&prov.member(&name).path, reason);
            }
            Entry::Error { name, message } => {
                let at = match name {
                    Some(n) => prov.member(&n).path,
                    None => prov.path.clone(),
                };
                sink.error(format!("{at}: {message}"));
            }
        }
        !sink.should_stop()
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
        member_error(prov, &e, sink);
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
    if let Err(e) = feed_reader(stream, prov, sink, CHUNK_SIZE, 1) {
        member_error(prov, &e, sink);
    }
}

/// A member that could not be read to its end: cut short by a limit (a
/// skip, counted with its reason like a file over `--max-file-size`; what
/// was inflated before it was scanned) or corrupt (an error naming it).
fn member_error(prov: &Provenance, e: &io::Error, sink: &dyn BlobSink) {
    match limit_exceeded(e) {
        Some(_) => sink.skipped(&prov.path, SkipReason::ArchiveLimit),
        None => sink.error(format!(
            "{}: corrupt or unreadable ({})",
            prov.path,
            describe_io_error(e)
        )),
    }
}
