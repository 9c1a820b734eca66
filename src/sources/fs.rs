//! Files and folders: a parallel, .gitignore-aware walk.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use super::describe_io_error;
use super::{feed_reader, BlobSink, Chunk, Provenance, SkipReason, CHUNK_SIZE};

#[derive(Debug, Clone)]
pub struct FsOptions {
    /// Honour .gitignore, .ignore and global git excludes.
    pub respect_ignore: bool,
    /// Files found by walking larger than this are skipped and counted.
    pub max_file_size: u64,
    pub threads: usize,
    pub follow_links: bool,
}

/// How many leading bytes decide whether a file is binary.
const SNIFF_LEN: usize = 8 * 1024;

/// Walks `paths` and feeds every text file to `sink`. A path that does not
/// exist is reported through `sink.error` and the walk goes on.
pub fn scan_paths(paths: &[PathBuf], opts: &FsOptions, sink: &dyn BlobSink) {
    let mut roots = Vec::new();
    for p in paths {
        match std::fs::symlink_metadata(p) {
            Err(e) => sink.error(format!("{}: {}", p.display(), describe_io_error(&e))),
            Ok(md) if md.is_file() => scan_file(p, display(p), None, true, opts, sink),
            Ok(md) if md.file_type().is_symlink() => match std::fs::metadata(p) {
                Ok(t) if t.is_file() => scan_file(p, display(p), None, true, opts, sink),
                Ok(_) => roots.push(p.clone()),
                Err(e) => sink.error(format!("{}: {}", p.display(), describe_io_error(&e))),
            },
            Ok(_) => roots.push(p.clone()),
        }
    }
    if roots.is_empty() {
        return;
    }
    let mut builder = WalkBuilder::new(&roots[0]);
    for r in &roots[1..] {
        builder.add(r);
    }
    builder
        .threads(opts.threads.max(1))
        .hidden(false)
        .follow_links(opts.follow_links)
        .git_ignore(opts.respect_ignore)
        .git_global(opts.respect_ignore)
        .git_exclude(opts.respect_ignore)
        .ignore(opts.respect_ignore)
        .parents(opts.respect_ignore)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            match entry {
                Err(e) => sink.error(walk_error(&e)),
                Ok(entry) => {
                    let ft = entry.file_type();
                    if ft.is_some_and(|t| t.is_file()) {
                        let size = entry.metadata().map(|m| m.len()).ok();
                        scan_file(entry.path(), display(entry.path()), size, false, opts, sink);
                    } else if ft.is_some_and(|t| t.is_symlink()) {
                        sink.skipped(&display(entry.path()), SkipReason::Symlink);
                    }
                }
            }
            WalkState::Continue
        })
    });
}

/// Paths in reports use forward slashes and no leading `./`.
fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.to_string()
    }
}

fn walk_error(e: &ignore::Error) -> String {
    // ignore's messages already name the path ("... : Permission denied").
    let msg = e.to_string();
    msg.lines().next().unwrap_or("walk error").to_string()
}

thread_local! {
    /// Holds one whole small file at a time; reused across files on the
    /// walker's thread.
    static FILE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads a file expected to fit one chunk into `buf` and scans it whole; a
/// file that grew past a chunk since its size was read goes on as a stream.
fn scan_small_file(
    file: &mut File,
    prov: &Provenance,
    explicit: bool,
    buf: &mut Vec<u8>,
    opts: &FsOptions,
    sink: &dyn BlobSink,
) {
    buf.clear();
    if let Err(e) = file.take(CHUNK_SIZE as u64 + 1).read_to_end(buf) {
        sink.error(format!("{}: {}", prov.path, describe_io_error(&e)));
        return;
    }
    if buf.is_empty() {
        sink.skipped(&prov.path, SkipReason::Empty);
        return;
    }
    if !explicit && memchr::memchr(0, &buf[..buf.len().min(SNIFF_LEN)]).is_some() {
        sink.skipped(&prov.path, SkipReason::Binary);
        return;
    }
    if buf.len() <= CHUNK_SIZE {
        sink.chunk(prov, Chunk::whole(buf));
        sink.finished(prov, buf.len() as u64);
        return;
    }
    let stream = io::Cursor::new(&buf[..]).chain(file);
    if let Err(e) = feed_reader(stream, prov, sink, CHUNK_SIZE, opts.threads.max(1)) {
        sink.error(format!("{}: {}", prov.path, describe_io_error(&e)));
    }
}

fn scan_file(
    path: &Path,
    shown: String,
    size: Option<u64>,
    explicit: bool,
    opts: &FsOptions,
    sink: &dyn BlobSink,
) {
    let size = size.or_else(|| std::fs::metadata(path).ok().map(|m| m.len()));
    if !explicit && size.is_some_and(|s| s > opts.max_file_size) {
        sink.skipped(&shown, SkipReason::TooLarge);
        return;
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            sink.error(format!("{shown}: {}", describe_io_error(&e)));
            return;
        }
    };
    let prov = Provenance::path(shown);
    // Files in /proc and /sys report size 0 but have content: only a walked
    // regular file of size 0 is known to be empty without reading it.
    if size == Some(0) && !explicit {
        sink.skipped(&prov.path, SkipReason::Empty);
        return;
    }
    // Most files fit in one chunk: read them whole into a per-thread buffer
    // instead of allocating a chunk-sized one per file.
    if size.is_some_and(|s| s <= CHUNK_SIZE as u64) {
        let done = FILE_BUFFER.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                scan_small_file(&mut file, &prov, explicit, &mut buf, opts, sink);
                if buf.capacity() > CHUNK_SIZE + 1 {
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
    // Sniff the head for NUL bytes, then scan head + rest as one stream.
    let mut head = Vec::with_capacity(SNIFF_LEN);
    if let Err(e) = (&mut file).take(SNIFF_LEN as u64).read_to_end(&mut head) {
        sink.error(format!("{}: {}", prov.path, describe_io_error(&e)));
        return;
    }
    if head.is_empty() {
        sink.skipped(&prov.path, SkipReason::Empty);
        return;
    }
    if !explicit && memchr::memchr(0, &head).is_some() {
        sink.skipped(&prov.path, SkipReason::Binary);
        return;
    }
    let parallel = if size.is_some_and(|s| s > CHUNK_SIZE as u64) {
        opts.threads.max(1)
    } else {
        1
    };
    let stream = io::Cursor::new(head).chain(file);
    if let Err(e) = feed_reader(stream, &prov, sink, CHUNK_SIZE, parallel) {
        sink.error(format!("{}: {}", prov.path, describe_io_error(&e)));
    }
}
