//! Go's `text/template` builtins (`and`, `or`, `not`, `len`, `index`, `print*`, comparisons,
//! `html`/`js`/`urlquery`), with Go's comparison rules: `eq` takes several arguments, integers
//! of any size compare, an int and a float64 do not ("incompatible types for comparison").

use super::{FuncDef, Table, Ty, f, fv};
use crate::gofmt;
use crate::template::exec::Env;
use crate::value::{BasicKind, IntType, MapType, Obj, Value, basic_kind};

type R = Result<Value, String>;

pub(super) fn register(t: &mut Table) {
    t.insert(
        "and",
        FuncDef {
            params: &[Ty::RValue],
            variadic: Some(Ty::RValue),
            call: and_or,
            short_circuit: 1,
        },
    );
    t.insert(
        "or",
        FuncDef {
            params: &[Ty::RValue],
            variadic: Some(Ty::RValue),
            call: and_or,
            short_circuit: 2,
        },
    );
    t.insert(
        "not",
        f(&[Ty::RValue], |_, a, _| Ok(Value::Bool(!a[0].truth()))),
    );
    t.insert("len", f(&[Ty::RValue], len));
    t.insert("index", fv(&[Ty::RValue], Ty::RValue, index));
    t.insert(
        "print",
        fv(&[], Ty::Any, |_, a, _| Ok(Value::str(gofmt::sprint(&a)))),
    );
    t.insert(
        "println",
        fv(&[], Ty::Any, |_, a, _| Ok(Value::str(gofmt::sprintln(&a)))),
    );
    t.insert(
        "printf",
        fv(&[Ty::Str], Ty::Any, |_, a, _| {
            Ok(Value::str(gofmt::sprintf(
                a[0].as_str().unwrap_or(""),
                &a[1..],
            )))
        }),
    );
    t.insert(
        "html",
        fv(&[], Ty::Any, |_, a, _| {
            Ok(Value::str(html_escape(&eval_args(&a))))
        }),
    );
    t.insert(
        "js",
        fv(&[], Ty::Any, |_, a, _| {
            Ok(Value::str(js_escape(&eval_args(&a))))
        }),
    );
    t.insert(
        "urlquery",
        fv(&[], Ty::Any, |_, a, _| {
            Ok(Value::str(query_escape(&eval_args(&a))))
        }),
    );
    t.insert("eq", fv(&[Ty::RValue], Ty::RValue, eq));
    t.insert(
        "ne",
        f(&[Ty::RValue, Ty::RValue], |_, a, _| {
            Ok(Value::Bool(!eq_pair(&a[0], &[a[1].clone()])?))
        }),
    );
    t.insert(
        "lt",
        f(&[Ty::RValue, Ty::RValue], |_, a, _| {
            Ok(Value::Bool(lt(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "le",
        f(&[Ty::RValue, Ty::RValue], |_, a, _| {
            Ok(Value::Bool(le(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "gt",
        f(&[Ty::RValue, Ty::RValue], |_, a, _| {
            Ok(Value::Bool(!le(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "ge",
        f(&[Ty::RValue, Ty::RValue], |_, a, _| {
            Ok(Value::Bool(!lt(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "call",
        fv(&[Ty::RValue], Ty::RValue, |_, a, _| {
            Err(format!(
                "non-function {} of type {}",
                gofmt::sprint_v(&a[0]),
                a[0].type_name()
            ))
        }),
    );
}

fn and_or(_: &mut Env, _: Vec<Value>, _: Option<Value>) -> R {
    // Evaluated lazily by the executor; never called.
    Ok(Value::Invalid)
}

fn len(_: &mut Env, a: Vec<Value>, _: Option<Value>) -> R {
    match &a[0] {
        Value::Invalid => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::Nil => Err("len of nil pointer".into()),
        v => match v.len() {
            Some(n) => Ok(Value::int(n as i64)),
            None => Err(format!("len of type {}", v.type_name())),
        },
    }
}

fn index_arg(idx: &Value, cap: usize) -> Result<usize, String> {
    let x = match idx {
        Value::Int(i, _) => *i,
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as usize > cap {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(_: &mut Env, a: Vec<Value>, _: Option<Value>) -> R {
    let mut item = a[0].clone();
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    for idx in &a[1..] {
        let idx = if matches!(idx, Value::Nil) {
            Value::Invalid
        } else {
            idx.clone()
        };
        item = match &item {
            Value::Invalid | Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l, _) => {
                let x = index_arg(&idx, l.len())?;
                if x >= l.len() {
                    return Err(format!("reflect: slice index out of range: {x}"));
                }
                l[x].clone()
            }
            Value::Bytes(b) => {
                let x = index_arg(&idx, b.len())?;
                b.get(x)
                    .map(|c| Value::Int(*c as i64, IntType::Uint8))
                    .ok_or_else(|| "reflect: slice index out of range".to_string())?
            }
            Value::Str(s) => {
                let x = index_arg(&idx, s.len())?;
                s.as_bytes()
                    .get(x)
                    .map(|c| Value::Int(*c as i64, IntType::Uint8))
                    .ok_or_else(|| "reflect: string index out of range".to_string())?
            }
            Value::Map(m, t) => {
                let key = match &idx {
                    Value::Str(s) => s.to_string(),
                    Value::Invalid => return Err("value is nil; should be of type string".into()),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                let v = m.borrow().get(&key).cloned();
                match v {
                    Some(v) => v,
                    None if *t == MapType::Str => Value::str(""),
                    None => Value::Nil,
                }
            }
            Value::Obj(o) if matches!(&**o, Obj::Files(_)) => {
                let Obj::Files(files) = &**o else {
                    return Err("internal error: not a files map".into());
                };
                let key = match &idx {
                    Value::Str(s) => s.to_string(),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                files
                    .get_bytes(&key)
                    .map(Value::Bytes)
                    .unwrap_or(Value::Nil)
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn eval_args(a: &[Value]) -> String {
    if a.len() == 1
        && let Value::Str(s) = &a[0]
    {
        return s.to_string();
    }
    gofmt::sprint(a)
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn eq(_: &mut Env, a: Vec<Value>, _: Option<Value>) -> R {
    Ok(Value::Bool(eq_pair(&a[0], &a[1..])?))
}

pub(crate) fn eq_pair(a1: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a1);
    for a in rest {
        let k2 = basic_kind(a);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (BasicKind::Int, BasicKind::Uint) | (BasicKind::Uint, BasicKind::Int) => {
                    int_of(a1) == int_of(a) && int_of(a1) >= 0
                }
                _ => {
                    if !a1.is_nil() && !a.is_nil() {
                        return Err(format!(
                            "incompatible types for comparison: {} and {}",
                            a1.type_name(),
                            a.type_name()
                        ));
                    }
                    false
                }
            }
        } else {
            match (a1, a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Int(..), Value::Int(..)) => int_of(a1) == int_of(a),
                (Value::Str(x), Value::Str(y)) => x == y,
                _ if k1 == BasicKind::Invalid => true,
                _ => {
                    if a1.type_name() != a.type_name() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            gofmt::sprint_v(a1),
                            a1.type_name(),
                            a.type_name(),
                            gofmt::sprint_v(a)
                        ));
                    }
                    match (a1, a) {
                        (Value::Obj(x), Value::Obj(y)) => std::rc::Rc::ptr_eq(x, y),
                        _ => {
                            return Err(format!(
                                "non-comparable type {}: {}",
                                gofmt::sprint_v(a),
                                a.type_name()
                            ));
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn int_of(v: &Value) -> i128 {
    match v {
        Value::Int(i, IntType::Uint64) => (*i as u64) as i128,
        Value::Int(i, _) => *i as i128,
        _ => 0,
    }
}

fn lt(a1: &Value, a2: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a1);
    if matches!(k1, BasicKind::Invalid | BasicKind::Other) {
        return Err("invalid type for comparison".into());
    }
    let k2 = basic_kind(a2);
    if matches!(k2, BasicKind::Invalid | BasicKind::Other) {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (BasicKind::Int, BasicKind::Uint) | (BasicKind::Uint, BasicKind::Int) => {
                Ok(int_of(a1) < int_of(a2))
            }
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                a1.type_name(),
                a2.type_name()
            )),
        };
    }
    match (a1, a2) {
        (Value::Bool(_), _) => Err("invalid type for comparison".into()),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Int(..), Value::Int(..)) => Ok(int_of(a1) < int_of(a2)),
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        _ => Err("invalid type for comparison".into()),
    }
}

fn le(a1: &Value, a2: &Value) -> Result<bool, String> {
    if lt(a1, a2)? {
        return Ok(true);
    }
    eq_pair(a1, std::slice::from_ref(a2))
}
