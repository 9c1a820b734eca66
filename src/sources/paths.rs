//! What an input path is, and the path its fingerprints are computed from.
//!
//! Reports show a path as the user typed it, but fingerprints must not
//! depend on that: `scan dir proj`, `scan dir /abs/proj` and
//! `cd proj && scan dir .` must give the same fingerprints, or a baseline
//! made in one place would not suppress anything in another. A fingerprint
//! path is therefore relative to the root of the git work tree the input is
//! in (the nearest folder upwards holding `.git`), or, outside any work
//! tree, relative to the scanned folder (for a file named on its own: its
//! name).

use std::fs::FileType;
use std::path::{Component, Path};

/// What a path that is neither a regular file, a folder nor a FIFO is, for
/// a message that says why it is not read; `None` for things that are read.
pub fn unreadable_kind(file_type: &FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    let _ = file_type;
    None
}

/// A FIFO (named pipe, or the pipe behind `<(cmd)` and `/dev/stdin`): read
/// as a stream, never sized or sought.
pub fn is_fifo(file_type: &FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        file_type.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = file_type;
        false
    }
}

/// Fingerprint path of folder `dir` itself: its place in its git work tree
/// (`""` for the work tree's root), or `""` outside any work tree. `None`
/// when the folder cannot be resolved; callers then use the path as typed.
pub fn folder_anchor(dir: &Path) -> Option<String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let resolved = std::fs::canonicalize(dir).ok()?;
    let work_tree = resolved
        .ancestors()
        .find(|a| std::fs::symlink_metadata(a.join(".git")).is_ok());
    match work_tree {
        Some(root) => resolved.strip_prefix(root).ok().map(slash_path),
        None => Some(String::new()),
    }
}

/// Fingerprint path of a file named on its own.
pub fn file_fingerprint_path(file: &Path) -> Option<String> {
    let name = file.file_name()?;
    let anchor = folder_anchor(file.parent().unwrap_or(Path::new("")))?;
    Some(join(&anchor, &name.to_string_lossy()))
}

/// `anchor/rest`, with no slash when either side is empty.
pub fn join(anchor: &str, rest: &str) -> String {
    match (anchor.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => anchor.to_string(),
        _ => format!("{anchor}/{rest}"),
    }
}

/// A relative path with forward slashes and without `.` components.
pub fn slash_path(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn outside_a_work_tree_paths_are_relative_to_the_scanned_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        fs::create_dir_all(proj.join("config")).unwrap();
        fs::write(proj.join("config/app.ini"), "x\n").unwrap();
        if folder_anchor(tmp.path()).as_deref() != Some("") {
            // The temporary folder is itself inside a work tree.
            return;
        }
        assert_eq!(folder_anchor(&proj).as_deref(), Some(""));
        assert_eq!(
            file_fingerprint_path(&proj.join("config/app.ini")).as_deref(),
            Some("app.ini")
        );
    }

    #[test]
    fn inside_a_work_tree_paths_are_relative_to_its_root_however_typed() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        fs::create_dir_all(repo.join(".git")).unwrap();
        fs::create_dir_all(repo.join("services/api")).unwrap();
        fs::write(repo.join("services/api/.env"), "x\n").unwrap();
        let twisted = repo.join("services/./api/../api");
        assert_eq!(folder_anchor(&twisted).as_deref(), Some("services/api"));
        assert_eq!(folder_anchor(&repo).as_deref(), Some(""));
        assert_eq!(
            file_fingerprint_path(&twisted.join(".env")).as_deref(),
            Some("services/api/.env")
        );
        // A `.git` file (a linked work tree or a submodule) marks a root too.
        let sub = repo.join("vendor/lib");
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(".git"), "gitdir: ../../.git/modules/lib\n").unwrap();
        assert_eq!(folder_anchor(&sub.join(".")).as_deref(), Some(""));
    }

    #[test]
    fn missing_folders_have_no_anchor() {
        assert_eq!(folder_anchor(Path::new("/definitely/not/here")), None);
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_named_and_fifos_are_streams() {
        let zero = fs::metadata("/dev/zero").unwrap().file_type();
        assert_eq!(unreadable_kind(&zero), Some("a character device"));
        assert!(!is_fifo(&zero));
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let ft = fs::metadata(&fifo).unwrap().file_type();
        assert!(is_fifo(&ft));
        assert_eq!(unreadable_kind(&ft), None);
        let file = fs::metadata(tmp.path()).unwrap().file_type();
        assert_eq!(unreadable_kind(&file), None);
    }
}
