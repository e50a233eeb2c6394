//! `plumb plugin`: what a plugin is and what settings it takes.

use std::path::Path;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use plumb::plugin::BUILTINS;

use super::Global;

#[derive(Subcommand)]
pub enum PluginCmd {
    /// Print a plugin's metadata, world and settings schema.
    Inspect {
        /// A .wasm file or the name of a built-in plugin.
        plugin: String,
        /// Refuse the file unless its sha256 is this (hex).
        #[arg(long, value_name = "HEX")]
        plugin_sha256: Option<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// List the built-in plugins.
    List,
    /// Write a new plugin crate (with its own copy of the SDK and a passing test).
    New {
        kind: plumb::scaffold::Kind,
        /// The plugin's name: lowercase letters, digits and `-`.
        name: String,
        /// Where to create it.
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
    },
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub fn run(global: &Global, cmd: PluginCmd) -> anyhow::Result<ExitCode> {
    if let PluginCmd::New { kind, name, dir } = &cmd {
        let created = plumb::scaffold::new_plugin(*kind, name, dir)?;
        super::emit(&format!(
            "created {}\n  cd {0} && cargo test && cargo build --release --target wasm32-wasip2\n",
            created.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let host = global.host()?;
    match cmd {
        PluginCmd::New { .. } => {}
        PluginCmd::Inspect {
            plugin,
            plugin_sha256,
            output,
        } => {
            let p = if plugin.ends_with(".wasm") || Path::new(&plugin).exists() {
                host.load_file(Path::new(&plugin), plugin_sha256.as_deref())?
            } else {
                host.load_builtin(&plugin)?
            };
            let m = p.metadata();
            match output {
                Format::Json => {
                    let v = serde_json::json!({
                        "name": m.name, "version": m.version, "kind": m.kind, "description": m.description,
                        "world": m.kind.world(), "sha256": p.digest(), "source": p.label(),
                        "settingsSchema": m.settings_schema,
                    });
                    super::emit(&(serde_json::to_string_pretty(&v)? + "\n"))?;
                }
                Format::Text => {
                    let text = format!(
                        "name:        {}\nversion:     {}\nkind:        {}\nworld:       {}\ndescription: {}\nsource:      {}\nsha256:      {}\nsettings schema:\n{}\n",
                        m.name,
                        m.version,
                        m.kind.as_str(),
                        m.kind.world(),
                        m.description,
                        p.label(),
                        p.digest(),
                        serde_json::to_string_pretty(&m.settings_schema)?
                    );
                    super::emit(&text)?;
                }
            }
        }
        PluginCmd::List => {
            let mut text = String::new();
            for b in BUILTINS {
                let p = host.load_builtin(b.name)?;
                let m = p.metadata();
                text.push_str(&format!(
                    "{:<12} {:<9} {:<8} {}\n",
                    m.name,
                    m.kind.as_str(),
                    m.version,
                    m.description
                ));
            }
            super::emit(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
