//! Plain Rust mirrors of the WIT records, so plugin code never touches generated bindings.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Source;

/// Who a plugin is. The kind comes from the trait it implements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub description: String,
}

impl Metadata {
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Metadata {
            name: name.into(),
            version: version.into(),
            description: description.into(),
        }
    }
}

/// A message tied to a place in the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            ..Default::default()
        }
    }
    /// Names the file at fault.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
    /// Names the 1-based line (and column, when known) at fault.
    pub fn at(mut self, line: u32, column: Option<u32>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// What is being rendered or judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub app: String,
    pub namespace: String,
    /// Path of the app inside the source root, "" for the root.
    pub path: String,
    pub revision: String,
    pub author: Option<String>,
    pub commit_time: Option<i64>,
    pub extra: Vec<(String, String)>,
}

/// One rendered object and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub value: Value,
    pub origin: Option<String>,
}

/// The result of a render.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub warnings: Vec<Diagnostic>,
}

/// A renderer: source files in, Kubernetes objects out.
pub trait Renderer {
    /// The settings this renderer accepts; its JSON Schema is what the host validates against.
    type Settings: DeserializeOwned + JsonSchema;
    fn metadata() -> Metadata;
    fn render(
        settings: Self::Settings,
        ctx: &Context,
        source: &dyn Source,
    ) -> Result<Rendered, Diagnostic>;
}

/// What applying the release does to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// One object of the release under review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewObject {
    pub object: Value,
    pub live: Option<Value>,
    pub operation: Operation,
}

/// The outcome of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Warn,
    Deny,
}

/// One judgement, about one object (by index) or the release as a whole (`object: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub object: Option<u32>,
    pub verdict: Verdict,
    pub message: String,
    pub field: Option<String>,
}

/// A JSON Patch (RFC 6902) the host applies to one object before it is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub object: u32,
    pub patch: Value,
    pub reason: String,
}

/// A policy's answer for a release.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    pub findings: Vec<Finding>,
    pub mutations: Vec<Mutation>,
}

/// A policy: sees the whole release, returns findings and mutations.
pub trait Policy {
    type Settings: DeserializeOwned + JsonSchema;
    fn metadata() -> Metadata;
    fn review(
        objects: &[ReviewObject],
        settings: Self::Settings,
        ctx: &Context,
    ) -> Result<Review, Diagnostic>;
}
