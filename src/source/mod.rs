//! Where an app's files come from. Renderers see a source only through [`SourceTree`], whose
//! paths are root-relative and checked here, so no implementation can be asked for `../x`.

pub mod git;
mod local;

pub use local::LocalDir;

/// Files larger than this are refused rather than handed to a plugin.
pub const DEFAULT_FILE_CAP: u64 = 32 * 1024 * 1024;

/// Whether a path is a file or a directory (symbolic links are resolved by the tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
}

/// Why reading the source failed; mirrors `source-error` in the WIT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no such file or directory")]
    NotFound,
    #[error("access denied: {0}")]
    Denied(String),
    #[error("is a directory")]
    IsADirectory,
    #[error("not a directory")]
    NotADirectory,
    #[error("file is larger than the {0}-byte limit")]
    TooLarge(u64),
    #[error("{0}")]
    Io(String),
}

/// A read-only tree of source files: a local directory, or a Git revision.
pub trait SourceTree: Send + Sync {
    /// The whole file at a checked, root-relative path.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    /// The directory's entries, sorted by name.
    fn list_dir(&self, path: &str) -> Result<Vec<Entry>, SourceError>;
    /// File or directory.
    fn stat(&self, path: &str) -> Result<EntryKind, SourceError>;
    /// What this tree is, for messages (e.g. a directory path or `repo@commit`).
    fn describe(&self) -> String;
    /// Things noticed while reading (a submodule skipped, a Git LFS pointer), to show with the
    /// render.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Accepts only normalised root-relative paths: no leading `/`, no `.`/`..`/empty components,
/// no backslashes or NULs. "" is the root. Everything a plugin asks for passes through here.
pub fn check_path(path: &str) -> Result<&str, SourceError> {
    if path.is_empty() {
        return Ok(path);
    }
    if path.starts_with('/') {
        return Err(SourceError::Denied(format!(
            "{path:?} is absolute; paths are relative to the source root"
        )));
    }
    if path.contains('\\') || path.contains('\0') {
        return Err(SourceError::Denied(format!(
            "{path:?} contains a backslash or NUL"
        )));
    }
    for part in path.split('/') {
        match part {
            ".." => {
                return Err(SourceError::Denied(format!(
                    "{path:?} has a `..` component; it would leave the source root"
                )));
            }
            "" | "." => {
                return Err(SourceError::Denied(format!(
                    "{path:?} is not normalised (empty or `.` component)"
                )));
            }
            _ => {}
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_accepts_normal_paths_only() {
        assert_eq!(check_path(""), Ok(""));
        assert_eq!(check_path("a/b.yaml"), Ok("a/b.yaml"));
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "a\\b",
            "a\0",
        ] {
            assert!(
                matches!(check_path(bad), Err(SourceError::Denied(_))),
                "{bad:?} must be denied"
            );
        }
    }
}
