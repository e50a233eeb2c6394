//! On-disk cache of compiled components, keyed by the component's sha256 and the engine's
//! compatibility hash (wasmtime version + compilation settings), as Kubewarden's policy-server
//! does. Compiling a large plugin takes seconds; loading a cached one takes a millisecond.
//!
//! Deserializing compiled code is `unsafe` in wasmtime: the bytes run as native code. So plumb
//! only loads files it wrote itself: the directory is private to the user (0700), files are
//! written atomically, owned by the current user and not writable by others, and carry a
//! CRC-32 of their body that is checked before wasmtime sees them (a truncated or bit-flipped
//! file is recompiled, never run; CRC-32 is hardware-accelerated, so checking a 5 MB artifact
//! costs well under a millisecond — tampering is what the ownership and mode checks are for).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"PLUMBCW2";

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
        match read_trusted(&file) {
            Ok(Some(body)) => {
                // SAFETY: `body` was produced by `Engine::precompile_component` of an engine with
                // the same compatibility hash (it is in the path), written by this user into a
                // private directory, and its checksum matched (see `read_trusted`).
                match unsafe { Component::deserialize(engine, &body) } {
                    Ok(c) => return Ok((c, CacheOutcome::Hit)),
                    Err(e) => {
                        tracing::warn!(file = %file.display(), error = %e, "ignoring unusable compiled component")
                    }
                }
            }
            Ok(None) => {}
            Err(why) => {
                tracing::warn!(file = %file.display(), %why, "ignoring cached compiled component")
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(e) = write_atomic(&dir, &file, &compiled) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot write the compile cache; continuing without it");
        }
        // SAFETY: `compiled` was just produced by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, CacheOutcome::Compiled))
    }
}

/// The body of a cache file, if it exists and passes every check.
fn read_trusted(file: &Path) -> Result<Option<Vec<u8>>, String> {
    let meta = match fs::symlink_metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
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
    let bytes = fs::read(file).map_err(|e| e.to_string())?;
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a plumb cache file".into());
    }
    let (sum, body) = bytes[MAGIC.len()..].split_at(4);
    if crc32fast::hash(body).to_le_bytes() != sum {
        return Err("checksum mismatch (truncated or altered)".into());
    }
    Ok(Some(body.to_vec()))
}

fn write_atomic(dir: &Path, file: &Path, body: &[u8]) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("c"),
        std::process::id()
    ));
    let mut f = open_private(&tmp)?;
    f.write_all(MAGIC)?;
    f.write_all(&crc32fast::hash(body).to_le_bytes())?;
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
