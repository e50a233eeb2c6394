//! One commit of a repository as a [`SourceTree`], read lazily from the object database: no
//! work tree is written. Paths are confined to the repository root: symbolic links are followed
//! only while they stay inside it, submodules are skipped, files over the cap are refused.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use gix::ObjectId;
use gix::objs::tree::EntryKind as Mode;

use crate::source::{DEFAULT_FILE_CAP, Entry, EntryKind, SourceError, SourceTree, check_path};

/// Symbolic links followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;
/// A symbolic link's target longer than this is not a path anyone means.
const MAX_LINK_TARGET: u64 = 4096;
const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/v1";

#[derive(Debug, Clone)]
struct TreeEntry {
    name: String,
    mode: Mode,
    id: ObjectId,
}

/// What a path resolved to.
#[derive(Debug, Clone, Copy)]
enum Node {
    Dir(ObjectId),
    File(ObjectId),
}

/// The files of one commit.
pub struct GitTree {
    repo: Mutex<gix::Repository>,
    root: ObjectId,
    label: String,
    file_cap: u64,
    /// Decoded directories by tree id.
    dirs: Mutex<HashMap<ObjectId, Arc<Vec<TreeEntry>>>>,
    warnings: Mutex<BTreeSet<String>>,
}

impl GitTree {
    /// The tree of `commit` in `repo`; `label` names it in messages (`url@commit`).
    pub fn new(
        repo: gix::Repository,
        commit: ObjectId,
        label: String,
    ) -> Result<GitTree, SourceError> {
        let root = {
            let c = repo.find_commit(commit).map_err(|e| {
                SourceError::Io(format!("{label}: cannot read commit {commit}: {e}"))
            })?;
            c.tree_id()
                .map_err(|e| SourceError::Io(format!("{label}: commit {commit} has no tree: {e}")))?
                .detach()
        };
        let mut repo = repo;
        repo.object_cache_size_if_unset(4 << 20);
        Ok(GitTree {
            repo: Mutex::new(repo),
            root,
            label,
            file_cap: DEFAULT_FILE_CAP,
            dirs: Mutex::new(HashMap::new()),
            warnings: Mutex::new(BTreeSet::new()),
        })
    }

    /// Refuse files larger than `cap` bytes.
    pub fn with_file_cap(mut self, cap: u64) -> Self {
        self.file_cap = cap;
        self
    }

    fn warn(&self, message: String) {
        if let Ok(mut w) = self.warnings.lock() {
            w.insert(message);
        }
    }

    fn io(&self, what: &str, e: impl std::fmt::Display) -> SourceError {
        SourceError::Io(format!("{}: {what}: {e}", self.label))
    }

    fn repo(&self) -> Result<std::sync::MutexGuard<'_, gix::Repository>, SourceError> {
        self.repo
            .lock()
            .map_err(|_| SourceError::Io(format!("{}: repository handle poisoned", self.label)))
    }

    /// The entries of the tree `id`, decoded once.
    fn dir(&self, id: ObjectId, path: &str) -> Result<Arc<Vec<TreeEntry>>, SourceError> {
        if let Some(d) = self.dirs.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(d);
        }
        let entries = {
            let repo = self.repo()?;
            let tree = repo.find_tree(id).map_err(|e| self.io(path, e))?;
            let decoded = tree.decode().map_err(|e| self.io(path, e))?;
            let mut out = Vec::with_capacity(decoded.entries.len());
            for e in &decoded.entries {
                match std::str::from_utf8(e.filename.as_ref()) {
                    Ok(name) => out.push(TreeEntry {
                        name: name.to_string(),
                        mode: e.mode.kind(),
                        id: e.oid.to_owned(),
                    }),
                    Err(_) => self.warn(format!(
                        "{}: skipped an entry of {:?} whose name is not UTF-8",
                        self.label,
                        if path.is_empty() { "/" } else { path }
                    )),
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Arc::new(out)
        };
        if let Ok(mut m) = self.dirs.lock() {
            m.insert(id, entries.clone());
        }
        Ok(entries)
    }

    fn link_target(&self, id: ObjectId, path: &str) -> Result<String, SourceError> {
        let repo = self.repo()?;
        let size = repo.find_header(id).map_err(|e| self.io(path, e))?.size();
        if size > MAX_LINK_TARGET {
            return Err(SourceError::Denied(format!(
                "{path:?} is a symbolic link with a {size}-byte target"
            )));
        }
        let blob = repo.find_blob(id).map_err(|e| self.io(path, e))?;
        String::from_utf8(blob.data.clone()).map_err(|_| {
            SourceError::Denied(format!(
                "{path:?} is a symbolic link whose target is not UTF-8"
            ))
        })
    }

    /// Resolves a checked path, following symbolic links inside the repository.
    fn resolve(&self, path: &str) -> Result<Node, SourceError> {
        // Components still to walk (last = next), and the directories walked so far.
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .rev()
            .map(String::from)
            .collect();
        let mut walked: Vec<(String, ObjectId)> = Vec::new();
        let mut links = 0;
        let mut last_link: Option<(String, String)> = None;
        let here = |walked: &[(String, ObjectId)]| {
            walked
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join("/")
        };
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if walked.pop().is_none() {
                        let (link, target) = last_link.unwrap_or_default();
                        return Err(SourceError::Denied(format!(
                            "{link:?} is a symbolic link to {target:?}, which climbs out of the repository root; plumb reads only files inside the repository"
                        )));
                    }
                    continue;
                }
                _ => {}
            }
            let dir_id = walked.last().map_or(self.root, |(_, id)| *id);
            let dir_path = here(&walked);
            let entries = self.dir(dir_id, &dir_path)?;
            let Ok(i) = entries.binary_search_by(|e| e.name.as_str().cmp(part.as_str())) else {
                return Err(SourceError::NotFound);
            };
            let entry = &entries[i];
            let full = if dir_path.is_empty() {
                part.clone()
            } else {
                format!("{dir_path}/{part}")
            };
            match entry.mode {
                Mode::Tree => walked.push((part, entry.id)),
                Mode::Blob | Mode::BlobExecutable => {
                    if !pending.iter().all(|p| p.is_empty() || p == ".") {
                        return Err(SourceError::NotADirectory);
                    }
                    return Ok(Node::File(entry.id));
                }
                Mode::Commit => {
                    self.warn(format!(
                        "{}: {full} is a Git submodule; plumb does not fetch submodules, it is skipped",
                        self.label
                    ));
                    return Err(SourceError::NotFound);
                }
                Mode::Link => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(SourceError::Denied(format!(
                            "{path:?}: more than {MAX_LINKS} symbolic links (a loop?)"
                        )));
                    }
                    let target = self.link_target(entry.id, &full)?;
                    if target.starts_with('/') {
                        return Err(SourceError::Denied(format!(
                            "{full:?} is a symbolic link to the absolute path {target:?}, outside the repository; plumb reads only files inside the repository"
                        )));
                    }
                    if target.contains('\0') || target.contains('\\') {
                        return Err(SourceError::Denied(format!(
                            "{full:?} is a symbolic link to {target:?}, which is not a plain relative path"
                        )));
                    }
                    // Relative to the link's directory: walk the target's parts next.
                    last_link = Some((full, target.clone()));
                    pending.extend(target.split('/').rev().map(String::from));
                }
            }
        }
        Ok(Node::Dir(walked.last().map_or(self.root, |(_, id)| *id)))
    }

    fn size(&self, id: ObjectId, path: &str) -> Result<u64, SourceError> {
        Ok(self
            .repo()?
            .find_header(id)
            .map_err(|e| self.io(path, e))?
            .size())
    }
}

impl SourceTree for GitTree {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        check_path(path)?;
        let Node::File(id) = self.resolve(path)? else {
            return Err(SourceError::IsADirectory);
        };
        if self.size(id, path)? > self.file_cap {
            return Err(SourceError::TooLarge(self.file_cap));
        }
        let data = {
            let repo = self.repo()?;
            let blob = repo.find_blob(id).map_err(|e| self.io(path, e))?;
            blob.data.clone()
        };
        if data.starts_with(LFS_POINTER) {
            self.warn(format!(
                "{}: {path} is a Git LFS pointer, not the file's content; plumb does not fetch LFS objects",
                self.label
            ));
        }
        Ok(data)
    }

    fn list_dir(&self, path: &str) -> Result<Vec<Entry>, SourceError> {
        check_path(path)?;
        let Node::Dir(id) = self.resolve(path)? else {
            return Err(SourceError::NotADirectory);
        };
        let entries = self.dir(id, path)?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries.iter() {
            let child = if path.is_empty() {
                e.name.clone()
            } else {
                format!("{path}/{}", e.name)
            };
            let (kind, size) = match e.mode {
                Mode::Tree => (EntryKind::Directory, 0),
                Mode::Blob | Mode::BlobExecutable => (EntryKind::File, self.size(e.id, &child)?),
                Mode::Commit => {
                    self.warn(format!(
                        "{}: {child} is a Git submodule; plumb does not fetch submodules, it is skipped",
                        self.label
                    ));
                    continue;
                }
                // As for a local directory: a link inside the root shows what it leads to; one
                // that leaves it (or dangles) is listed as a file, so reading it gives a clear error.
                Mode::Link => match self.resolve(&child) {
                    Ok(Node::Dir(_)) => (EntryKind::Directory, 0),
                    Ok(Node::File(id)) => (EntryKind::File, self.size(id, &child)?),
                    Err(_) => (EntryKind::File, 0),
                },
            };
            out.push(Entry {
                name: e.name.clone(),
                kind,
                size,
            });
        }
        Ok(out)
    }

    fn stat(&self, path: &str) -> Result<EntryKind, SourceError> {
        check_path(path)?;
        Ok(match self.resolve(path)? {
            Node::Dir(_) => EntryKind::Directory,
            Node::File(_) => EntryKind::File,
        })
    }

    fn describe(&self) -> String {
        self.label.clone()
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default()
    }
}
