//! go-yaml v2 as `sigs.k8s.io/yaml` uses it, shared by plumb (kustomize's output, natively) and
//! its Helm renderer (`toYaml`, in wasm): one port of the emitter, the plain-scalar resolver
//! and the key order, so both stay byte-identical with the Go tools.
//!
//! Callers convert their values to a [`Node`] (numbers already printed as Go prints them, map
//! entries sorted with [`sort_entries`]) and write it with [`emit`].

mod emit;
mod order;
mod resolve;

pub use emit::{Options, emit};
pub use order::{key_less, sort_entries};
pub use resolve::{Resolved, is_base60_float, needs_quotes, resolve};

/// A value as the emitter sees it: what go-yaml v2 holds after reading JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// A number already printed (`1000`, `1e+21`, `.inf`): written plain.
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in the order they are written.
    Map(Vec<(String, Node)>),
}
