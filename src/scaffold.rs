//! `plumb plugin new`: a ready-to-build plugin crate. It carries its own copy of the SDK and of
//! the WIT contract, so it builds anywhere with `cargo build --target wasm32-wasip2` — no
//! checkout of plumb needed — and ships with a passing test.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));

/// The kind of plugin to scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Renderer,
    Policy,
}

/// Why a plugin crate could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "{0:?} is not a valid plugin name: use lowercase letters, digits and `-`, starting with a letter"
    )]
    Name(String),
    #[error("{0} already exists; pick another name or directory")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn valid(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// Writes a new plugin crate `name` under `parent`; returns its directory.
pub fn new_plugin(kind: Kind, name: &str, parent: &Path) -> Result<PathBuf, ScaffoldError> {
    if !valid(name) {
        return Err(ScaffoldError::Name(name.to_string()));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    let lib = name.replace('-', "_");
    let mut files: Vec<(String, String)> = vec![
        ("Cargo.toml".into(), cargo_toml(name)),
        ("rust-toolchain.toml".into(), TOOLCHAIN.into()),
        (".gitignore".into(), "/target\n".into()),
        ("README.md".into(), readme(kind, name, &lib)),
        (
            "src/lib.rs".into(),
            match kind {
                Kind::Renderer => RENDERER.replace("NAME", name),
                Kind::Policy => POLICY.replace("NAME", name),
            },
        ),
    ];
    for (path, text) in SDK_FILES {
        // In the repository the SDK reaches the WIT through a symlink; here it has its own copy.
        files.push((path.to_string(), text.to_string()));
    }
    for (rel, text) in files {
        let path = dir.join(&rel);
        let write = |p: &Path| -> std::io::Result<()> {
            std::fs::create_dir_all(p.parent().unwrap_or(Path::new(".")))?;
            std::fs::write(p, text.as_bytes())
        };
        write(&path).map_err(|source| ScaffoldError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(dir)
}

const TOOLCHAIN: &str = "[toolchain]\nchannel = \"1.95.0\"\ntargets = [\"wasm32-wasip2\"]\n";

fn cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
plumb-plugin-sdk = {{ path = "sdk" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

[dev-dependencies]
tempfile = "3"

# A standalone crate, even when created inside another workspace.
[workspace]
members = [".", "sdk"]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = true
"#
    )
}

fn readme(kind: Kind, name: &str, lib: &str) -> String {
    let (what, use_it) = match kind {
        Kind::Renderer => (
            "a plumb renderer plugin",
            format!(
                "plumb render DIR --renderer target/wasm32-wasip2/release/{lib}.wasm --plugin-sha256 $(sha256sum target/wasm32-wasip2/release/{lib}.wasm | cut -d' ' -f1)"
            ),
        ),
        Kind::Policy => (
            "a plumb policy plugin",
            "# in plumb.yaml:\n#   policies:\n#   - path: <path to the .wasm>\n#     sha256: <its sha256>\nplumb policy check DIR".to_string(),
        ),
    };
    format!(
        "# {name}\n\n{what}, built as a WebAssembly component against `sdk/wit/plumb.wit`.\n\n```sh\ncargo test                                   # the plugin's logic, natively\ncargo build --release --target wasm32-wasip2  # the component: target/wasm32-wasip2/release/{lib}.wasm\nplumb plugin inspect target/wasm32-wasip2/release/{lib}.wasm\n{use_it}\n```\n\n`sdk/` is a copy of plumb's plugin SDK; `src/lib.rs` is yours.\n"
    )
}

const RENDERER: &str = r#"//! NAME: a plumb renderer. Every `*.txt` file in the app directory becomes a ConfigMap.

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{Context, Diagnostic, Metadata, Object, Renderer, Rendered, Source};
use serde::Deserialize;
use serde_json::json;

/// Settings; plumb checks them against their JSON Schema before every call.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// A `team` label added to every object.
    #[serde(default)]
    pub team: Option<String>,
}

pub struct Plugin;

impl Renderer for Plugin {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new("NAME", env!("CARGO_PKG_VERSION"), "Turns every .txt file of the app into a ConfigMap")
    }

    fn render(settings: Settings, ctx: &Context, source: &dyn Source) -> Result<Rendered, Diagnostic> {
        let entries = source
            .list_dir(&ctx.path)
            .map_err(|e| Diagnostic::new(format!("cannot list the app directory: {e}")))?;
        let mut out = Rendered::default();
        for entry in entries.iter().filter(|e| e.name.ends_with(".txt")) {
            let path = if ctx.path.is_empty() { entry.name.clone() } else { format!("{}/{}", ctx.path, entry.name) };
            let text = source.read_to_string(&path).map_err(|e| Diagnostic::new(e.to_string()).in_file(&path))?;
            let name = entry.name.trim_end_matches(".txt").to_lowercase().replace('_', "-");
            let mut object = json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name},
                "data": {"content": text},
            });
            if let Some(team) = &settings.team {
                object["metadata"]["labels"] = json!({"team": team});
            }
            out.objects.push(Object { value: object, origin: Some(path) });
        }
        Ok(out)
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_renderer!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_plugin_sdk::testing::DirSource;

    #[test]
    fn every_txt_file_becomes_a_config_map() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("app")).unwrap();
        std::fs::write(dir.path().join("app/Hello_World.txt"), "hi\n").unwrap();
        std::fs::write(dir.path().join("app/skip.md"), "no").unwrap();
        let ctx = Context { app: "demo".into(), path: "app".into(), ..Default::default() };
        let settings = Settings { team: Some("web".into()) };
        let out = Plugin::render(settings, &ctx, &DirSource::new(dir.path())).unwrap();
        assert_eq!(out.objects.len(), 1);
        let cm = &out.objects[0].value;
        assert_eq!(cm["metadata"]["name"], "hello-world");
        assert_eq!(cm["metadata"]["labels"]["team"], "web");
        assert_eq!(cm["data"]["content"], "hi\n");
        assert_eq!(out.objects[0].origin.as_deref(), Some("app/Hello_World.txt"));
    }
}
"#;

const POLICY: &str = r#"//! NAME: a plumb policy. Denies Deployments with fewer replicas than `minReplicas`.

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{Context, Diagnostic, Finding, Metadata, Policy, Review, ReviewObject, Verdict};
use serde::Deserialize;

/// Settings; plumb checks them against their JSON Schema before every call.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The fewest replicas a Deployment may ask for.
    #[serde(default = "two")]
    pub min_replicas: i64,
}

fn two() -> i64 {
    2
}

pub struct Plugin;

impl Policy for Plugin {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new("NAME", env!("CARGO_PKG_VERSION"), "Deployments run at least minReplicas replicas")
    }

    fn review(objects: &[ReviewObject], settings: Settings, _ctx: &Context) -> Result<Review, Diagnostic> {
        let mut review = Review::default();
        for (i, o) in objects.iter().enumerate() {
            if o.object["kind"] != "Deployment" {
                continue;
            }
            let replicas = o.object["spec"]["replicas"].as_i64().unwrap_or(1);
            if replicas < settings.min_replicas {
                review.findings.push(Finding {
                    object: Some(i as u32),
                    verdict: Verdict::Deny,
                    message: format!(
                        "Deployment {} runs {replicas} replica(s); at least {} are required",
                        o.object["metadata"]["name"].as_str().unwrap_or("?"),
                        settings.min_replicas
                    ),
                    field: Some("/spec/replicas".into()),
                });
            }
        }
        Ok(review)
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_policy!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_plugin_sdk::Operation;
    use serde_json::json;

    #[test]
    fn a_single_replica_deployment_is_denied() {
        let deploy = |n: i64| ReviewObject {
            object: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": n}}),
            live: None,
            operation: Operation::Create,
        };
        let review = Plugin::review(&[deploy(1), deploy(3)], Settings { min_replicas: 2 }, &Context::default()).unwrap();
        assert_eq!(review.findings.len(), 1);
        assert_eq!(review.findings[0].object, Some(0));
        assert_eq!(review.findings[0].verdict, Verdict::Deny);
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_existing_dirs_refused() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            new_plugin(Kind::Renderer, "Bad_Name", d.path()),
            Err(ScaffoldError::Name(_))
        ));
        let dir = new_plugin(Kind::Renderer, "ok-name", d.path()).unwrap();
        assert!(dir.join("sdk/wit/plumb.wit").exists() && dir.join("sdk/src/lib.rs").exists());
        assert!(
            std::fs::read_to_string(dir.join("src/lib.rs"))
                .unwrap()
                .contains("\"ok-name\"")
        );
        assert!(matches!(
            new_plugin(Kind::Policy, "ok-name", d.path()),
            Err(ScaffoldError::Exists(_))
        ));
    }
}
