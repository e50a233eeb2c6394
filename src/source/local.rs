//! A local directory as a source tree, confined with `cap-std`: symbolic links are followed
//! only while they stay inside the root.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::{DEFAULT_FILE_CAP, Entry, EntryKind, SourceError, SourceTree, check_path};

/// The files under one directory on this machine.
pub struct LocalDir {
    root: PathBuf,
    dir: Dir,
    file_cap: u64,
}

impl LocalDir {
    /// Opens `root`; everything outside it stays out of reach.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        let dir = Dir::open_ambient_dir(root, ambient_authority())?;
        Ok(LocalDir {
            root: root.to_path_buf(),
            dir,
            file_cap: DEFAULT_FILE_CAP,
        })
    }

    /// Refuse files larger than `cap` bytes.
    pub fn with_file_cap(mut self, cap: u64) -> Self {
        self.file_cap = cap;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn rel(path: &str) -> &Path {
        if path.is_empty() {
            Path::new(".")
        } else {
            Path::new(path)
        }
    }
}

fn map_err(path: &str, e: std::io::Error) -> SourceError {
    match e.kind() {
        ErrorKind::NotFound => SourceError::NotFound,
        // cap-std reports a path (or symlink) that escapes the root as PermissionDenied.
        ErrorKind::PermissionDenied => SourceError::Denied(format!(
            "{path:?} leads outside the source root (a symbolic link?)"
        )),
        ErrorKind::NotADirectory => SourceError::NotADirectory,
        ErrorKind::IsADirectory => SourceError::IsADirectory,
        _ => SourceError::Io(format!("{path}: {e}")),
    }
}

impl SourceTree for LocalDir {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        check_path(path)?;
        let meta = self
            .dir
            .metadata(Self::rel(path))
            .map_err(|e| map_err(path, e))?;
        if meta.is_dir() {
            return Err(SourceError::IsADirectory);
        }
        if meta.len() > self.file_cap {
            return Err(SourceError::TooLarge(self.file_cap));
        }
        self.dir.read(Self::rel(path)).map_err(|e| map_err(path, e))
    }

    fn list_dir(&self, path: &str) -> Result<Vec<Entry>, SourceError> {
        check_path(path)?;
        let meta = self
            .dir
            .metadata(Self::rel(path))
            .map_err(|e| map_err(path, e))?;
        if !meta.is_dir() {
            return Err(SourceError::NotADirectory);
        }
        let mut out = Vec::new();
        for entry in self
            .dir
            .read_dir(Self::rel(path))
            .map_err(|e| map_err(path, e))?
        {
            let entry = entry.map_err(|e| map_err(path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            // Follow symbolic links inside the root. One that leaves it (or dangles) is listed as
            // a file, so that reading it gives the reader a clear "denied"/"not found" error.
            let (kind, size) = match self.dir.metadata(Path::new(&child)) {
                Ok(m) if m.is_dir() => (EntryKind::Directory, 0),
                Ok(m) => (EntryKind::File, m.len()),
                Err(_) => (EntryKind::File, 0),
            };
            out.push(Entry { name, kind, size });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn stat(&self, path: &str) -> Result<EntryKind, SourceError> {
        check_path(path)?;
        let meta = self
            .dir
            .metadata(Self::rel(path))
            .map_err(|e| map_err(path, e))?;
        Ok(if meta.is_dir() {
            EntryKind::Directory
        } else {
            EntryKind::File
        })
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("root/sub")).unwrap();
        std::fs::write(d.path().join("root/sub/a.yaml"), "a: 1\n").unwrap();
        std::fs::write(d.path().join("secret"), "outside\n").unwrap();
        symlink("../secret", d.path().join("root/escape.yaml")).unwrap();
        symlink("/etc/passwd", d.path().join("root/passwd.yaml")).unwrap();
        symlink("sub/a.yaml", d.path().join("root/inside.yaml")).unwrap();
        d
    }

    #[test]
    fn reads_and_lists_inside_the_root() {
        let d = tree();
        let t = LocalDir::open(&d.path().join("root")).unwrap();
        assert_eq!(t.read_file("sub/a.yaml").unwrap(), b"a: 1\n");
        assert_eq!(t.read_file("inside.yaml").unwrap(), b"a: 1\n");
        let names: Vec<_> = t
            .list_dir("")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["escape.yaml", "inside.yaml", "passwd.yaml", "sub"]);
        assert_eq!(t.stat("sub"), Ok(EntryKind::Directory));
        assert_eq!(t.read_file("nope"), Err(SourceError::NotFound));
        assert_eq!(t.read_file("sub"), Err(SourceError::IsADirectory));
        assert_eq!(t.list_dir("sub/a.yaml"), Err(SourceError::NotADirectory));
    }

    #[test]
    fn symlinks_and_paths_out_of_the_root_are_denied() {
        let d = tree();
        let t = LocalDir::open(&d.path().join("root")).unwrap();
        for p in [
            "escape.yaml",
            "passwd.yaml",
            "../secret",
            "/etc/passwd",
            "sub/../../secret",
        ] {
            assert!(
                matches!(t.read_file(p), Err(SourceError::Denied(_))),
                "{p} must be denied: {:?}",
                t.read_file(p)
            );
        }
    }

    #[test]
    fn large_files_are_refused() {
        let d = tree();
        let t = LocalDir::open(&d.path().join("root"))
            .unwrap()
            .with_file_cap(2);
        assert_eq!(t.read_file("sub/a.yaml"), Err(SourceError::TooLarge(2)));
    }
}
