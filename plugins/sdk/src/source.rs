//! The app's source files, as the host hands them to renderers.

/// Whether a path is a file or a directory.
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

/// Why a source call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    NotFound,
    Denied(String),
    IsADirectory,
    NotADirectory,
    TooLarge(u64),
    Io(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::NotFound => f.write_str("no such file or directory"),
            SourceError::Denied(why) => write!(f, "access denied: {why}"),
            SourceError::IsADirectory => f.write_str("is a directory"),
            SourceError::NotADirectory => f.write_str("not a directory"),
            SourceError::TooLarge(cap) => write!(f, "file is larger than the {cap}-byte limit"),
            SourceError::Io(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for SourceError {}

/// Read-only access to the source tree. Paths are root-relative, `/`-separated, normalised.
pub trait Source {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    fn list_dir(&self, path: &str) -> Result<Vec<Entry>, SourceError>;
    fn stat(&self, path: &str) -> Result<EntryKind, SourceError>;

    /// The file as UTF-8 text.
    fn read_to_string(&self, path: &str) -> Result<String, SourceError> {
        String::from_utf8(self.read_file(path)?)
            .map_err(|_| SourceError::Io("file is not valid UTF-8".into()))
    }
}

/// Joins `base` and a relative `path` and removes `.` and `..`, the way a renderer resolves
/// `../base` from `apps/prod`. Returns `None` when the result would leave the root, or when
/// `path` is absolute (the root is all a plugin can see).
pub fn normalize_path(base: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The source the host provides through the `plumb:plugin/source` import.
pub struct HostSource;

use crate::renderer_bindings::plumb::plugin::source as wit;

fn from_wit_error(e: wit::SourceError) -> SourceError {
    match e {
        wit::SourceError::NotFound => SourceError::NotFound,
        wit::SourceError::Denied(why) => SourceError::Denied(why),
        wit::SourceError::IsADirectory => SourceError::IsADirectory,
        wit::SourceError::NotADirectory => SourceError::NotADirectory,
        wit::SourceError::TooLarge(cap) => SourceError::TooLarge(cap),
        wit::SourceError::Io(e) => SourceError::Io(e),
    }
}

fn from_wit_kind(k: wit::EntryKind) -> EntryKind {
    match k {
        wit::EntryKind::File => EntryKind::File,
        wit::EntryKind::Directory => EntryKind::Directory,
    }
}

impl Source for HostSource {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        wit::read_file(path).map_err(from_wit_error)
    }
    fn list_dir(&self, path: &str) -> Result<Vec<Entry>, SourceError> {
        wit::list_dir(path)
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| Entry {
                        name: e.name,
                        kind: from_wit_kind(e.kind),
                        size: e.size,
                    })
                    .collect()
            })
            .map_err(from_wit_error)
    }
    fn stat(&self, path: &str) -> Result<EntryKind, SourceError> {
        wit::stat(path).map(from_wit_kind).map_err(from_wit_error)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn normalizes_relative_paths_inside_the_root() {
        assert_eq!(
            normalize_path("apps/prod", "../base").as_deref(),
            Some("apps/base")
        );
        assert_eq!(
            normalize_path("apps/prod", "./a/./b.yaml").as_deref(),
            Some("apps/prod/a/b.yaml")
        );
        assert_eq!(normalize_path("", "x").as_deref(), Some("x"));
        assert_eq!(normalize_path("apps", "..").as_deref(), Some(""));
    }

    #[test]
    fn refuses_paths_that_leave_the_root() {
        assert_eq!(normalize_path("apps", "../../etc/passwd"), None);
        assert_eq!(normalize_path("", ".."), None);
        assert_eq!(normalize_path("apps", "/etc/passwd"), None);
    }
}
