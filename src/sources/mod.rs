//! Sources turn what a pipeline touches into blobs with provenance. A
//! source knows nothing of rules: it hands chunks of bytes to a
//! [`BlobSink`] and reports what it skipped and what it could not read.

pub mod fs;
pub mod git;
pub mod log;
pub mod paths;
pub mod text;

use std::io::{self, Read};
use std::ops::Range;

use crate::blob::id::BlobId;
pub use crate::blob::Origin;

/// Where a blob came from. Fields a source does not know stay `None`.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The path shown in reports: the input as the user typed it, then
    /// `!member` for each archive it was unpacked from.
    pub path: String,
    /// The whole chain, outermost first; empty means one `File` at `path`.
    pub chain: Vec<Origin>,
    /// The path fingerprints are computed from, when it differs from
    /// `path`: relative to the repository or scanned root, so fingerprints
    /// do not change with how the path was typed or where the scan ran.
    pub fingerprint_path: Option<String>,
    pub commit: Option<String>,
    pub author: Option<String>,
    pub email: Option<String>,
    pub date: Option<String>,
    /// The first line of the commit's message.
    pub message: Option<String>,
    pub layer: Option<String>,
    pub layer_index: Option<usize>,
    pub created_by: Option<String>,
    pub deleted: Option<bool>,
}

impl Provenance {
    pub fn path(path: impl Into<String>) -> Provenance {
        Provenance {
            path: path.into(),
            ..Provenance::default()
        }
    }

    /// Sets the path fingerprints are computed from.
    pub fn with_fingerprint_path(mut self, path: impl Into<String>) -> Provenance {
        self.fingerprint_path = Some(path.into());
        self
    }

    /// The path fingerprints are computed from.
    pub fn fingerprint_path(&self) -> &str {
        self.fingerprint_path.as_deref().unwrap_or(&self.path)
    }

    /// The path of the innermost file: what path-based rules, allowlists
    /// and filters look at, so `logs.zip!yarn.lock` is a lock file as
    /// `d/yarn.lock` is.
    pub fn innermost_path(&self) -> &str {
        self.chain
            .iter()
            .rev()
            .find_map(|o| match o {
                Origin::File { path }
                | Origin::Member { path }
                | Origin::GitBlob { path, .. }
                | Origin::Layer { path, .. } => Some(path.as_str()),
                Origin::Decoded { .. } => None,
            })
            .unwrap_or(&self.path)
    }

    /// The chain, with the implicit root made explicit.
    pub fn origins(&self) -> Vec<Origin> {
        if self.chain.is_empty() {
            vec![Origin::File {
                path: self.path.clone(),
            }]
        } else {
            self.chain.clone()
        }
    }

    /// A member `name` of the archive this blob is.
    pub fn member(&self, name: &str) -> Provenance {
        let mut chain = self.origins();
        chain.push(Origin::Member {
            path: name.to_string(),
        });
        Provenance {
            path: format!("{}!{name}", self.path),
            chain,
            fingerprint_path: Some(format!("{}!{name}", self.fingerprint_path())),
            ..self.clone()
        }
    }

    /// The content of a compressed stream (`app.log.gz`): a member in the
    /// chain, named `name` for path-based rules, but not in the shown
    /// path, since the stream holds nothing else.
    pub fn stream_content(&self, name: &str) -> Provenance {
        let mut chain = self.origins();
        chain.push(Origin::Member {
            path: name.to_string(),
        });
        Provenance {
            chain,
            ..self.clone()
        }
    }

    /// Text decoded from an encoded run of this blob.
    pub fn decoded(&self, encoding: &'static str) -> Provenance {
        let mut chain = self.origins();
        chain.push(Origin::Decoded { encoding });
        Provenance {
            chain,
            ..self.clone()
        }
    }

    /// The encodings the blob was decoded from, outermost first.
    pub fn encodings(&self) -> Vec<&'static str> {
        self.chain
            .iter()
            .filter_map(|o| match o {
                Origin::Decoded { encoding } => Some(*encoding),
                _ => None,
            })
            .collect()
    }
}

/// A piece of one blob. Large blobs arrive as several chunks that share
/// `overlap` bytes so no bounded match is cut in two; only matches that
/// start inside `keep` belong to this chunk.
#[derive(Debug, Clone)]
pub struct Chunk<'a> {
    pub data: &'a [u8],
    pub keep: Range<usize>,
    /// 0-based line number of `data[0]`.
    pub line_base: u64,
    /// Bytes between the last newline before `data[0]` and `data[0]`.
    pub column_base: u64,
}

impl Chunk<'_> {
    /// A whole blob in one chunk.
    pub fn whole(data: &[u8]) -> Chunk<'_> {
        Chunk {
            data,
            keep: 0..data.len(),
            line_base: 0,
            column_base: 0,
        }
    }

    /// 1-based (line, column) of byte `offset` of `data`.
    pub fn position(&self, offset: usize) -> (u64, u64) {
        let before = &self.data[..offset];
        let newlines = memchr::memchr_iter(b'\n', before).count() as u64;
        let column = match memchr::memrchr(b'\n', before) {
            Some(nl) => (offset - nl) as u64,
            None => self.column_base + offset as u64 + 1,
        };
        (self.line_base + newlines + 1, column)
    }

    /// 1-based (line, column) of byte `offset`, given that byte `from`
    /// (not after `offset`) is at `from_pos`: counts only the bytes between,
    /// so positions of many findings in one chunk cost one pass, not one
    /// pass each.
    pub fn position_from(&self, from: usize, from_pos: (u64, u64), offset: usize) -> (u64, u64) {
        if offset < from {
            return self.position(offset);
        }
        let between = &self.data[from..offset];
        let newlines = memchr::memchr_iter(b'\n', between).count() as u64;
        match memchr::memrchr(b'\n', between) {
            Some(nl) => (from_pos.0 + newlines, (offset - (from + nl)) as u64),
            None => (from_pos.0, from_pos.1 + (offset - from) as u64),
        }
    }
}

/// Why a source passed over an input without scanning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    Binary,
    TooLarge,
    Empty,
    Symlink,
    /// A FIFO, socket or device found by walking: reading it could block
    /// or never end.
    NotAFile,
    /// A file (or other non-folder entry) matched by `.gitignore`,
    /// `.ignore` or the git excludes.
    Ignored,
    /// A folder matched by those: counted once, its contents not walked.
    IgnoredFolder,
    /// An archive member cut short by a size or compression-ratio limit
    /// (a decompression bomb), or an archive nested deeper than allowed.
    ArchiveLimit,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too large",
            SkipReason::Empty => "empty",
            SkipReason::Symlink => "symlink",
            SkipReason::NotAFile => "not a regular file",
            SkipReason::Ignored => "ignored file",
            SkipReason::IgnoredFolder => "ignored folder",
            SkipReason::ArchiveLimit => "over an archive limit",
        }
    }

    /// Skipped because an ignore file said so, not because of what the
    /// input is.
    pub fn is_ignore_rule(self) -> bool {
        matches!(self, SkipReason::Ignored | SkipReason::IgnoredFolder)
    }
}

/// Receives what a source produces. Called from many threads.
pub trait BlobSink: Sync {
    /// The engine's required overlap between consecutive chunks.
    fn chunk_overlap(&self) -> usize;
    fn chunk(&self, prov: &Provenance, chunk: Chunk<'_>);
    /// A chunk whose bytes were rewritten from the input before matching
    /// (a build log without its escape sequences and timestamps):
    /// `position` maps a byte offset of `chunk.data` to the input's 1-based
    /// (line, column). Sinks that report no positions need not override it.
    fn chunk_mapped(
        &self,
        prov: &Provenance,
        chunk: Chunk<'_>,
        position: &dyn Fn(usize) -> (u64, u64),
    ) {
        let _ = position;
        self.chunk(prov, chunk);
    }
    /// One whole input was read: `bytes` long.
    fn finished(&self, prov: &Provenance, bytes: u64);
    fn skipped(&self, input: &str, reason: SkipReason);
    /// `count` inputs skipped for `reason` whose names are not known (the
    /// walker reports what ignore files hid only as a number).
    fn skipped_count(&self, reason: SkipReason, count: u64) {
        for _ in 0..count {
            self.skipped("", reason);
        }
    }
    /// An input that could not be read; the message names it.
    fn error(&self, message: String);
    /// True once the sink needs nothing more (enough findings, or a
    /// failure that ends the run): a source reads no further blob or
    /// chunk. Polled between them; what is being scanned ends normally.
    fn should_stop(&self) -> bool {
        false
    }
    /// A blob with content identity `id` is about to be scanned at `prov`.
    /// False: the same bytes were scanned already in this run, and the
    /// sink reports their findings at `prov` too; the source does not
    /// scan the blob but still reports it [`finished`](Self::finished).
    fn claim(&self, prov: &Provenance, id: BlobId) -> bool {
        let _ = (prov, id);
        true
    }
}

/// An I/O error as a short lower-case phrase for a one-line message that
/// names the input: io::Error's Display adds "(os error N)" and can run to
/// several lines.
pub fn describe_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s.lines().next().unwrap_or("error").to_string(),
            }
        }
    }
}

/// Bytes per chunk when a stream is too large to hold whole.
pub const CHUNK_SIZE: usize = 8 * 1024 * 1024;

/// Backward context kept before a chunk's `keep` range, for look-behind
/// assertions such as `\b` at the start of a match.
const BACK_CONTEXT: usize = 256;

/// Reads a stream chunk by chunk, in bounded memory, scanning up to
/// `parallel` chunks at once. Returns the number of bytes read.
pub fn feed_reader<R: Read>(
    reader: R,
    prov: &Provenance,
    sink: &dyn BlobSink,
    chunk_size: usize,
    parallel: usize,
) -> io::Result<u64> {
    let overlap = sink.chunk_overlap();
    let mut chunks = ChunkReader {
        reader,
        overlap,
        chunk_size: chunk_size.max(overlap * 4).max(4096),
        total: 0,
        carry: Vec::new(),
        carry_ctx: 0,
        line_base: 0,
        column_base: 0,
        eof: false,
    };
    let scan = |c: &OwnedChunk| {
        sink.chunk(
            prov,
            Chunk {
                data: &c.data,
                keep: c.keep.clone(),
                line_base: c.line_base,
                column_base: c.column_base,
            },
        )
    };
    // Chunk matching is CPU-bound: workers beyond the cores only add
    // threads to start and chunks to hold (each queued chunk is up to
    // `chunk_size` bytes), whatever `--threads` asked for.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = parallel.clamp(1, cores);
    if parallel == 1 {
        while !sink.should_stop() {
            let Some(c) = chunks.next_chunk()? else {
                break;
            };
            scan(&c);
        }
    } else {
        // Reading and scanning overlap: this thread reads the next chunks
        // while `parallel` workers scan; the bounded queue keeps memory at
        // a few chunks whatever the stream's size.
        let (tx, rx) = std::sync::mpsc::sync_channel::<OwnedChunk>(parallel);
        let rx = std::sync::Mutex::new(rx);
        std::thread::scope(|scope| -> io::Result<()> {
            for _ in 0..parallel {
                let (rx, scan) = (&rx, &scan);
                scope.spawn(move || loop {
                    let next = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(c) => scan(&c),
                        Err(_) => return,
                    }
                });
            }
            let result = loop {
                if sink.should_stop() {
                    break Ok(());
                }
                match chunks.next_chunk() {
                    Ok(Some(c)) => {
                        if tx.send(c).is_err() {
                            break Ok(());
                        }
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            drop(tx);
            result
        })?;
    }
    sink.finished(prov, chunks.total);
    Ok(chunks.total)
}

/// One chunk cut from a stream, owning its bytes so it can cross threads.
struct OwnedChunk {
    data: Vec<u8>,
    keep: Range<usize>,
    line_base: u64,
    column_base: u64,
}

/// Cuts a stream into overlapping chunks and tracks where each starts.
struct ChunkReader<R> {
    reader: R,
    overlap: usize,
    chunk_size: usize,
    total: u64,
    /// Bytes carried from the previous chunk: `carry_ctx` bytes of
    /// already-reported context, then bytes not yet reported.
    carry: Vec<u8>,
    carry_ctx: usize,
    line_base: u64,
    column_base: u64,
    eof: bool,
}

impl<R: Read> ChunkReader<R> {
    fn next_chunk(&mut self) -> io::Result<Option<OwnedChunk>> {
        if self.eof {
            return Ok(None);
        }
        let mut buf = Vec::with_capacity(self.carry.len() + self.chunk_size);
        buf.extend_from_slice(&self.carry);
        let want = buf.len() + self.chunk_size;
        let got = read_full(&mut self.reader, &mut buf, want)?;
        self.total += got as u64;
        if buf.len() < want {
            self.eof = true;
        }
        // Nothing new and nothing unreported left: the stream is done.
        if got == 0 && self.carry_ctx >= buf.len() {
            self.eof = true;
            return Ok(None);
        }
        let keep_end = if self.eof {
            buf.len()
        } else {
            buf.len().saturating_sub(self.overlap)
        };
        let keep = self.carry_ctx.min(keep_end)..keep_end;
        let (line_base, column_base) = (self.line_base, self.column_base);
        // Advance line/column bases to the start of the next chunk.
        let next_start = keep_end
            .saturating_sub(BACK_CONTEXT)
            .max(self.carry_ctx.min(keep_end));
        let consumed = &buf[..next_start];
        let newlines = memchr::memchr_iter(b'\n', consumed).count() as u64;
        match memchr::memrchr(b'\n', consumed) {
            Some(nl) => self.column_base = (next_start - nl - 1) as u64,
            None => self.column_base += next_start as u64,
        }
        self.line_base += newlines;
        self.carry = buf[next_start..].to_vec();
        self.carry_ctx = keep_end - next_start;
        Ok(Some(OwnedChunk {
            data: buf,
            keep,
            line_base,
            column_base,
        }))
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends.
fn read_full<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let start = buf.len();
    while buf.len() < want {
        let n = reader
            .by_ref()
            .take((want - buf.len()) as u64)
            .read_to_end(buf);
        match n {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf.len() - start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records every kept byte with its computed position.
    struct Recorder {
        overlap: usize,
        seen: Mutex<Vec<(u64, u64, u8)>>,
    }

    impl BlobSink for Recorder {
        fn chunk_overlap(&self) -> usize {
            self.overlap
        }
        fn chunk(&self, _: &Provenance, c: Chunk<'_>) {
            let mut seen = self.seen.lock().unwrap();
            for i in c.keep.clone() {
                let (l, col) = c.position(i);
                seen.push((l, col, c.data[i]));
            }
        }
        fn finished(&self, _: &Provenance, _: u64) {}
        fn skipped(&self, _: &str, _: SkipReason) {}
        fn error(&self, _: String) {}
    }

    #[test]
    fn chunks_cover_every_byte_once_with_right_positions() {
        let mut text = Vec::new();
        for i in 0..3000 {
            text.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 37)).as_bytes());
        }
        text.extend_from_slice(b"tail without newline");
        let rec = Recorder {
            overlap: 100,
            seen: Mutex::new(Vec::new()),
        };
        let n = feed_reader(&text[..], &Provenance::path("t"), &rec, 1000, 3).unwrap();
        assert_eq!(n as usize, text.len());
        let mut seen = rec.seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen.len(), text.len());
        let whole = Chunk::whole(&text);
        let mut expected: Vec<_> = (0..text.len())
            .map(|i| {
                let (l, c) = whole.position(i);
                (l, c, text[i])
            })
            .collect();
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn incremental_positions_agree_with_counting_from_the_start() {
        let data = b"ab\ncd\n\nefg\nh";
        let chunk = Chunk {
            data,
            keep: 0..data.len(),
            line_base: 4,
            column_base: 7,
        };
        for from in 0..=data.len() {
            let from_pos = chunk.position(from);
            for offset in 0..=data.len() {
                assert_eq!(
                    chunk.position_from(from, from_pos, offset),
                    chunk.position(offset),
                    "from {from} to {offset}"
                );
            }
        }
    }

    /// Wants one chunk and nothing more.
    struct FirstChunkOnly {
        chunks: std::sync::atomic::AtomicUsize,
    }

    impl BlobSink for FirstChunkOnly {
        fn chunk_overlap(&self) -> usize {
            10
        }
        fn chunk(&self, _: &Provenance, _: Chunk<'_>) {
            self.chunks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        fn finished(&self, _: &Provenance, _: u64) {}
        fn skipped(&self, _: &str, _: SkipReason) {}
        fn error(&self, _: String) {}
        fn should_stop(&self) -> bool {
            self.chunks.load(std::sync::atomic::Ordering::Relaxed) > 0
        }
    }

    #[test]
    fn a_sink_that_stops_ends_the_read() {
        let text = "build step ok\n".repeat(10_000);
        for parallel in [1, 3] {
            let sink = FirstChunkOnly {
                chunks: std::sync::atomic::AtomicUsize::new(0),
            };
            let read = feed_reader(
                text.as_bytes(),
                &Provenance::path("b.log"),
                &sink,
                1000,
                parallel,
            )
            .unwrap();
            assert!(read < text.len() as u64 / 4, "read {read} with {parallel}");
        }
    }

    #[test]
    fn empty_stream_yields_nothing() {
        let rec = Recorder {
            overlap: 10,
            seen: Mutex::new(Vec::new()),
        };
        assert_eq!(
            feed_reader(&b""[..], &Provenance::path("e"), &rec, 100, 2).unwrap(),
            0
        );
        assert!(rec.seen.into_inner().unwrap().is_empty());
    }
}
