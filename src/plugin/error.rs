//! What can go wrong with a plugin. Every variant names the plugin, so one broken plugin is
//! easy to find among many apps.

use std::time::Duration;

/// A plugin failed to load or to run. The host stays usable after any of these.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(
        "plugin {plugin}: ran longer than its {limit:?} CPU deadline and was stopped; raise `--plugin-timeout` if the input is really that large"
    )]
    Timeout { plugin: String, limit: Duration },

    #[error(
        "plugin {plugin}: tried to grow its memory to {requested} bytes, over its {limit}-byte cap, and was stopped; raise `--plugin-memory` if the input is really that large"
    )]
    MemoryLimit {
        plugin: String,
        limit: u64,
        requested: u64,
    },

    #[error("plugin {plugin}: overflowed its call stack (runaway recursion?) and was stopped")]
    StackOverflow { plugin: String },

    #[error("plugin {plugin}: returned {size} bytes of output, over the {limit}-byte cap")]
    OutputTooLarge {
        plugin: String,
        limit: u64,
        size: u64,
    },

    #[error("plugin {plugin}: crashed: {message}{}", stderr_suffix(.stderr))]
    Trap {
        plugin: String,
        message: String,
        stderr: String,
    },

    #[error("plugin {plugin}: {diagnostic}")]
    Failed {
        plugin: String,
        diagnostic: super::Diagnostic,
    },

    #[error("plugin {plugin}: invalid settings:\n{}", .errors.join("\n"))]
    InvalidSettings { plugin: String, errors: Vec<String> },

    #[error("plugin {plugin}: object #{index}{}: {reason}", origin_suffix(.origin))]
    InvalidOutput {
        plugin: String,
        index: usize,
        origin: Option<String>,
        reason: String,
    },

    #[error("plugin {plugin}: cannot load: {reason}")]
    Load { plugin: String, reason: String },

    #[error(
        "plugin {plugin}: sha256 is {actual}, but {expected} was pinned; refusing to load it (update the pin only if you trust the new file)"
    )]
    DigestMismatch {
        plugin: String,
        expected: String,
        actual: String,
    },

    #[error("plugin {plugin} is a {actual}, but a {expected} is needed here")]
    WrongKind {
        plugin: String,
        expected: &'static str,
        actual: &'static str,
    },

    #[error(
        "no built-in plugin named {name:?}; built-ins are: {available}. A plugin of your own is loaded from a .wasm path"
    )]
    UnknownBuiltin { name: String, available: String },

    #[error("cannot read plugin file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    let tail = stderr.trim();
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nplugin stderr:\n{tail}")
    }
}

fn origin_suffix(origin: &Option<String>) -> String {
    origin
        .as_ref()
        .map(|o| format!(" (from {o})"))
        .unwrap_or_default()
}

impl PluginError {
    /// The plugin this error is about, when there is one.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            PluginError::Timeout { plugin, .. }
            | PluginError::MemoryLimit { plugin, .. }
            | PluginError::StackOverflow { plugin }
            | PluginError::OutputTooLarge { plugin, .. }
            | PluginError::Trap { plugin, .. }
            | PluginError::Failed { plugin, .. }
            | PluginError::InvalidSettings { plugin, .. }
            | PluginError::InvalidOutput { plugin, .. }
            | PluginError::Load { plugin, .. }
            | PluginError::DigestMismatch { plugin, .. }
            | PluginError::WrongKind { plugin, .. } => Some(plugin),
            PluginError::UnknownBuiltin { .. } | PluginError::Read { .. } => None,
        }
    }
}
