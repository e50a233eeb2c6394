//! A [`Source`] over a real directory, for testing plugin logic natively with `cargo test`.
//! It applies the host's rules (root-relative, normalised paths; nothing outside the root).

use std::path::{Component, Path, PathBuf};

use crate::{Entry, EntryKind, Source, SourceError};

/// Serves the files under `root` the way plumb's host does.
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirSource { root: root.into() }
    }

    fn resolve(&self, path: &str) -> Result<PathBuf, SourceError> {
        let rel = Path::new(path);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(SourceError::Denied(format!(
                "{path:?} is not a normalised root-relative path"
            )));
        }
        let full = self.root.join(rel);
        let canon_root = self
            .root
            .canonicalize()
            .map_err(|e| SourceError::Io(e.to_string()))?;
        match full.canonicalize() {
            Ok(c) if c.starts_with(&canon_root) => Ok(c),
            Ok(_) => Err(SourceError::Denied(format!(
                "{path:?} leaves the source root"
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SourceError::NotFound),
            Err(e) => Err(SourceError::Io(e.to_string())),
        }
    }
}

impl Source for DirSource {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let p = self.resolve(path)?;
        if p.is_dir() {
            return Err(SourceError::IsADirectory);
        }
        std::fs::read(p).map_err(|e| SourceError::Io(e.to_string()))
    }

    fn list_dir(&self, path: &str) -> Result<Vec<Entry>, SourceError> {
        let p = self.resolve(path)?;
        if !p.is_dir() {
            return Err(SourceError::NotADirectory);
        }
        let mut out = Vec::new();
        for e in std::fs::read_dir(p).map_err(|e| SourceError::Io(e.to_string()))? {
            let e = e.map_err(|e| SourceError::Io(e.to_string()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            let Ok(kind) = self.stat(&child) else {
                continue;
            };
            let size = if kind == EntryKind::File {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            };
            out.push(Entry { name, kind, size });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn stat(&self, path: &str) -> Result<EntryKind, SourceError> {
        let p = self.resolve(path)?;
        Ok(if p.is_dir() {
            EntryKind::Directory
        } else {
            EntryKind::File
        })
    }
}
