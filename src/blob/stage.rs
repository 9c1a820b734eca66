//! What happens to a blob between the source that found it and the
//! engine, the same for every source: size caps, then an archive is
//! unpacked and each member goes through this stage again, one level
//! deeper; UTF-16 text is decoded; binary data is passed over; a blob held
//! whole is claimed by its identity, so the same bytes are matched once
//! per run; text goes to the reader its kind needs (plain text to the
//! chunked reader, a build log to the log normaliser) and on to the sink.
//! (Encoded runs inside text are decoded by the sink, chunk by chunk.)

use std::cell::RefCell;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};

use super::archive::{
    corrupt, for_each_member, length_from_here, limit_exceeded, ArchiveInput, ArchiveKind,
    ArchiveLimits, Entry, InflateBudget, LimitExceeded, NotAFile,
};
use super::id::BlobId;
use super::{Blob, Content};
use crate::sources::log::scan_log_stream;
use crate::sources::text::TextEncoding;
use crate::sources::{
    describe_io_error, feed_reader, BlobSink, Chunk, Provenance, SkipReason, CHUNK_SIZE,
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
    /// Blobs larger than this are skipped and counted, unless named by the
    /// user.
    pub max_file_size: u64,
    /// Workers that scan the chunks of one large blob. Sources that scan
    /// many blobs at once leave it at 1: their own workers keep the cores
    /// busy.
    pub threads: usize,
    /// Bytes per chunk of a blob too large to match whole.
    pub chunk_size: usize,
}

impl Default for StageOptions {
    fn default() -> Self {
        StageOptions {
            max_archive_depth: DEFAULT_ARCHIVE_DEPTH,
            archive: ArchiveLimits::default(),
            kind: BlobKind::Text,
            limits_are_errors: false,
            max_file_size: u64::MAX,
            threads: 1,
            chunk_size: CHUNK_SIZE,
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

thread_local! {
    /// Holds one whole small file at a time; reused across the files a
    /// thread reads.
    static FILE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Scans one blob a source enumerated. `explicit`: the user named it, so
/// it is read whatever its size or content.
pub fn scan_blob(blob: Blob<'_>, explicit: bool, opts: &StageOptions, sink: &dyn BlobSink) {
    let Blob {
        id,
        provenance: prov,
        content,
    } = blob;
    let at = At {
        prov: &prov,
        id,
        depth: 0,
        explicit,
        opts,
        budget: None,
        sink,
    };
    match content {
        Content::Bytes(bytes) => {
            if !explicit && bytes.len() as u64 > opts.max_file_size {
                sink.skipped(&prov.path, SkipReason::TooLarge);
                return;
            }
            at.bytes(bytes);
        }
        Content::File { file, size } => {
            if !explicit && size > opts.max_file_size {
                sink.skipped(&prov.path, SkipReason::TooLarge);
                return;
            }
            // Most files fit in one chunk: read them whole into a
            // per-thread buffer instead of allocating one per file.
            if size <= opts.chunk_size as u64 {
                let done = FILE_BUFFER.with(|cell| match cell.try_borrow_mut() {
                    Ok(mut buf) => {
                        at.small_file(file, &mut buf);
                        if buf.capacity() > opts.chunk_size + 1 {
                            *buf = Vec::new();
                        }
                        true
                    }
                    Err(_) => false,
                });
                if done {
                    return;
                }
            }
            let rewind = file.try_clone();
            at.stream(file, Some(rewind));
        }
        Content::Stream(reader) => at.stream(reader, None),
    }
}

/// One blob on its way through the stage, and where it stands.
struct At<'p, 's> {
    prov: &'p Provenance,
    id: Option<BlobId>,
    /// 0 for a source's own blobs, one more per archive it sits in.
    depth: usize,
    explicit: bool,
    opts: &'s StageOptions,
    /// The inflate budget of the top-level blob this one was unpacked from.
    budget: Option<&'s InflateBudget>,
    sink: &'s dyn BlobSink,
}

impl At<'_, '_> {
    fn error(&self, e: &io::Error) {
        if self.depth == 0 && limit_exceeded(e).is_none() && corrupt(e).is_none() {
            let path = &self.prov.path;
            self.sink.error(format!("{path}: {}", describe_io_error(e)));
        } else {
            member_error(self.prov, e, self.opts, self.sink);
        }
    }

    fn skip(&self, reason: SkipReason) {
        self.sink.skipped(&self.prov.path, reason);
    }

    /// The archive format `head` starts with, if it is to be unpacked
    /// here; an archive nested too deep is skipped and counted.
    fn archive(&self, head: &[u8]) -> Result<Option<ArchiveKind>, ()> {
        match ArchiveKind::sniff(head) {
            Some(_) if self.opts.max_archive_depth == 0 && self.depth == 0 => Ok(None),
            Some(_) if self.depth >= self.opts.max_archive_depth => {
                self.skip(SkipReason::ArchiveLimit);
                Err(())
            }
            kind => Ok(kind),
        }
    }

    fn unpack(&self, kind: ArchiveKind, input: ArchiveInput<'_>) {
        match self.budget {
            Some(budget) => scan_archive(
                kind, input, self.prov, self.depth, self.opts, budget, self.sink,
            ),
            None => {
                let budget = InflateBudget::new(&self.opts.archive);
                scan_archive(
                    kind, input, self.prov, self.depth, self.opts, &budget, self.sink,
                )
            }
        }
    }

    /// Whether the blob's bytes are still to be matched: false when the
    /// same bytes were matched already in this run.
    fn claim(&self, whole: &[u8]) -> bool {
        let id = self.id.unwrap_or_else(|| BlobId::of_bytes(whole));
        self.sink.claim(self.prov, id)
    }

    /// A file expected to fit one chunk, read whole into `buf`; one that
    /// grew past a chunk since its size was read goes on as a stream.
    fn small_file(&self, file: &mut std::fs::File, buf: &mut Vec<u8>) {
        buf.clear();
        let cap = self.opts.chunk_size as u64 + 1;
        if let Err(e) = (&mut *file).take(cap).read_to_end(buf) {
            self.error(&e);
            return;
        }
        if buf.len() <= self.opts.chunk_size {
            self.bytes(buf);
            return;
        }
        let rewind = file.try_clone();
        let mut stream = Cursor::new(&buf[..]).chain(&mut *file);
        self.stream(&mut stream, Some(rewind));
    }

    /// A blob held whole.
    fn bytes(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            self.skip(SkipReason::Empty);
            return;
        }
        let head = &bytes[..bytes.len().min(SNIFF_LEN)];
        match self.archive(head) {
            Err(()) => return,
            Ok(Some(kind)) => {
                if !self.claim(bytes) {
                    self.sink.finished(self.prov, 0);
                    return;
                }
                self.unpack(kind, ArchiveInput::Seekable(&mut Cursor::new(bytes)));
                return;
            }
            Ok(None) => {}
        }
        let encoding = TextEncoding::sniff(head);
        if encoding != TextEncoding::Bytes {
            self.decoded(encoding.decoder(bytes), bytes.len());
            return;
        }
        if !self.explicit && memchr::memchr(0, head).is_some() {
            self.skip(SkipReason::Binary);
            return;
        }
        if !self.claim(bytes) {
            self.sink.finished(self.prov, bytes.len() as u64);
            return;
        }
        if self.opts.kind == BlobKind::Text && bytes.len() <= self.opts.chunk_size {
            self.sink.chunk(self.prov, Chunk::whole(bytes));
            self.sink.finished(self.prov, bytes.len() as u64);
            return;
        }
        self.read_text(bytes, bytes.len() > self.opts.chunk_size);
    }

    /// A blob read as a stream: its head decides what it is. `rewind` is
    /// the same file when the blob is a regular file, so an archive is read
    /// in place instead of as a stream.
    fn stream(&self, reader: &mut dyn Read, rewind: Option<io::Result<std::fs::File>>) {
        let mut head = Vec::with_capacity(SNIFF_LEN);
        if let Err(e) = (&mut *reader).take(SNIFF_LEN as u64).read_to_end(&mut head) {
            self.error(&e);
            return;
        }
        if head.is_empty() {
            self.skip(SkipReason::Empty);
            return;
        }
        match self.archive(&head) {
            Err(()) => return,
            Ok(Some(kind)) => {
                match rewind {
                    Some(Ok(mut file)) => match file.seek(SeekFrom::Start(0)) {
                        Ok(_) => self.unpack(kind, ArchiveInput::Seekable(&mut file)),
                        Err(e) => self.error(&e),
                    },
                    Some(Err(e)) => self.error(&e),
                    None => {
                        let mut stream = Cursor::new(head).chain(reader);
                        self.unpack(kind, ArchiveInput::Stream(&mut stream));
                    }
                }
                return;
            }
            Ok(None) => {}
        }
        let encoding = TextEncoding::sniff(&head);
        if encoding != TextEncoding::Bytes {
            self.decoded(
                encoding.decoder(Cursor::new(head).chain(reader)),
                usize::MAX,
            );
            return;
        }
        if !self.explicit && memchr::memchr(0, &head).is_some() {
            self.skip(SkipReason::Binary);
            return;
        }
        // A stream that fits one chunk is held whole and claimed by its
        // identity: the same file in two archives is matched once. Only a
        // longer one is read as it comes.
        let mut whole = head;
        if whole.len() == SNIFF_LEN {
            let room = self.opts.chunk_size.saturating_sub(whole.len()) as u64 + 1;
            if let Err(e) = (&mut *reader).take(room).read_to_end(&mut whole) {
                self.error(&e);
                return;
            }
        }
        if whole.len() <= self.opts.chunk_size {
            self.bytes(&whole);
            return;
        }
        let mut stream = Cursor::new(whole).chain(reader);
        self.text_stream(&mut stream, true);
    }

    /// Text that is not UTF-8 (a byte order mark started it), scanned as
    /// the UTF-8 it decodes to. `raw_len`: the encoded length, when known.
    fn decoded(&self, mut decoded: impl Read, raw_len: usize) {
        let mut head = Vec::with_capacity(SNIFF_LEN);
        if let Err(e) = (&mut decoded).take(SNIFF_LEN as u64).read_to_end(&mut head) {
            self.error(&e);
            return;
        }
        if head.is_empty() {
            self.skip(SkipReason::Empty);
            return;
        }
        // Binary data that happens to start like a byte order mark decodes
        // to NUL characters as surely as it held NUL bytes.
        if !self.explicit && memchr::memchr(0, &head).is_some() {
            self.skip(SkipReason::Binary);
            return;
        }
        let mut stream = Cursor::new(head).chain(decoded);
        self.text_stream(&mut stream, raw_len > self.opts.chunk_size);
    }

    fn read_text(&self, bytes: &[u8], large: bool) {
        let mut stream = bytes;
        self.text_stream(&mut stream, large);
    }

    /// Text read as a stream, by the reader the blob's kind needs. `large`:
    /// worth scanning on several workers.
    fn text_stream(&self, stream: &mut dyn Read, large: bool) {
        let opts = self.opts;
        let parallel = if large && self.depth == 0 {
            opts.threads.max(1)
        } else {
            1
        };
        let scanned = match opts.kind {
            BlobKind::Text => {
                feed_reader(stream, self.prov, self.sink, opts.chunk_size, parallel).map(|_| ())
            }
            BlobKind::Log => scan_log_stream(
                BufReader::with_capacity(64 * 1024, stream),
                self.prov,
                opts.chunk_size,
                self.sink,
            ),
        };
        if let Err(e) = scanned {
            self.error(&e);
        }
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
                let prov = member(&name);
                let at = At {
                    prov: &prov,
                    id: None,
                    depth: depth + 1,
                    explicit: false,
                    opts,
                    budget: Some(budget),
                    sink,
                };
                at.stream(reader, None);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::io::Write;
    use std::sync::Mutex;

    /// Records what reaches the engine and claims like a run does: the
    /// first blob with an id is scanned, every later one is a copy.
    #[derive(Default)]
    struct Recorder {
        scanned: Mutex<Vec<(String, usize)>>,
        skipped: Mutex<Vec<(String, SkipReason)>>,
        ids: Mutex<HashSet<BlobId>>,
    }

    impl BlobSink for Recorder {
        fn chunk_overlap(&self) -> usize {
            64
        }
        fn chunk(&self, prov: &Provenance, chunk: Chunk<'_>) {
            let kept = chunk.keep.len();
            self.scanned.lock().unwrap().push((prov.path.clone(), kept));
        }
        fn finished(&self, _: &Provenance, _: u64) {}
        fn skipped(&self, input: &str, reason: SkipReason) {
            self.skipped
                .lock()
                .unwrap()
                .push((input.to_string(), reason));
        }
        fn error(&self, message: String) {
            panic!("unexpected error: {message}");
        }
        fn claim(&self, _: &Provenance, id: BlobId) -> bool {
            self.ids.lock().unwrap().insert(id)
        }
    }

    fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn scan(path: &str, bytes: &[u8], explicit: bool, opts: &StageOptions, sink: &Recorder) {
        let blob = Blob {
            id: None,
            provenance: Provenance::path(path),
            content: Content::Bytes(bytes),
        };
        scan_blob(blob, explicit, opts, sink);
    }

    #[test]
    fn a_large_member_seen_in_two_archives_is_matched_once() {
        let text: String = (0..4000)
            .map(|i| format!("setting_{i} = value {i}\n"))
            .collect();
        assert!(text.len() > SNIFF_LEN * 4);
        let rec = Recorder::default();
        let opts = StageOptions::default();
        scan(
            "a.zip",
            &zip_of("conf/app.ini", text.as_bytes()),
            false,
            &opts,
            &rec,
        );
        scan(
            "b.zip",
            &zip_of("other/app.ini", text.as_bytes()),
            false,
            &opts,
            &rec,
        );
        let scanned = rec.scanned.into_inner().unwrap();
        let bytes: usize = scanned.iter().map(|(_, n)| n).sum();
        assert_eq!(bytes, text.len(), "{scanned:?}");
        assert_eq!(scanned[0].0, "a.zip!conf/app.ini");
    }

    #[test]
    fn a_blob_held_whole_is_sniffed_capped_and_claimed_by_the_stage() {
        let rec = Recorder::default();
        let opts = StageOptions {
            max_file_size: 16,
            ..StageOptions::default()
        };
        scan("tool.bin", b"\x7fELF\x00\x01", false, &opts, &rec);
        scan("named.bin", b"\x7fELF\x00\x01", true, &opts, &rec);
        scan("big.txt", &[b'a'; 17], false, &opts, &rec);
        scan("empty.txt", b"", false, &opts, &rec);
        scan("x.txt", b"token = 1\n", false, &opts, &rec);
        scan("copy-of-x.txt", b"token = 1\n", false, &opts, &rec);
        let skipped = rec.skipped.into_inner().unwrap();
        assert_eq!(
            skipped,
            vec![
                ("tool.bin".to_string(), SkipReason::Binary),
                ("big.txt".to_string(), SkipReason::TooLarge),
                ("empty.txt".to_string(), SkipReason::Empty),
            ]
        );
        let scanned: Vec<String> = rec
            .scanned
            .into_inner()
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(scanned, vec!["named.bin", "x.txt"]);
    }

    #[test]
    fn utf16_text_is_scanned_as_the_utf8_it_decodes_to() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "API_KEY=abc\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let rec = Recorder::default();
        scan("notes.txt", &utf16, false, &StageOptions::default(), &rec);
        let scanned = rec.scanned.into_inner().unwrap();
        assert_eq!(
            scanned,
            vec![("notes.txt".to_string(), "API_KEY=abc\n".len())]
        );
    }
}
