//! Values as Go's `text/template` sees them in Helm.
//!
//! Helm hands templates Go values of a handful of dynamic types (`map[string]interface{}`,
//! `[]interface{}`, `float64` from YAML, `int` from template literals, `int64` from Sprig's
//! arithmetic, `[]string` from `splitList`, …). Those types decide what is printed, what `eq`
//! accepts, what `typeOf`/`kindIs` report and which function arguments are accepted, so the
//! engine keeps them: a [`Value`] is a Go value together with enough of its static type.
//!
//! Maps are shared and mutable (`Rc<RefCell<…>>`) because Go maps are references: `set`,
//! `unset` and `mergeOverwrite` change the map every holder sees, and charts rely on that (a
//! helper that `set`s a key on `.Values` changes what later templates read). Slices are
//! immutable: no Sprig function writes into a slice in place.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::semver::Version;

/// A shared Go map with string keys. `BTreeMap` keeps keys in byte order, which is the order
/// Go's `range` and `fmt` use for string keys.
pub type MapRef = Rc<RefCell<BTreeMap<String, Value>>>;

/// Which Go integer type an integer has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntType {
    Int,
    Int64,
    Int32,
    Uint8,
    Uint64,
}

/// Which Go slice type a list has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// `[]interface {}`
    Any,
    /// `[]string`
    Str,
    /// `[]int`
    Int,
    /// `common.VersionSet` (`.Capabilities.APIVersions`), a `[]string` with a `Has` method.
    VersionSet,
}

/// Which Go map type a map has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// `map[string]interface {}`
    Any,
    /// `map[string]string`
    Str,
    /// `common.Values` (`.Values`, `.Template`)
    Values,
}

/// A Go value.
#[derive(Clone, Debug)]
pub enum Value {
    /// The zero `reflect.Value`: "no value". Printed as `<no value>` (Helm then removes that).
    Invalid,
    /// A nil `interface{}` (a missing map key under `missingkey=zero`, a YAML `null`).
    Nil,
    Bool(bool),
    Int(i64, IntType),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<[Value]>, ListType),
    Map(MapRef, MapType),
    Obj(Rc<Obj>),
}

/// Go structs and named types with methods that templates can reach.
#[derive(Debug)]
pub enum Obj {
    /// `*common.Capabilities`
    Caps(Caps),
    /// `common.KubeVersion`
    KubeVersion(KubeVersion),
    /// `version.BuildInfo`
    HelmVersion,
    /// `engine.files`: the chart's non-template files, with `Get`, `Glob`, …
    Files(crate::files::Files),
    /// `*semver.Version` from Sprig's `semver`
    SemVer(Version),
    /// `time.Time` (UTC) from `now`/`toDate`: seconds and nanoseconds since the Unix epoch.
    Time(i64, u32),
}

/// `.Capabilities`
#[derive(Debug)]
pub struct Caps {
    pub kube_version: Rc<Obj>,
    pub api_versions: Rc<[Value]>,
}

/// `.Capabilities.KubeVersion`
#[derive(Debug, Clone)]
pub struct KubeVersion {
    pub version: String,
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

/// Helm 4.1.4's build information, as `.Capabilities.HelmVersion` reports it.
pub const HELM_VERSION: &str = "v4.1.4";
pub const HELM_GIT_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
pub const HELM_GO_VERSION: &str = "go1.25.9";
pub const HELM_KUBE_CLIENT_VERSION: &str = "v1.35";

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn int(i: i64) -> Value {
        Value::Int(i, IntType::Int)
    }

    pub fn int64(i: i64) -> Value {
        Value::Int(i, IntType::Int64)
    }

    pub fn new_map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(m)), MapType::Any)
    }

    pub fn empty_map() -> Value {
        Value::new_map(BTreeMap::new())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(items.into(), ListType::Any)
    }

    pub fn str_list(items: Vec<String>) -> Value {
        Value::List(
            items.into_iter().map(Value::str).collect::<Vec<_>>().into(),
            ListType::Str,
        )
    }

    /// `true` for the zero reflect value and nil interfaces.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Invalid | Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&MapRef> {
        match self {
            Value::Map(m, _) => Some(m),
            _ => None,
        }
    }

    /// A map of type `map[string]interface{}` or `common.Values` (what Helm's type assertions
    /// to `map[string]interface{}` accept).
    pub fn as_table(&self) -> Option<&MapRef> {
        match self {
            Value::Map(m, MapType::Any | MapType::Values) => Some(m),
            _ => None,
        }
    }

    /// Go's `reflect.Type.String()` of the value (`%T`, Sprig's `typeOf`).
    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid | Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_, t) => int_type_name(*t).into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(_, t) => match t {
                ListType::Any => "[]interface {}",
                ListType::Str => "[]string",
                ListType::Int => "[]int",
                ListType::VersionSet => "common.VersionSet",
            }
            .into(),
            Value::Map(_, t) => match t {
                MapType::Any => "map[string]interface {}",
                MapType::Str => "map[string]string",
                MapType::Values => "common.Values",
            }
            .into(),
            Value::Obj(o) => match &**o {
                Obj::Caps(_) => "*common.Capabilities",
                Obj::KubeVersion(_) => "common.KubeVersion",
                Obj::HelmVersion => "version.BuildInfo",
                Obj::Files(_) => "engine.files",
                Obj::SemVer(_) => "*semver.Version",
                Obj::Time(..) => "time.Time",
            }
            .into(),
        }
    }

    /// Go's `reflect.Kind.String()` (Sprig's `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_, t) => int_type_name(*t),
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Bytes(_) | Value::List(..) => "slice",
            Value::Map(..) => "map",
            Value::Obj(o) => match &**o {
                Obj::Caps(_) | Obj::SemVer(_) => "ptr",
                Obj::KubeVersion(_) | Obj::HelmVersion | Obj::Time(..) => "struct",
                Obj::Files(_) => "map",
            },
        }
    }

    /// Go's `text/template` truth (`isTrue`): empty collections, zero numbers, nil are false;
    /// structs are always true.
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m, _) => !m.borrow().is_empty(),
            Value::Obj(o) => match &**o {
                Obj::Files(f) => !f.is_empty(),
                _ => true,
            },
        }
    }

    /// The number of elements for `len` (arrays, maps, slices, strings).
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::Str(s) => Some(s.len()),
            Value::Bytes(b) => Some(b.len()),
            Value::List(l, _) => Some(l.len()),
            Value::Map(m, _) => Some(m.borrow().len()),
            Value::Obj(o) => match &**o {
                Obj::Files(f) => Some(f.len()),
                _ => None,
            },
            _ => None,
        }
    }

    /// A deep copy: new maps all the way down (Sprig's `deepCopy`, and values that must not
    /// share maps with the chart's defaults).
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(m, t) => {
                let copied: BTreeMap<String, Value> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                Value::Map(Rc::new(RefCell::new(copied)), *t)
            }
            Value::List(l, t) => Value::List(
                l.iter().map(Value::deep_copy).collect::<Vec<_>>().into(),
                *t,
            ),
            other => other.clone(),
        }
    }

    /// The elements of a slice value (lists and `[]byte`).
    pub fn list_items(&self) -> Option<Vec<Value>> {
        match self {
            Value::List(l, _) => Some(l.to_vec()),
            Value::Bytes(b) => Some(
                b.iter()
                    .map(|x| Value::Int(*x as i64, IntType::Uint8))
                    .collect(),
            ),
            _ => None,
        }
    }
}

pub fn int_type_name(t: IntType) -> &'static str {
    match t {
        IntType::Int => "int",
        IntType::Int64 => "int64",
        IntType::Int32 => "int32",
        IntType::Uint8 => "uint8",
        IntType::Uint64 => "uint64",
    }
}

/// Go's reflect.DeepEqual over our values (Sprig's `deepEqual`, `has`, `without`, `uniq`).
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Invalid | Value::Nil, Value::Invalid | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, tx), Value::Int(y, ty)) => tx == ty && x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x, tx), Value::List(y, ty)) => {
            tx == ty && x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| deep_equal(a, b))
        }
        (Value::Map(x, tx), Value::Map(y, ty)) => {
            if tx != ty {
                return false;
            }
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Obj(x), Value::Obj(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// Kinds Go's comparison functions distinguish (`basicKind`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BasicKind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

pub fn basic_kind(v: &Value) -> BasicKind {
    match v {
        Value::Invalid | Value::Nil => BasicKind::Invalid,
        Value::Bool(_) => BasicKind::Bool,
        Value::Int(_, IntType::Uint8 | IntType::Uint64) => BasicKind::Uint,
        Value::Int(..) => BasicKind::Int,
        Value::Float(_) => BasicKind::Float,
        Value::Str(_) => BasicKind::Str,
        _ => BasicKind::Other,
    }
}
