//! The WebAssembly host: one engine, one pre-instantiated component per plugin, a fresh store
//! per call with memory, CPU and output caps (see `sandbox`), and a compile cache on disk.
//!
//! Plugins reach plumb only through `wit/plumb.wit`. Calls are synchronous and CPU-bound: from
//! async code, run them on a blocking thread (`tokio::task::spawn_blocking`).

mod bindings;
mod builtin;
mod cache;
mod error;
mod sandbox;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{debug, info_span};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store, Trap};

pub use builtin::{BUILTINS, Builtin};
pub use cache::{CacheOutcome, CompileCache};
pub use error::PluginError;

use crate::source::{self, SourceTree};
use bindings::{policy as pb, renderer as rb};
use sandbox::State;

/// Per-call limits. Every call gets the full budget anew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on a plugin's linear memory, in bytes.
    pub memory: u64,
    /// CPU deadline of one call (enforced by epoch interruption, ~10 ms granularity).
    pub timeout: Duration,
    /// Cap on the bytes a call may return (objects, warnings, findings).
    pub output: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 256 << 20,
            timeout: Duration::from_secs(10),
            output: 64 << 20,
        }
    }
}

/// Plugin instances alive at once (calls in flight across all apps).
const POOL_INSTANCES: u32 = 128;

/// Memory of a plugin instance kept mapped when its slot is freed, and zeroed instead: the next
/// call in the slot does not page-fault it in anew. A policy over a 1,000-object release touches
/// about 7 MiB; faulting that in cost a third of its time (`cargo bench --bench policy`).
const KEEP_RESIDENT: usize = 16 << 20;

/// How often the engine's epoch advances; the granularity of CPU deadlines.
const TICK: Duration = Duration::from_millis(10);

/// What a plugin is, as it reported at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    pub description: String,
    /// The settings JSON Schema.
    pub settings_schema: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Renderer,
    Policy,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Renderer => "renderer",
            PluginKind::Policy => "policy",
        }
    }
    /// The WIT world a plugin of this kind implements.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Renderer => "plumb:plugin/renderer-plugin@0.1.0",
            PluginKind::Policy => "plumb:plugin/policy-plugin@0.1.0",
        }
    }
}

/// What is being rendered or judged (mirrors the WIT `context`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub app: String,
    pub namespace: String,
    pub path: String,
    pub revision: String,
    pub author: Option<String>,
    pub commit_time: Option<i64>,
    pub extra: Vec<(String, String)>,
}

/// A plugin's message tied to a place in the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(col)) => {
                write!(f, "{file}:{line}:{col}: {}", self.message)
            }
            (Some(file), Some(line), None) => write!(f, "{file}:{line}: {}", self.message),
            (Some(file), None, _) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// A renderer's raw result, before the render stage checks the objects.
#[derive(Debug, Clone, Default)]
pub struct RenderOutput {
    /// JSON text of each object and the file it came from.
    pub objects: Vec<(String, Option<String>)>,
    pub warnings: Vec<Diagnostic>,
    /// Every root-relative path the renderer read or listed.
    pub reads: BTreeSet<String>,
}

/// What applying does to an object under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// One object of a release, as a policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewObject {
    pub object: Value,
    pub live: Option<Value>,
    pub operation: Operation,
}

/// The objects of a release as policies receive them (JSON text), serialized once for any
/// number of [`Plugin::review_json`] calls.
#[derive(Debug, Clone, Default)]
pub struct ReviewInput {
    objects: Vec<pb::exports::plumb::plugin::policy::ReviewObject>,
}

impl ReviewInput {
    pub fn new(objects: &[ReviewObject]) -> Self {
        Self::of(
            objects
                .iter()
                .map(|o| (&o.object, o.live.as_ref(), o.operation)),
        )
    }

    /// From each object, its live counterpart and the operation; a large release is
    /// serialized on every core.
    pub fn of<'a>(
        objects: impl IntoIterator<Item = (&'a Value, Option<&'a Value>, Operation)>,
    ) -> Self {
        let objects: Vec<_> = objects.into_iter().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = objects.len().div_ceil(threads).max(256);
        let objects = if objects.len() <= chunk {
            objects
                .iter()
                .map(|&(o, l, op)| Self::wit(o, l, op))
                .collect()
        } else {
            std::thread::scope(|s| {
                let parts: Vec<_> = objects
                    .chunks(chunk)
                    .map(|part| {
                        s.spawn(move || {
                            part.iter()
                                .map(|&(o, l, op)| Self::wit(o, l, op))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        ReviewInput { objects }
    }

    fn wit(
        object: &Value,
        live: Option<&Value>,
        operation: Operation,
    ) -> pb::exports::plumb::plugin::policy::ReviewObject {
        use pb::exports::plumb::plugin::policy as wp;
        wp::ReviewObject {
            object: object.to_string(),
            live: live.map(Value::to_string),
            operation: match operation {
                Operation::Create => wp::Operation::Create,
                Operation::Update => wp::Operation::Update,
                Operation::Delete => wp::Operation::Delete,
            },
        }
    }

    /// Replaces object `i` (after a mutation).
    pub fn set(&mut self, i: usize, object: &Value, live: Option<&Value>, operation: Operation) {
        self.objects[i] = Self::wit(object, live, operation);
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Warn,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub object: Option<u32>,
    pub verdict: Verdict,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mutation {
    pub object: u32,
    pub patch: Value,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Review {
    pub findings: Vec<Finding>,
    pub mutations: Vec<Mutation>,
}

/// Advances the engine's epoch every [`TICK`] until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("plumb-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Loads plugins and runs them. Cheap to share: plugins loaded once are reused by digest.
pub struct PluginHost {
    engine: Engine,
    cache: CompileCache,
    limits: Limits,
    renderer_linker: Linker<State>,
    policy_linker: Linker<State>,
    ticker: Arc<Ticker>,
    loaded: Mutex<HashMap<String, Arc<Plugin>>>,
}

impl PluginHost {
    pub fn new(limits: Limits, cache: CompileCache) -> Result<Self, PluginError> {
        let host_err = |e: wasmtime::Error| PluginError::Load {
            plugin: "(host)".into(),
            reason: format!("{e:#}"),
        };
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .wasm_component_model(true)
            .max_wasm_stack(1 << 20);
        // A fresh instance per call is cheap when its memory slots are pre-reserved and reset
        // by copy-on-write (the pooling allocator), instead of mapped anew each time.
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 4)
            .max_memory_size(usize::try_from(limits.memory).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(KEEP_RESIDENT);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(host_err)?;
        let mut renderer_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut renderer_linker).map_err(host_err)?;
        rb::RendererPlugin::add_to_linker::<State, HasSelf<State>>(&mut renderer_linker, |s| s)
            .map_err(host_err)?;
        let mut policy_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut policy_linker).map_err(host_err)?;
        pb::PolicyPlugin::add_to_linker::<State, HasSelf<State>>(&mut policy_linker, |s| s)
            .map_err(host_err)?;
        let ticker = Arc::new(Ticker::start(&engine));
        Ok(PluginHost {
            engine,
            cache,
            limits,
            renderer_linker,
            policy_linker,
            ticker,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A built-in plugin by name (`plain`, …).
    pub fn load_builtin(&self, name: &str) -> Result<Arc<Plugin>, PluginError> {
        let b = builtin::find(name)?;
        self.load_verified(&format!("builtin:{name}"), b.wasm, b.sha256.to_string())
    }

    /// A plugin from a `.wasm` file; with `pin`, its sha256 must match.
    pub fn load_file(&self, path: &Path, pin: Option<&str>) -> Result<Arc<Plugin>, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read {
            path: path.display().to_string(),
            source,
        })?;
        self.load_bytes(&path.display().to_string(), &bytes, pin)
    }

    /// A plugin from bytes; `label` names it until its metadata is known.
    pub fn load_bytes(
        &self,
        label: &str,
        wasm: &[u8],
        pin: Option<&str>,
    ) -> Result<Arc<Plugin>, PluginError> {
        let digest = hex::encode(Sha256::digest(wasm));
        if let Some(pin) = pin {
            let pin = pin
                .trim()
                .trim_start_matches("sha256:")
                .to_ascii_lowercase();
            if pin != digest {
                return Err(PluginError::DigestMismatch {
                    plugin: label.into(),
                    expected: pin,
                    actual: digest,
                });
            }
        }
        self.load_verified(label, wasm, digest)
    }

    fn load_verified(
        &self,
        label: &str,
        wasm: &[u8],
        digest: String,
    ) -> Result<Arc<Plugin>, PluginError> {
        if let Some(p) = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&digest)
        {
            return Ok(p.clone());
        }
        let _span = info_span!("load_plugin", plugin = label, sha256 = %&digest[..12]).entered();
        let load_err = |reason: String| PluginError::Load {
            plugin: label.into(),
            reason,
        };
        let started = std::time::Instant::now();
        let (component, outcome) = self
            .cache
            .load_or_compile(&self.engine, wasm, &digest)
            .map_err(|e| load_err(format!("{e:#}")))?;
        debug!(?outcome, elapsed = ?started.elapsed(), "component ready");
        let kind = world_of(&self.engine, &component).map_err(load_err)?;
        let pre = match kind {
            PluginKind::Renderer => {
                let ip = self
                    .renderer_linker
                    .instantiate_pre(&component)
                    .map_err(|e| load_err(link_hint(e)))?;
                Pre::Renderer(
                    rb::RendererPluginPre::new(ip).map_err(|e| load_err(format!("{e:#}")))?,
                )
            }
            PluginKind::Policy => {
                let ip = self
                    .policy_linker
                    .instantiate_pre(&component)
                    .map_err(|e| load_err(link_hint(e)))?;
                Pre::Policy(pb::PolicyPluginPre::new(ip).map_err(|e| load_err(format!("{e:#}")))?)
            }
        };
        let mut plugin = Plugin {
            label: label.to_string(),
            metadata: Metadata {
                name: label.to_string(),
                version: String::new(),
                kind,
                description: String::new(),
                settings_schema: Value::Bool(true),
            },
            digest: digest.clone(),
            cache_outcome: outcome,
            pre,
            validator: None,
            limits: self.limits,
            _ticker: self.ticker.clone(),
            engine: self.engine.clone(),
        };
        plugin.metadata = plugin.call_metadata()?;
        if plugin.metadata.kind != kind {
            return Err(load_err(format!(
                "its metadata says it is a {}, but it implements the {} world",
                plugin.metadata.kind.as_str(),
                kind.as_str()
            )));
        }
        plugin.validator = Some(
            jsonschema::validator_for(&plugin.metadata.settings_schema).map_err(|e| {
                load_err(format!(
                    "its settings schema is not a valid JSON Schema: {e}"
                ))
            })?,
        );
        let plugin = Arc::new(plugin);
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest, plugin.clone());
        Ok(plugin)
    }
}

/// Which plumb world a component exports, or why it is not a plumb plugin.
fn world_of(engine: &Engine, component: &Component) -> Result<PluginKind, String> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    if exports.iter().any(|e| e == bindings::RENDERER_EXPORT) {
        Ok(PluginKind::Renderer)
    } else if exports.iter().any(|e| e == bindings::POLICY_EXPORT) {
        Ok(PluginKind::Policy)
    } else {
        Err(format!(
            "not a plumb plugin: it exports [{}], but a plugin must export {} or {} (build it against wit/plumb.wit)",
            exports.join(", "),
            bindings::RENDERER_EXPORT,
            bindings::POLICY_EXPORT
        ))
    }
}

fn link_hint(e: wasmtime::Error) -> String {
    format!(
        "{e:#}; a plugin may import only plumb:plugin/source and the WASI 0.2 interfaces (with no files, network or environment)"
    )
}

enum Pre {
    Renderer(rb::RendererPluginPre<State>),
    Policy(pb::PolicyPluginPre<State>),
}

/// A loaded plugin, ready to be called any number of times, from any thread.
pub struct Plugin {
    label: String,
    metadata: Metadata,
    digest: String,
    cache_outcome: CacheOutcome,
    pre: Pre,
    validator: Option<jsonschema::Validator>,
    limits: Limits,
    engine: Engine,
    _ticker: Arc<Ticker>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("metadata", &self.metadata)
            .field("digest", &self.digest)
            .finish()
    }
}

macro_rules! to_wit_context {
    ($m:ident, $c:expr) => {
        $m::plumb::plugin::types::Context {
            app: $c.app.clone(),
            namespace: $c.namespace.clone(),
            path: $c.path.clone(),
            revision: $c.revision.clone(),
            author: $c.author.clone(),
            commit_time: $c.commit_time,
            extra: $c.extra.clone(),
        }
    };
}

macro_rules! from_wit_diagnostic {
    ($d:expr) => {
        Diagnostic {
            message: $d.message,
            file: $d.file,
            line: $d.line,
            column: $d.column,
        }
    };
}

impl Plugin {
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The plugin's name as reported by itself.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Where the plugin came from (`builtin:plain`, a file path).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// sha256 of the component, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether the compiled component came from the on-disk cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache_outcome
    }

    pub fn kind(&self) -> PluginKind {
        self.metadata.kind
    }

    /// Checks settings against the plugin's schema; every violation is listed with its path.
    pub fn validate_settings(&self, settings: &Value) -> Result<(), PluginError> {
        let Some(v) = &self.validator else {
            return Ok(());
        };
        let errors: Vec<String> = v
            .iter_errors(settings)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    format!("  settings: {e}")
                } else {
                    format!("  settings{at}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PluginError::InvalidSettings {
                plugin: self.name().to_string(),
                errors,
            })
        }
    }

    fn store(&self, commit_time: Option<i64>, source: Option<Arc<dyn SourceTree>>) -> Store<State> {
        let mut store = Store::new(
            &self.engine,
            State::new(self.limits.memory, commit_time, source),
        );
        store.limiter(|s| &mut s.limiter);
        let ticks = self
            .limits
            .timeout
            .as_millis()
            .div_ceil(TICK.as_millis())
            .max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        store
    }

    /// Turns a failed call into an error naming the plugin and the limit it hit.
    fn call_error(&self, store: &Store<State>, e: wasmtime::Error) -> PluginError {
        let plugin = self.name().to_string();
        if let Some(requested) = store.data().limiter.hit {
            return PluginError::MemoryLimit {
                plugin,
                limit: self.limits.memory,
                requested,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout {
                plugin,
                limit: self.limits.timeout,
            },
            Some(Trap::StackOverflow) => PluginError::StackOverflow { plugin },
            Some(trap) => {
                debug!(plugin = %plugin, error = ?e, "plugin trapped");
                let mut message = trap.to_string();
                if *trap == Trap::MemoryOutOfBounds {
                    // Rust and C guests keep a data stack in linear memory; overflowing it
                    // (deep recursion) shows up as an out-of-bounds access, not a stack trap.
                    message.push_str(" (a bug in the plugin, or its data stack overflowed through deep recursion)");
                }
                PluginError::Trap {
                    plugin,
                    message,
                    stderr: store.data().stderr.contents(),
                }
            }
            None => PluginError::Trap {
                plugin,
                message: format!("{e:#}"),
                stderr: store.data().stderr.contents(),
            },
        }
    }

    fn call_metadata(&self) -> Result<Metadata, PluginError> {
        let mut store = self.store(None, None);
        let m = match &self.pre {
            Pre::Renderer(pre) => {
                let inst = pre
                    .instantiate(&mut store)
                    .map_err(|e| self.call_error(&store, e))?;
                let m = inst
                    .call_metadata(&mut store)
                    .map_err(|e| self.call_error(&store, e))?;
                let kind = match m.kind {
                    rb::plumb::plugin::types::PluginKind::Renderer => PluginKind::Renderer,
                    rb::plumb::plugin::types::PluginKind::Policy => PluginKind::Policy,
                };
                (m.name, m.version, kind, m.description, m.settings_schema)
            }
            Pre::Policy(pre) => {
                let inst = pre
                    .instantiate(&mut store)
                    .map_err(|e| self.call_error(&store, e))?;
                let m = inst
                    .call_metadata(&mut store)
                    .map_err(|e| self.call_error(&store, e))?;
                let kind = match m.kind {
                    pb::plumb::plugin::types::PluginKind::Renderer => PluginKind::Renderer,
                    pb::plumb::plugin::types::PluginKind::Policy => PluginKind::Policy,
                };
                (m.name, m.version, kind, m.description, m.settings_schema)
            }
        };
        let (name, version, kind, description, schema) = m;
        let load_err = |reason: String| PluginError::Load {
            plugin: self.label.clone(),
            reason,
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(load_err(format!(
                "its metadata name {name:?} is not lowercase letters, digits and `-`"
            )));
        }
        let settings_schema: Value = if schema.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&schema)
                .map_err(|e| load_err(format!("its settings schema is not JSON: {e}")))?
        };
        Ok(Metadata {
            name,
            version,
            kind,
            description,
            settings_schema,
        })
    }

    /// Renders with this renderer. Settings are validated first; the output size is capped.
    pub fn render(
        &self,
        settings: &Value,
        context: &Context,
        source: Arc<dyn SourceTree>,
    ) -> Result<RenderOutput, PluginError> {
        let Pre::Renderer(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Renderer));
        };
        self.validate_settings(settings)?;
        let _span = info_span!("render", app = %context.app, revision = %context.revision, plugin = %self.name()).entered();
        let mut store = self.store(context.commit_time, Some(source));
        let inst = pre
            .instantiate(&mut store)
            .map_err(|e| self.call_error(&store, e))?;
        let result = inst
            .plumb_plugin_renderer()
            .call_render(
                &mut store,
                &settings.to_string(),
                &to_wit_context!(rb, context),
            )
            .map_err(|e| self.call_error(&store, e))?;
        let out = result.map_err(|d| PluginError::Failed {
            plugin: self.name().to_string(),
            diagnostic: from_wit_diagnostic!(d),
        })?;
        let size: u64 = out.objects.iter().map(|o| o.json.len() as u64).sum::<u64>()
            + out
                .warnings
                .iter()
                .map(|w| w.message.len() as u64)
                .sum::<u64>();
        if size > self.limits.output {
            return Err(PluginError::OutputTooLarge {
                plugin: self.name().to_string(),
                limit: self.limits.output,
                size,
            });
        }
        let reads = std::mem::take(&mut store.data_mut().reads);
        Ok(RenderOutput {
            objects: out
                .objects
                .into_iter()
                .map(|o| (o.json, o.origin))
                .collect(),
            warnings: out
                .warnings
                .into_iter()
                .map(|d| from_wit_diagnostic!(d))
                .collect(),
            reads,
        })
    }

    /// Reviews a whole release with this policy.
    pub fn review(
        &self,
        objects: &[ReviewObject],
        settings: &Value,
        context: &Context,
    ) -> Result<Review, PluginError> {
        self.review_json(&ReviewInput::new(objects), settings, context)
    }

    /// Reviews a whole release, already serialized: several policies judging the same release
    /// share one [`ReviewInput`] instead of each turning every object into JSON again.
    pub fn review_json(
        &self,
        input: &ReviewInput,
        settings: &Value,
        context: &Context,
    ) -> Result<Review, PluginError> {
        let Pre::Policy(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Policy));
        };
        self.validate_settings(settings)?;
        let _span = info_span!("review", app = %context.app, revision = %context.revision, plugin = %self.name()).entered();
        use pb::exports::plumb::plugin::policy as wp;
        let mut store = self.store(context.commit_time, None);
        let inst = pre
            .instantiate(&mut store)
            .map_err(|e| self.call_error(&store, e))?;
        let result = inst
            .plumb_plugin_policy()
            .call_review(
                &mut store,
                &input.objects,
                &settings.to_string(),
                &to_wit_context!(pb, context),
            )
            .map_err(|e| self.call_error(&store, e))?;
        let out = result.map_err(|d| PluginError::Failed {
            plugin: self.name().to_string(),
            diagnostic: from_wit_diagnostic!(d),
        })?;
        let size: u64 = out
            .findings
            .iter()
            .map(|f| f.message.len() as u64)
            .sum::<u64>()
            + out
                .mutations
                .iter()
                .map(|m| m.patch.len() as u64)
                .sum::<u64>();
        if size > self.limits.output {
            return Err(PluginError::OutputTooLarge {
                plugin: self.name().to_string(),
                limit: self.limits.output,
                size,
            });
        }
        let n = input.len() as u32;
        let bad_index = |i: u32| PluginError::InvalidOutput {
            plugin: self.name().to_string(),
            index: i as usize,
            origin: None,
            reason: format!("refers to object {i}, but the release has {n} objects"),
        };
        let mut review = Review::default();
        for f in out.findings {
            if let Some(i) = f.object.filter(|i| *i >= n) {
                return Err(bad_index(i));
            }
            review.findings.push(Finding {
                object: f.object,
                verdict: match f.verdict {
                    wp::Verdict::Allow => Verdict::Allow,
                    wp::Verdict::Warn => Verdict::Warn,
                    wp::Verdict::Deny => Verdict::Deny,
                },
                message: f.message,
                field: f.field,
            });
        }
        for m in out.mutations {
            if m.object >= n {
                return Err(bad_index(m.object));
            }
            let patch = serde_json::from_str(&m.patch).map_err(|e| PluginError::InvalidOutput {
                plugin: self.name().to_string(),
                index: m.object as usize,
                origin: None,
                reason: format!("mutation is not a JSON Patch: {e}"),
            })?;
            review.mutations.push(Mutation {
                object: m.object,
                patch,
                reason: m.reason,
            });
        }
        Ok(review)
    }

    fn wrong_kind(&self, expected: PluginKind) -> PluginError {
        PluginError::WrongKind {
            plugin: self.name().to_string(),
            expected: expected.as_str(),
            actual: self.kind().as_str(),
        }
    }
}

/// The `source` import, served from the call's tree; every path asked for is recorded.
impl rb::plumb::plugin::source::Host for State {
    fn read_file(
        &mut self,
        path: String,
    ) -> Result<Vec<u8>, rb::plumb::plugin::source::SourceError> {
        self.reads.insert(path.clone());
        let tree = self
            .source
            .as_ref()
            .ok_or(source::SourceError::NotFound)
            .map_err(to_wit_source_error)?;
        tree.read_file(&path).map_err(to_wit_source_error)
    }

    fn list_dir(
        &mut self,
        path: String,
    ) -> Result<Vec<rb::plumb::plugin::source::Entry>, rb::plumb::plugin::source::SourceError> {
        use rb::plumb::plugin::source as ws;
        self.reads.insert(path.clone());
        let tree = self
            .source
            .as_ref()
            .ok_or(source::SourceError::NotFound)
            .map_err(to_wit_source_error)?;
        let entries = tree.list_dir(&path).map_err(to_wit_source_error)?;
        Ok(entries
            .into_iter()
            .map(|e| ws::Entry {
                name: e.name,
                kind: to_wit_kind(e.kind),
                size: e.size,
            })
            .collect())
    }

    fn stat(
        &mut self,
        path: String,
    ) -> Result<rb::plumb::plugin::source::EntryKind, rb::plumb::plugin::source::SourceError> {
        self.reads.insert(path.clone());
        let tree = self
            .source
            .as_ref()
            .ok_or(source::SourceError::NotFound)
            .map_err(to_wit_source_error)?;
        tree.stat(&path)
            .map(to_wit_kind)
            .map_err(to_wit_source_error)
    }
}

impl rb::plumb::plugin::types::Host for State {}
impl pb::plumb::plugin::types::Host for State {}

fn to_wit_kind(k: source::EntryKind) -> rb::plumb::plugin::source::EntryKind {
    match k {
        source::EntryKind::File => rb::plumb::plugin::source::EntryKind::File,
        source::EntryKind::Directory => rb::plumb::plugin::source::EntryKind::Directory,
    }
}

fn to_wit_source_error(e: source::SourceError) -> rb::plumb::plugin::source::SourceError {
    use rb::plumb::plugin::source::SourceError as W;
    match e {
        source::SourceError::NotFound => W::NotFound,
        source::SourceError::Denied(s) => W::Denied(s),
        source::SourceError::IsADirectory => W::IsADirectory,
        source::SourceError::NotADirectory => W::NotADirectory,
        source::SourceError::TooLarge(n) => W::TooLarge(n),
        source::SourceError::Io(s) => W::Io(s),
    }
}
