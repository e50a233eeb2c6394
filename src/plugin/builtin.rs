//! Plugins compiled into the plumb binary (built for wasm32-wasip2 by `build.rs`).

use super::PluginError;

/// One embedded plugin.
pub struct Builtin {
    pub name: &'static str,
    pub wasm: &'static [u8],
    /// sha256 of `wasm`, computed at build time.
    pub sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The built-in plugin called `name`.
pub fn find(name: &str) -> Result<&'static Builtin, PluginError> {
    BUILTINS
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| PluginError::UnknownBuiltin {
            name: name.to_string(),
            available: BUILTINS
                .iter()
                .map(|b| b.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
