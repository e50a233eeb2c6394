//! On-disk cache of compiled components, keyed by the component's sha256 and the engine's
//! compatibility hash (wasmtime version + compilation settings), as Kubewarden's policy-server
//! does. Compiling a large plugin takes seconds; loading a cached one takes a millisecond.
//!
//! Deserializing compiled code is `unsafe` in wasmtime: the bytes run as native code. So plumb
//! only loads files it wrote itself: the directory is private to the user (0700), files are
//! written atomically, owned by the current user and not writable by others, and carry a
//! CRC-32 (in a `.sum` file beside it) that is checked before wasmtime sees them: a truncated or
//! bit-flipped artifact is recompiled, never run. The artifact is memory-mapped, checked in
//! place and handed to wasmtime without a copy (a 13 MB helm artifact loads in about 2 ms);
//! tampering is what the ownership and mode checks are for.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"PLUMBCW3";

/// Where compiled components live; `None` disables the cache (everything compiles in memory).
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Compiled,
}

impl CompileCache {
    pub fn disabled() -> Self {
        CompileCache { dir: None }
    }

    /// A cache under `dir/compiled/<engine hash>/`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        CompileCache {
            dir: Some(dir.into()),
        }
    }

    /// `$PLUMB_CACHE_DIR`, else `$XDG_CACHE_HOME/plumb`, else `~/.cache/plumb`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("PLUMB_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        dirs::cache_dir().map(|d| d.join("plumb"))
    }

    fn engine_dir(&self, engine: &Engine) -> Option<PathBuf> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir
            .as_ref()
            .map(|d| d.join("compiled").join(format!("{:016x}", h.finish())))
    }

    /// The compiled component for `wasm` (whose sha256 is `digest`), from the cache or freshly
    /// compiled (and then stored). A cache that cannot be used is logged and bypassed.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        digest: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(dir) = self.engine_dir(engine) else {
            return Ok((Component::new(engine, wasm)?, CacheOutcome::Compiled));
        };
        let file = dir.join(format!("{digest}.cwasm"));
        let sum = dir.join(format!("{digest}.sum"));
        match check_trusted(&file, &sum) {
            Ok(true) => {
                // SAFETY: the file was produced by `Engine::precompile_component` of an engine
                // with the same compatibility hash (it is in the path), written by this user into
                // a private directory, and its length and checksum matched (see `check_trusted`).
                match unsafe { Component::deserialize_file(engine, &file) } {
                    Ok(c) => return Ok((c, CacheOutcome::Hit)),
                    Err(e) => {
                        tracing::warn!(file = %file.display(), error = %e, "ignoring unusable compiled component")
                    }
                }
            }
            Ok(false) => {}
            Err(why) => {
                tracing::warn!(file = %file.display(), %why, "ignoring cached compiled component")
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(e) = write_atomic(&dir, &file, &compiled)
            .and_then(|_| write_atomic(&dir, &sum, &summary(&compiled)))
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot write the compile cache; continuing without it");
        }
        // SAFETY: `compiled` was just produced by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, CacheOutcome::Compiled))
    }
}

/// What `.sum` holds: magic, the artifact's length and its CRC-32.
fn summary(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out
}

/// Owned by this user, a regular file, not writable by group or others.
fn check_owner(file: &Path) -> Result<bool, String> {
    let meta = match fs::symlink_metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(format!(
                "owned by uid {}, not by this user ({me})",
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err("writable by group or others".into());
        }
    }
    Ok(true)
}

/// Whether the cached artifact exists and passes every check (owner, mode, length, CRC-32).
fn check_trusted(file: &Path, sum: &Path) -> Result<bool, String> {
    if !check_owner(file)? || !check_owner(sum)? {
        return Ok(false);
    }
    let expected = fs::read(sum).map_err(|e| e.to_string())?;
    let f = fs::File::open(file).map_err(|e| e.to_string())?;
    // SAFETY: a read-only private mapping of a file in a directory only this user can write;
    // it is only read, and dropped before wasmtime maps the file itself.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| e.to_string())?;
    if expected != summary(&map) {
        return Err("checksum or length mismatch (truncated or altered)".into());
    }
    Ok(true)
}

fn write_atomic(dir: &Path, file: &Path, body: &[u8]) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("c"),
        std::process::id()
    ));
    let mut f = open_private(&tmp)?;
    f.write_all(body)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, file)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

fn open_private(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}
