//! Files and folders: a parallel, .gitignore-aware walk.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ignore::{WalkBuilder, WalkState};

use super::describe_io_error;
use super::paths::{file_fingerprint_path, folder_anchor, join, slash_path, unreadable_kind};
use super::{BlobSink, Provenance, SkipReason};
use crate::blob::stage::{scan_blob, StageOptions};
use crate::blob::{Blob, Content};

#[derive(Debug, Clone)]
pub struct FsOptions {
    /// Honour .gitignore, .ignore and global git excludes.
    pub respect_ignore: bool,
    pub threads: usize,
    pub follow_links: bool,
    /// What every file goes through: size cap, archive descent and its
    /// limits against bombs, the chunked reader.
    pub stage: StageOptions,
}

/// Walks `paths` and feeds every text file to `sink`. A path that does not
/// exist, or that names a device or socket, is reported through
/// `sink.error` and the walk goes on. A file or FIFO named here is read
/// whatever its size or content; FIFOs, sockets and devices found by
/// walking are skipped and counted.
pub fn scan_paths(paths: &[PathBuf], opts: &FsOptions, sink: &dyn BlobSink) {
    let mut roots = Vec::new();
    for p in paths {
        if sink.should_stop() {
            return;
        }
        let md = match std::fs::metadata(p) {
            Ok(md) => md,
            Err(e) => {
                sink.error(format!("{}: {}", p.display(), describe_io_error(&e)));
                continue;
            }
        };
        if md.is_dir() {
            let anchor = folder_anchor(p).unwrap_or_else(|| display(p));
            roots.push(WalkRoot {
                path: p.clone(),
                anchor,
            });
        } else if let Some(kind) = unreadable_kind(&md.file_type()) {
            sink.error(format!("{}: {kind}, not a file", p.display()));
        } else {
            let shown = display(p);
            let fingerprint_path = file_fingerprint_path(p).unwrap_or_else(|| shown.clone());
            let prov = Provenance::path(shown).with_fingerprint_path(fingerprint_path);
            let size = md.is_file().then_some(md.len());
            scan_file(p, prov, size, true, opts, sink);
        }
    }
    if roots.is_empty() || sink.should_stop() {
        return;
    }
    let mut builder = WalkBuilder::new(&roots[0].path);
    for r in &roots[1..] {
        builder.add(&r.path);
    }
    let tally = opts
        .respect_ignore
        .then(|| Arc::new(IgnoreTally::default()));
    let filter_tally = tally.clone();
    builder
        .threads(opts.threads.clamp(1, MAX_WALK_THREADS))
        .hidden(false)
        .follow_links(opts.follow_links)
        .git_ignore(opts.respect_ignore)
        .git_global(opts.respect_ignore)
        .git_exclude(opts.respect_ignore)
        .ignore(opts.respect_ignore)
        .parents(opts.respect_ignore)
        .require_git(false)
        .filter_entry(move |e| {
            if e.file_name() == GIT_DIR {
                return false;
            }
            // The walker asks this filter only about entries its ignore
            // rules let through.
            if let Some(t) = &filter_tally {
                t.passed(e.file_type().is_some_and(|t| t.is_dir()));
            }
            true
        });
    let roots = &roots;
    let tally_ref = tally.as_deref();
    builder.build_parallel().run(|| {
        // Depth of the folder this worker thread last listed: errors about
        // that folder's entries follow it on the same thread.
        let mut listing_depth: Option<usize> = None;
        Box::new(move |entry| {
            if sink.should_stop() {
                return WalkState::Quit;
            }
            match entry {
                Err(e) => {
                    if let Some(t) = tally_ref {
                        let is_child =
                            matches!((e.depth(), listing_depth), (Some(d), Some(l)) if d == l + 1);
                        if is_child {
                            t.passed(is_loop(&e));
                        }
                    }
                    sink.error(walk_error(&e));
                }
                Ok(entry) => {
                    let ft = entry.file_type();
                    if ft.is_some_and(|t| t.is_dir()) {
                        listing_depth = Some(entry.depth());
                        if let Some(t) = tally_ref {
                            t.list(entry.path(), opts.follow_links);
                        }
                    } else if ft.is_some_and(|t| t.is_file()) {
                        let size = entry.metadata().map(|m| m.len()).ok();
                        let prov = walked_provenance(&entry, roots);
                        scan_file(entry.path(), prov, size, false, opts, sink);
                    } else if ft.is_some_and(|t| t.is_symlink()) {
                        sink.skipped(&display(entry.path()), SkipReason::Symlink);
                    } else {
                        sink.skipped(&display(entry.path()), SkipReason::NotAFile);
                    }
                }
            }
            WalkState::Continue
        })
    });
    if let Some(t) = tally {
        let (files, folders) = t.ignored();
        sink.skipped_count(SkipReason::Ignored, files);
        sink.skipped_count(SkipReason::IgnoredFolder, folders);
    }
}

/// The walker's idle threads poll for work: past a few hundred they spend
/// seconds contending with each other, which no file system repays.
const MAX_WALK_THREADS: usize = 128;

/// Never walked, never counted as ignored.
const GIT_DIR: &str = ".git";

/// A folder named on the command line and its fingerprint path.
struct WalkRoot {
    path: PathBuf,
    anchor: String,
}

/// Provenance of a file found under one of `roots`: shown as walked, its
/// fingerprint path anchored at its root's.
fn walked_provenance(entry: &ignore::DirEntry, roots: &[WalkRoot]) -> Provenance {
    let path = entry.path();
    let shown = display(path);
    let root = path
        .ancestors()
        .nth(entry.depth())
        .and_then(|top| roots.iter().find(|r| r.path.as_path() == top));
    let fingerprint_path = match root {
        Some(root) => match path.strip_prefix(&root.path) {
            Ok(rest) => join(&root.anchor, &slash_path(rest)),
            Err(_) => shown.clone(),
        },
        None => shown.clone(),
    };
    Provenance::path(shown).with_fingerprint_path(fingerprint_path)
}

/// Counts what ignore files hid, which the walker does not report: every
/// walked folder is listed a second time (names and types only, no stat),
/// and what the listing holds beyond what the walker let through was
/// ignored. Ignored folders count once; their contents are not walked.
#[derive(Default)]
struct IgnoreTally {
    listed_files: AtomicU64,
    listed_folders: AtomicU64,
    passed_files: AtomicU64,
    passed_folders: AtomicU64,
}

impl IgnoreTally {
    fn list(&self, dir: &Path, follow_links: bool) {
        // A folder that cannot be listed is reported by the walker; it
        // contributes nothing here.
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let (mut files, mut folders) = (0, 0);
        for entry in entries {
            let is_folder = match entry {
                // The walker reports an unreadable entry as an error about
                // a child, which counts as passed.
                Err(_) => false,
                Ok(entry) => {
                    if entry.file_name() == GIT_DIR {
                        continue;
                    }
                    match entry.file_type() {
                        Ok(t) if t.is_symlink() && follow_links => {
                            std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir())
                        }
                        Ok(t) => t.is_dir(),
                        Err(_) => false,
                    }
                }
            };
            if is_folder {
                folders += 1;
            } else {
                files += 1;
            }
        }
        self.listed_files.fetch_add(files, Ordering::Relaxed);
        self.listed_folders.fetch_add(folders, Ordering::Relaxed);
    }

    fn passed(&self, is_folder: bool) {
        let counter = if is_folder {
            &self.passed_folders
        } else {
            &self.passed_files
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (files, folders) hidden by ignore rules. Entries created or removed
    /// while walking can skew the difference; it never goes below zero.
    fn ignored(&self) -> (u64, u64) {
        let files = self.listed_files.load(Ordering::Relaxed);
        let folders = self.listed_folders.load(Ordering::Relaxed);
        (
            files.saturating_sub(self.passed_files.load(Ordering::Relaxed)),
            folders.saturating_sub(self.passed_folders.load(Ordering::Relaxed)),
        )
    }
}

/// A symlink loop, which the walker reports in place of a folder entry.
fn is_loop(e: &ignore::Error) -> bool {
    match e {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithPath { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
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
    // An I/O error about a path reads like every other input error
    // ("PATH: no such file or directory"); the rest keep ignore's message,
    // which names the path ("File system loop found: ...").
    if let Some((path, io)) = io_error_with_path(e) {
        return format!("{}: {}", display(path), describe_io_error(io));
    }
    let msg = e.to_string();
    msg.lines().next().unwrap_or("walk error").to_string()
}

fn io_error_with_path(e: &ignore::Error) -> Option<(&Path, &io::Error)> {
    fn walk<'e>(e: &'e ignore::Error, path: Option<&'e Path>) -> Option<(&'e Path, &'e io::Error)> {
        match e {
            ignore::Error::WithDepth { err, .. } => walk(err, path),
            ignore::Error::WithPath { path, err } => walk(err, Some(path)),
            ignore::Error::Io(io) => path.map(|p| (p, io)),
            _ => None,
        }
    }
    walk(e, None)
}

/// Opens one file and hands it to the shared stage. `size` is `None` for
/// a FIFO, whose size is unknown until it ends.
fn scan_file(
    path: &Path,
    prov: Provenance,
    size: Option<u64>,
    explicit: bool,
    opts: &FsOptions,
    sink: &dyn BlobSink,
) {
    // Look at the size before opening: a file skipped for its size is
    // never opened.
    if !explicit && size.is_some_and(|s| s > opts.stage.max_file_size) {
        sink.skipped(&prov.path, SkipReason::TooLarge);
        return;
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            sink.error(format!("{}: {}", prov.path, describe_io_error(&e)));
            return;
        }
    };
    // Files in /proc and /sys report size 0 but have content: only a walked
    // regular file of size 0 is known to be empty without reading it.
    if size == Some(0) && !explicit {
        sink.skipped(&prov.path, SkipReason::Empty);
        return;
    }
    let content = match size {
        Some(size) => Content::File {
            file: &mut file,
            size,
        },
        None => Content::Stream(&mut file),
    };
    let blob = Blob {
        id: None,
        provenance: prov,
        content,
    };
    scan_blob(blob, explicit, &opts.stage, sink);
}
