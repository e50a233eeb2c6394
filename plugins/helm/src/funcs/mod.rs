//! The template functions: Go's builtins, Sprig's functions and Helm's own, each with its Go
//! signature (parameter types decide which arguments Go accepts and how literals convert).

mod builtin;
mod conv;
mod dicts;
mod helm;
mod lists;
mod math;
mod misc;
mod strings;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

pub use conv::strval;
pub use helm::{WARN_END, WARN_START};
pub(crate) use strings::path_clean;

use crate::template::exec::Env;
use crate::value::{ListType, Obj, Value};

/// A Go parameter type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// No type at all (a chained receiver): nil stays "no value".
    Untyped,
    /// `interface{}`
    Any,
    /// `reflect.Value` (Go's builtins): passes values as they are, "no value" included.
    RValue,
    Str,
    Int,
    F64,
    Bool,
    MapAny,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Untyped | Ty::Any => "interface {}",
            Ty::RValue => "reflect.Value",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::F64 => "float64",
            Ty::Bool => "bool",
            Ty::MapAny => "map[string]interface {}",
        }
    }

    pub fn can_be_nil(self) -> bool {
        matches!(self, Ty::Untyped | Ty::Any | Ty::RValue | Ty::MapAny)
    }

    /// The zero value of a nil-able type.
    pub fn zero(self) -> Value {
        match self {
            Ty::MapAny => Value::empty_map(),
            Ty::RValue => Value::Invalid,
            _ => Value::Nil,
        }
    }
}

/// The Rust side of a template function: the arguments (already converted), and the receiver
/// for methods. An `Err` becomes Go's `error calling NAME: …`.
pub type Call = fn(&mut Env, Vec<Value>, Option<Value>) -> Result<Value, String>;

pub struct FuncDef {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub call: Call,
    /// 1 for `and`, 2 for `or`: arguments are evaluated lazily.
    pub short_circuit: u8,
}

pub(crate) const fn f(params: &'static [Ty], call: Call) -> FuncDef {
    FuncDef {
        params,
        variadic: None,
        call,
        short_circuit: 0,
    }
}

pub(crate) const fn fv(params: &'static [Ty], variadic: Ty, call: Call) -> FuncDef {
    FuncDef {
        params,
        variadic: Some(variadic),
        call,
        short_circuit: 0,
    }
}

type Table = HashMap<&'static str, FuncDef>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table::new();
        builtin::register(&mut t);
        strings::register(&mut t);
        lists::register(&mut t);
        dicts::register(&mut t);
        math::register(&mut t);
        misc::register(&mut t);
        helm::register(&mut t);
        t
    })
}

pub fn lookup(name: &str) -> Option<&'static FuncDef> {
    table().get(name)
}

/// Whether a function exists (Go checks function names at parse time).
pub fn exists(name: &str) -> bool {
    table().contains_key(name)
}

/// A method of the receiver's type, if it has one of that name.
pub fn method(recv: &Value, name: &str) -> Option<FuncDef> {
    match recv {
        Value::List(_, ListType::VersionSet) if name == "Has" => {
            Some(f(&[Ty::Str], helm::version_set_has))
        }
        Value::Obj(o) => match &**o {
            Obj::Files(_) => crate::files::method(name),
            Obj::KubeVersion(_) => match name {
                "String" | "GitVersion" => Some(f(&[], helm::kube_version_string)),
                _ => None,
            },
            Obj::SemVer(_) => misc::semver_method(name),
            _ => None,
        },
        _ => None,
    }
}

/// An exported struct field of an object.
pub fn object_field(o: &Rc<Obj>, name: &str) -> Option<Value> {
    match &**o {
        Obj::Caps(c) => match name {
            "KubeVersion" => Some(Value::Obj(c.kube_version.clone())),
            "APIVersions" => Some(Value::List(c.api_versions.clone(), ListType::VersionSet)),
            "HelmVersion" => Some(Value::Obj(Rc::new(Obj::HelmVersion))),
            _ => None,
        },
        Obj::KubeVersion(k) => match name {
            "Version" => Some(Value::str(k.version.as_str())),
            "Major" => Some(Value::str(k.major.as_str())),
            "Minor" => Some(Value::str(k.minor.as_str())),
            _ => None,
        },
        Obj::HelmVersion => match name {
            "Version" => Some(Value::str(crate::value::HELM_VERSION)),
            "GitCommit" => Some(Value::str(crate::value::HELM_GIT_COMMIT)),
            "GitTreeState" => Some(Value::str("clean")),
            "GoVersion" => Some(Value::str(crate::value::HELM_GO_VERSION)),
            "KubeClientVersion" => Some(Value::str(crate::value::HELM_KUBE_CLIENT_VERSION)),
            _ => None,
        },
        _ => None,
    }
}

/// Argument accessors for function bodies (arity is checked before the call).
pub(crate) fn arg_str(a: &[Value], i: usize) -> &str {
    a.get(i).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn arg_int(a: &[Value], i: usize) -> i64 {
    match a.get(i) {
        Some(Value::Int(n, _)) => *n,
        Some(Value::Float(f)) => *f as i64,
        _ => 0,
    }
}
