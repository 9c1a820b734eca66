//! Git repositories, read in-process: the history reachable from refs
//! ([`history`]), and what is staged for the next commit ([`staged`]).
//! Both hand blobs to the shared stage; [`diff`] cuts a changed blob down
//! to the lines a change added.

pub mod diff;
pub mod history;
pub mod staged;

use std::path::Path;

/// Opens the repository at or above `path`: a work tree, a bare
/// repository or a linked worktree. The message names `path`.
pub fn open(path: &Path) -> Result<gix::Repository, String> {
    gix::discover(path).map_err(|e| {
        let why = e.to_string();
        let why = why.lines().next().unwrap_or("cannot be read");
        format!("{}: not a git repository ({why})", path.display())
    })
}
