//! JSON as CEL values, converted once per review and shared.
//!
//! The cel crate copies a value whenever it binds it: every element a comprehension visits
//! (`release.exists(o, …)` copies each object in turn), every hoisted variable, every element of
//! a list literal. Its own lists and maps copy deeply, so a rule iterating the release copied
//! whole Kubernetes objects, per object judged.
//!
//! A JSON object or array here is a [`Shared`] node instead: a reference-counted handle whose
//! copy is a pointer copy. A node converts its JSON one level at a time, the first time an
//! expression looks inside it, and keeps the result for every handle, so a review converts each
//! part of each object at most once, and only the parts some expression reads. Underneath is a
//! genuine [`CelMap`] / [`CelList`] (with `Shared` children), so every function, operator and
//! equality of the cel crate treats a node exactly like the built-in value it stands for.
//! Strings borrow the parsed JSON; nothing is copied.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::ExecutionError;
use cel::common::traits::{
    Adder, Comparer, Container, Indexer, Iterable, Sizer, Subtractor, Zeroer,
};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt, Kind,
    LIST_TYPE, MAP_TYPE, Type,
};
use cel::common::value::{Builtin, BuiltinRef, CowVal, Val};
use serde_json::Value;

use crate::functions::SelectorIndex;

/// The types of [`Shared`] nodes: equal to `map` / `list` in every respect (overloads, `type()`,
/// conversions), but at addresses of their own, so that [`Shared::of`] can recognise a node.
static SHARED_MAP: Type = MAP_TYPE;
static SHARED_LIST: Type = LIST_TYPE;

/// A JSON value as a CEL value borrowing its strings from `v`; objects and arrays are
/// [`Shared`] nodes, converted when first looked into. Integral numbers are `int` (or `uint`
/// past i64), as in Kubernetes CEL.
pub fn json(v: &Value) -> Box<dyn Val + '_> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(_) | Value::Object(_) => Box::new(Shared::lazy(v)),
    }
}

/// One level of a JSON object or array, its children as [`json`] values.
fn convert(v: &Value) -> Box<dyn Val + '_> {
    match v {
        Value::Array(a) => Box::new(CelList::from(a.iter().map(json).collect::<Vec<_>>())),
        Value::Object(o) => Box::new(CelMap::from(
            o.iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), json(v)))
                .collect::<HashMap<_, _>>(),
        )),
        _ => json(v),
    }
}

struct Node<'v> {
    /// The JSON this node stands for, when it came from JSON.
    json: Option<&'v Value>,
    /// The converted map or list.
    value: OnceLock<Box<dyn Val + 'v>>,
    kind: Kind,
    /// For a list: its elements indexed by their label selectors, built by the first
    /// `selecting()` over it (see `functions`).
    selectors: OnceLock<SelectorIndex>,
    /// For a map: what a missing key gives instead of an error (`releaseByKind`).
    missing: Option<Box<dyn Val + 'v>>,
}

/// A map or list shared by every copy of it; see the module docs.
pub struct Shared<'v> {
    node: Arc<Node<'v>>,
}

impl std::fmt::Debug for Shared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner().fmt(f)
    }
}

impl<'v> Shared<'v> {
    fn lazy(v: &'v Value) -> Self {
        let kind = if v.is_array() { Kind::List } else { Kind::Map };
        Shared {
            node: Arc::new(Node {
                json: Some(v),
                value: OnceLock::new(),
                kind,
                selectors: OnceLock::new(),
                missing: None,
            }),
        }
    }

    fn built(value: Box<dyn Val + 'v>, kind: Kind, missing: Option<Box<dyn Val + 'v>>) -> Self {
        Shared {
            node: Arc::new(Node {
                json: None,
                value: OnceLock::from(value),
                kind,
                selectors: OnceLock::new(),
                missing,
            }),
        }
    }

    /// A list of `items`, shared.
    pub fn list(items: Vec<Box<dyn Val + 'v>>) -> Self {
        Shared::built(Box::new(CelList::from(items)), Kind::List, None)
    }

    /// A map from string keys to `entries`, shared; looking up a key it lacks gives `missing`
    /// when given, instead of an error.
    pub fn map(
        entries: Vec<(&'v str, Box<dyn Val + 'v>)>,
        missing: Option<Box<dyn Val + 'v>>,
    ) -> Self {
        let map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = entries
            .into_iter()
            .map(|(k, v)| (CelMapKey::from(k), v))
            .collect();
        Shared::built(Box::new(CelMap::from(map)), Kind::Map, missing)
    }

    /// The map or list this node stands for.
    pub fn inner(&self) -> &(dyn Val + 'v) {
        self.node
            .value
            .get_or_init(|| match self.node.json {
                Some(v) => convert(v),
                None => Box::new(CelNull),
            })
            .as_ref()
    }

    /// `v` as a node, when it is one.
    pub fn of<'b>(v: &'b (dyn Val + 'v)) -> Option<&'b Shared<'v>> {
        let t = v.get_type();
        if std::ptr::eq(t, &SHARED_MAP) || std::ptr::eq(t, &SHARED_LIST) {
            // SAFETY: only `Shared::get_type` returns these two private statics, so `v` is a
            // `Shared<'v>`; the cast drops the vtable and keeps the data pointer.
            Some(unsafe { &*(v as *const (dyn Val + 'v) as *const Shared<'v>) })
        } else {
            None
        }
    }

    /// The selector index of this list, built on first use.
    pub fn selectors(&self, build: impl FnOnce() -> SelectorIndex) -> &SelectorIndex {
        self.node.selectors.get_or_init(build)
    }
}

impl<'v> Val for Shared<'v> {
    fn get_type(&self) -> &Type {
        match self.node.kind {
            Kind::List => &SHARED_LIST,
            _ => &SHARED_MAP,
        }
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        // A node's type depends on the node (map or list).
        &SHARED_MAP
    }

    fn as_adder<'b, 'w>(&'b self) -> Option<&'b (dyn Adder + 'w)>
    where
        Self: 'w,
    {
        self.inner().as_adder()
    }

    fn as_comparer(&self) -> Option<&dyn Comparer> {
        self.inner().as_comparer()
    }

    fn as_container(&self) -> Option<&dyn Container> {
        self.inner().as_container()
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        self.inner().as_indexer().map(|_| self as &dyn Indexer)
    }

    fn into_indexer<'w>(self: Box<Self>) -> Option<Box<dyn Indexer + 'w>>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        self.inner().as_iterable()
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        self.inner().as_sizer()
    }

    fn as_subtractor<'b, 'w>(&'b self) -> Option<&'b (dyn Subtractor + 'w)>
    where
        Self: 'w,
    {
        self.inner().as_subtractor()
    }

    fn as_zeroer(&self) -> Option<&dyn Zeroer> {
        self.inner().as_zeroer()
    }

    fn equals(&self, other: &dyn Val) -> bool {
        self.inner().equals(other)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(Shared {
            node: self.node.clone(),
        })
    }

    fn as_builtin<'b, 'w>(&'b self) -> BuiltinRef<'b, 'w>
    where
        Self: 'w,
    {
        self.inner().as_builtin()
    }

    fn into_builtin<'w>(self: Box<Self>) -> Option<Builtin<'w>>
    where
        Self: 'w,
    {
        // The cel crate moves a built-in out of a value it owns; a node's value may be shared,
        // so hand out a copy (one level deep: the children are nodes).
        self.inner().clone_as_boxed().into_builtin()
    }
}

impl<'v> Indexer for Shared<'v> {
    fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let inner = self.inner();
        let indexer = inner.as_indexer().ok_or_else(|| {
            ExecutionError::no_such_overload("_[_]", vec![inner.get_type().name().to_owned()])
        })?;
        match (indexer.get(idx), &self.node.missing) {
            (Err(ExecutionError::NoSuchKey(_)), Some(missing)) => {
                Ok(CowVal::Borrowed(missing.as_ref()))
            }
            (result, _) => result,
        }
    }

    fn steal<'w>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

/// `v[key]` for a map `v`, borrowed.
pub fn field<'b, 'v>(v: &'b (dyn Val + 'v), key: &str) -> Option<&'b (dyn Val + 'v)> {
    let v = Shared::of(v).map_or(v, |s| s.inner());
    let map = v.downcast_ref::<CelMap>()?;
    match map.get(&CelString::from(key)) {
        Ok(CowVal::Borrowed(found)) => Some(found),
        _ => None,
    }
}

/// `v` as a string, when it is one.
pub fn as_str(v: &dyn Val) -> Option<&str> {
    v.downcast_ref::<CelString>().map(|s| s.inner())
}

/// The elements of a list `v`, borrowed.
pub fn elements<'b, 'v>(v: &'b (dyn Val + 'v)) -> Option<&'b [Box<dyn Val + 'v>]> {
    let v = Shared::of(v).map_or(v, |s| s.inner());
    v.downcast_ref::<CelList>().map(|l| l.inner())
}

/// The entries of a map `v`, borrowed.
pub fn entries<'b, 'v>(
    v: &'b (dyn Val + 'v),
) -> Option<&'b HashMap<CelMapKey<'v>, Box<dyn Val + 'v>>> {
    let v = Shared::of(v).map_or(v, |s| s.inner());
    v.downcast_ref::<CelMap>().map(|m| m.inner())
}

/// A string key of a map, as `&str`.
pub fn key_str<'b>(k: &'b CelMapKey<'_>) -> Option<&'b str> {
    match k {
        CelMapKey::String(s) => Some(s.inner()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nodes_behave_like_the_built_in_values_and_copy_cheaply() {
        let doc = json!({"a": {"b": [1, "x", {"c": true}]}, "n": null});
        let v = json(&doc);
        let copy = v.clone();
        let (Some(a), Some(b)) = (Shared::of(v.as_ref()), Shared::of(copy.as_ref())) else {
            panic!("not nodes")
        };
        assert!(Arc::ptr_eq(&a.node, &b.node), "a copy shares the node");
        assert_eq!(v.get_type(), &MAP_TYPE);
        let list = field(field(v.as_ref(), "a").unwrap(), "b").unwrap();
        assert_eq!(list.get_type(), &LIST_TYPE);
        assert_eq!(elements(list).unwrap().len(), 3);
        // Equal to the same value built by the cel crate, both ways round.
        let built = cel::Value::try_from(v.as_ref()).unwrap();
        let boxed: Box<dyn Val> = built.clone().try_into().unwrap();
        assert!(boxed.equals(v.as_ref()));
        assert!(v.equals(boxed.as_ref()));
        assert!(!v.equals(list));
        assert_eq!(cel::Value::try_from(v.as_ref()).unwrap(), built);
    }
}
