//! Sprig's dictionary functions. `set`, `unset`, `merge` and `mergeOverwrite` change the map
//! they are given (Go maps are references), which charts rely on.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::conv::strval;
use super::{Table, Ty, arg_str, f, fv};
use crate::value::{MapRef, Value};

type R = Result<Value, String>;

fn map_arg(v: &Value) -> MapRef {
    match v.as_table() {
        Some(m) => m.clone(),
        None => Rc::new(std::cell::RefCell::new(BTreeMap::new())),
    }
}

pub(super) fn register(t: &mut Table) {
    use Ty::*;
    t.insert(
        "dict",
        fv(&[], Any, |_, a, _| {
            let mut m = BTreeMap::new();
            let mut i = 0;
            while i < a.len() {
                let k = strval(&a[i]);
                let v = a.get(i + 1).cloned().unwrap_or_else(|| Value::str(""));
                m.insert(k, v);
                i += 2;
            }
            Ok(Value::new_map(m))
        }),
    );
    t.insert(
        "get",
        f(&[MapAny, Str], |_, a, _| {
            Ok(map_arg(&a[0])
                .borrow()
                .get(arg_str(&a, 1))
                .cloned()
                .unwrap_or_else(|| Value::str("")))
        }),
    );
    t.insert(
        "set",
        f(&[MapAny, Str, Any], |_, a, _| {
            let m = map_arg(&a[0]);
            m.borrow_mut()
                .insert(arg_str(&a, 1).to_string(), a[2].clone());
            Ok(a[0].clone())
        }),
    );
    t.insert(
        "unset",
        f(&[MapAny, Str], |_, a, _| {
            map_arg(&a[0]).borrow_mut().remove(arg_str(&a, 1));
            Ok(a[0].clone())
        }),
    );
    t.insert(
        "hasKey",
        f(&[MapAny, Str], |_, a, _| {
            Ok(Value::Bool(
                map_arg(&a[0]).borrow().contains_key(arg_str(&a, 1)),
            ))
        }),
    );
    t.insert(
        "pluck",
        fv(&[Str], MapAny, |_, a, _| {
            let key = arg_str(&a, 0);
            let out: Vec<Value> = a[1..]
                .iter()
                .filter_map(|d| map_arg(d).borrow().get(key).cloned())
                .collect();
            Ok(Value::list(out))
        }),
    );
    t.insert(
        "keys",
        fv(&[], MapAny, |_, a, _| {
            let mut out = Vec::new();
            for d in &a {
                out.extend(map_arg(d).borrow().keys().cloned());
            }
            Ok(Value::str_list(out))
        }),
    );
    t.insert(
        "values",
        f(&[MapAny], |_, a, _| {
            Ok(Value::list(
                map_arg(&a[0]).borrow().values().cloned().collect(),
            ))
        }),
    );
    t.insert(
        "pick",
        fv(&[MapAny], Str, |_, a, _| {
            let src = map_arg(&a[0]);
            let src = src.borrow();
            let mut out = BTreeMap::new();
            for k in &a[1..] {
                let k = k.as_str().unwrap_or("");
                if let Some(v) = src.get(k) {
                    out.insert(k.to_string(), v.clone());
                }
            }
            Ok(Value::new_map(out))
        }),
    );
    t.insert(
        "omit",
        fv(&[MapAny], Str, |_, a, _| {
            let src = map_arg(&a[0]);
            let omit: Vec<&str> = a[1..].iter().map(|k| k.as_str().unwrap_or("")).collect();
            let out = src
                .borrow()
                .iter()
                .filter(|(k, _)| !omit.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Value::new_map(out))
        }),
    );
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        let call: super::Call = if overwrite {
            |_, a, _| {
                let dst = map_arg(&a[0]);
                for s in &a[1..] {
                    deep_merge(&dst, &map_arg(s), true);
                }
                Ok(a[0].clone())
            }
        } else {
            |_, a, _| {
                let dst = map_arg(&a[0]);
                for s in &a[1..] {
                    deep_merge(&dst, &map_arg(s), false);
                }
                Ok(a[0].clone())
            }
        };
        t.insert(name, fv(&[MapAny], MapAny, call));
    }
    t.insert("dig", fv(&[], Any, dig));
    for name in ["deepCopy", "mustDeepCopy"] {
        t.insert(name, f(&[Any], |_, a, _| Ok(a[0].deep_copy())));
    }
}

/// Go's panic text for a failed type assertion `v.(want)` on an `interface{}`.
fn conversion_error(v: &Value, want: &str) -> String {
    let is = if v.is_nil() {
        "nil".to_string()
    } else {
        v.type_name()
    };
    format!("interface conversion: interface {{}} is {is}, not {want}")
}

const GO_DICT: &str = "map[string]interface {}";

fn dig(_: &mut crate::template::exec::Env, a: Vec<Value>, _: Option<Value>) -> R {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let as_dict = |v: &Value| match v {
        Value::Map(m, crate::value::MapType::Any) => Ok(m.clone()),
        other => Err(conversion_error(other, GO_DICT)),
    };
    let mut cur = as_dict(&a[a.len() - 1])?;
    let def = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::Str(s) => keys.push(s.to_string()),
            other => return Err(conversion_error(other, "string")),
        }
    }
    for (i, k) in keys.iter().enumerate() {
        let step = cur.borrow().get(k).cloned();
        let Some(step) = step else { return Ok(def) };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        cur = as_dict(&step)?;
    }
    Ok(def)
}

/// mergo's `Merge`/`MergeWithOverwrite` on `map[string]interface{}`, as Sprig calls them.
pub fn deep_merge(dst: &MapRef, src: &MapRef, overwrite: bool) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, sv) in entries {
        let dv = dst.borrow().get(&key).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        match (&sv, &dv) {
            (Value::Map(sm, _), Some(Value::Map(dm, _))) => {
                deep_merge(dm, sm, overwrite);
            }
            (Value::List(..), _) if overwrite => {
                dst.borrow_mut().insert(key.clone(), sv.clone());
            }
            _ => {}
        }
        if let Some(d) = &dv
            && d.truth()
        {
            if matches!(sv, Value::List(..)) {
                continue;
            }
            if matches!(sv, Value::Map(..)) && matches!(d, Value::Map(..)) {
                continue;
            }
        }
        if overwrite || dv.as_ref().is_none_or(|d| !d.truth()) {
            // A map merged into an empty map stays that (now filled) map.
            if let (Value::Map(..), Some(Value::Map(dm, _))) = (&sv, &dv)
                && !dm.borrow().is_empty()
            {
                continue;
            }
            dst.borrow_mut().insert(key, sv);
        }
    }
}
