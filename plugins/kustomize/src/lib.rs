//! `kustomize`: builds a kustomization the way `kubectl kustomize` (Kustomize v5.7.1) does.
//!
//! Everything is read through the host's [`Source`] (root-relative paths; `../` resolved with
//! [`normalize_path`], nothing outside the root, no network). The objects come back in
//! Kustomize's output order (its "legacy" kind order unless `sortOptions` says `fifo`), and
//! Kustomize's deprecation warnings come back as plugin warnings.
//!
//! Not supported, with an error naming the field: remote bases (vendor them), `helmCharts`,
//! `crds`, `openapi`, and plugin `generators`/`transformers`/`validators`.

mod config;
mod generators;
mod jsonpatch;
mod kustomization;
mod merge;
mod model;
mod refs;
mod target;
mod transform;
mod yaml;

use plumb_plugin_sdk::{
    Context, Diagnostic, Metadata, Object, Rendered, Renderer, Source,
    schemars::{self, JsonSchema},
};
use serde::Deserialize;
use serde_json::Value;

/// The renderer takes no settings: what to build is entirely in the kustomization files.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {}

/// Why a build failed; the file at fault is kept so the host can show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not (yet) tied to a file; callers attach the kustomization file.
    #[error("{0}")]
    Message(String),
    #[error("{file}: {message}")]
    File {
        file: String,
        line: Option<u32>,
        message: String,
    },
}

impl Error {
    pub fn msg(m: impl Into<String>) -> Error {
        Error::Message(m.into())
    }
    pub fn in_file(file: impl Into<String>, m: impl Into<String>) -> Error {
        Error::File {
            file: file.into(),
            line: None,
            message: m.into(),
        }
    }
    pub fn in_file_line(file: impl Into<String>, line: u32, m: impl Into<String>) -> Error {
        Error::File {
            file: file.into(),
            line: Some(line),
            message: m.into(),
        }
    }
    fn yaml(file: &str, e: yaml::YamlError) -> Error {
        Error::File {
            file: file.to_string(),
            line: e.line,
            message: format!("invalid YAML: {}", e.message),
        }
    }
    /// Attaches `file` unless the error already names one.
    pub fn or_file(self, file: &str) -> Error {
        match self {
            Error::Message(m) => Error::in_file(file, m),
            other => other,
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Diagnostic {
        match e {
            Error::Message(m) => Diagnostic::new(m),
            Error::File {
                file,
                line,
                message,
            } => {
                let mut d = Diagnostic::new(message).in_file(file);
                d.line = line;
                d
            }
        }
    }
}

pub struct Kustomize;

impl Renderer for Kustomize {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "kustomize",
            env!("CARGO_PKG_VERSION"),
            "Kustomize overlays, built as `kubectl kustomize` (Kustomize v5.7.1) builds them",
        )
    }

    fn render(
        _settings: Settings,
        ctx: &Context,
        source: &dyn Source,
    ) -> Result<Rendered, Diagnostic> {
        render(&ctx.path, source)
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_renderer!(Kustomize);

/// Builds the kustomization in `dir` (root-relative).
pub fn render(dir: &str, source: &dyn Source) -> Result<Rendered, Diagnostic> {
    let (resources, warnings) = target::build(source, dir).map_err(Diagnostic::from)?;
    let objects = resources
        .into_iter()
        .map(|r| Object {
            value: Value::Object(r.obj),
            origin: r.origin,
        })
        .collect();
    Ok(Rendered { objects, warnings })
}

#[cfg(test)]
mod tests;
