//! A renderer that misbehaves in the way its settings ask, so tests can prove the host stops it.
//! Never shipped: only the tests load it.

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{Context, Diagnostic, Metadata, Object, Rendered, Renderer, Source};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum Settings {
    /// Render nothing: measures the bare cost of a call.
    Empty,
    /// Render one ConfigMap per file read from `paths`.
    Ok {
        #[serde(default)]
        paths: Vec<String>,
    },
    /// Spin forever.
    Loop,
    /// Allocate `mib` MiB and touch it.
    Memory { mib: u64 },
    /// Recurse without end.
    Recurse,
    /// Return `mib` MiB of output.
    HugeOutput { mib: u64 },
    /// Read `path` and report the error text.
    Read { path: String },
    /// Panic with a message.
    Panic,
    /// Return output that is not a Kubernetes object.
    NotObject,
    /// Return the clock and random numbers the sandbox gives, as a ConfigMap.
    Entropy,
    /// Write a lot to stderr, then succeed.
    Chatty,
}

pub struct Hostile;

impl Renderer for Hostile {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new("hostile", "0.1.0", "misbehaves on request (tests only)")
    }

    fn render(
        settings: Settings,
        ctx: &Context,
        source: &dyn Source,
    ) -> Result<Rendered, Diagnostic> {
        let cm = |name: &str, data: serde_json::Value| Object {
            value: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}),
            origin: None,
        };
        let mut out = Rendered::default();
        match settings {
            Settings::Empty => {}
            Settings::Ok { paths } => {
                for (i, p) in paths.iter().enumerate() {
                    let text = source
                        .read_to_string(p)
                        .map_err(|e| Diagnostic::new(format!("{p}: {e}")).in_file(p))?;
                    out.objects
                        .push(cm(&format!("file-{i}"), json!({"path": p, "text": text})));
                }
                out.objects.push(cm(
                    "context",
                    json!({"app": ctx.app, "path": ctx.path, "revision": ctx.revision}),
                ));
            }
            Settings::Loop => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            Settings::Memory { mib } => {
                let mut v: Vec<Vec<u8>> = Vec::new();
                for _ in 0..mib {
                    v.push(vec![1u8; 1 << 20]);
                }
                out.objects
                    .push(cm("memory", json!({"chunks": v.len().to_string()})));
            }
            Settings::Recurse => {
                out.objects.push(cm(
                    "deep",
                    json!({"depth": recurse(std::hint::black_box(1)).to_string()}),
                ));
            }
            Settings::HugeOutput { mib } => {
                let blob = "x".repeat(1 << 20);
                for i in 0..mib {
                    out.objects
                        .push(cm(&format!("huge-{i}"), json!({"blob": blob})));
                }
            }
            Settings::Read { path } => {
                let result = match source.read_file(&path) {
                    Ok(bytes) => format!("read {} bytes", bytes.len()),
                    Err(e) => format!("error: {e}"),
                };
                out.objects.push(cm("read", json!({"result": result})));
            }
            Settings::Panic => panic!("the hostile plugin panics on purpose"),
            Settings::NotObject => {
                out.objects.push(Object {
                    value: json!({"kind": "ConfigMap"}),
                    origin: Some("x.yaml".into()),
                });
            }
            Settings::Entropy => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let mut map = std::collections::HashMap::new();
                for k in ["a", "b", "c", "d", "e", "f"] {
                    map.insert(k, k);
                }
                let order: Vec<&str> = map.keys().copied().collect();
                let mono = std::time::Instant::now().elapsed().as_nanos();
                out.objects.push(cm(
                    "entropy",
                    json!({"now": now.to_string(), "hashmap-order": order.join(","), "mono": mono.to_string()}),
                ));
            }
            Settings::Chatty => {
                for i in 0..5_000 {
                    eprintln!("chatty line {i} with some padding to make it long enough");
                }
                out.objects.push(cm("chatty", json!({})));
            }
        }
        Ok(out)
    }
}

fn recurse(n: u64) -> u64 {
    if std::hint::black_box(n) == 0 {
        0
    } else {
        recurse(n + 1).wrapping_add(n)
    }
}

plumb_plugin_sdk::export_renderer!(Hostile);
