//! Sprig's list functions. They accept any slice (via reflection in Go) and return
//! `[]interface{}`; a non-slice panics in Go ("Cannot find first on type string"), which the
//! template engine reports as an error.

use std::rc::Rc;

use super::conv::to_int64;
use super::{Table, Ty, arg_int, f, fv};
use crate::value::{ListType, Value, deep_equal};

type R = Result<Value, String>;

/// The elements of a slice argument, or Go's panic message for `what`.
fn items(v: &Value, what: &str) -> Result<Vec<Value>, String> {
    match v {
        Value::Invalid | Value::Nil => {
            Err("runtime error: invalid memory address or nil pointer dereference".into())
        }
        other => other
            .list_items()
            .ok_or_else(|| format!("Cannot {what} on type {}", other.kind_name())),
    }
}

fn list_of(v: Vec<Value>) -> R {
    Ok(Value::List(Rc::from(v), ListType::Any))
}

pub(super) fn register(t: &mut Table) {
    use Ty::*;
    t.insert("list", fv(&[], Any, |_, a, _| list_of(a)));
    t.insert("tuple", fv(&[], Any, |_, a, _| list_of(a)));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        t.insert(
            name,
            f(&[Any, Any], |_, a, _| {
                let mut l = items(&a[0], "push")?;
                l.push(a[1].clone());
                list_of(l)
            }),
        );
    }
    for name in ["prepend", "mustPrepend"] {
        t.insert(
            name,
            f(&[Any, Any], |_, a, _| {
                let mut l = items(&a[0], "prepend")?;
                l.insert(0, a[1].clone());
                list_of(l)
            }),
        );
    }
    for name in ["first", "mustFirst"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                Ok(items(&a[0], "find first")?
                    .first()
                    .cloned()
                    .unwrap_or(Value::Nil))
            }),
        );
    }
    for name in ["last", "mustLast"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                Ok(items(&a[0], "find last")?
                    .last()
                    .cloned()
                    .unwrap_or(Value::Nil))
            }),
        );
    }
    for name in ["rest", "mustRest"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                let l = items(&a[0], "find rest")?;
                if l.is_empty() {
                    return Ok(Value::Nil);
                }
                list_of(l[1..].to_vec())
            }),
        );
    }
    for name in ["initial", "mustInitial"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                let l = items(&a[0], "find initial")?;
                if l.is_empty() {
                    return Ok(Value::Nil);
                }
                list_of(l[..l.len() - 1].to_vec())
            }),
        );
    }
    for name in ["reverse", "mustReverse"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                let mut l = items(&a[0], "find reverse")?;
                l.reverse();
                list_of(l)
            }),
        );
    }
    for name in ["uniq", "mustUniq"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                let l = items(&a[0], "find uniq")?;
                let mut out: Vec<Value> = Vec::new();
                for x in l {
                    if !out.iter().any(|y| deep_equal(y, &x)) {
                        out.push(x);
                    }
                }
                list_of(out)
            }),
        );
    }
    for name in ["compact", "mustCompact"] {
        t.insert(
            name,
            f(&[Any], |_, a, _| {
                let l = items(&a[0], "compact")?;
                list_of(l.into_iter().filter(Value::truth).collect())
            }),
        );
    }
    for name in ["without", "mustWithout"] {
        t.insert(
            name,
            fv(&[Any], Any, |_, a, _| {
                let l = items(&a[0], "find without")?;
                let omit = &a[1..];
                list_of(
                    l.into_iter()
                        .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
                        .collect(),
                )
            }),
        );
    }
    for name in ["has", "mustHas"] {
        t.insert(
            name,
            f(&[Any, Any], |_, a, _| {
                if a[1].is_nil() {
                    return Ok(Value::Bool(false));
                }
                let l = items(&a[1], "find has")?;
                Ok(Value::Bool(l.iter().any(|x| deep_equal(&a[0], x))))
            }),
        );
    }
    for name in ["slice", "mustSlice"] {
        t.insert(
            name,
            fv(&[Any], Any, |_, a, _| {
                let l = match &a[0] {
                    Value::Invalid | Value::Nil => {
                        return Err(
                            "runtime error: invalid memory address or nil pointer dereference"
                                .into(),
                        );
                    }
                    Value::List(..) | Value::Bytes(_) => a[0].list_items().unwrap_or_default(),
                    other => {
                        return Err(format!(
                            "list should be type of slice or array but {}",
                            other.kind_name()
                        ));
                    }
                };
                if l.is_empty() {
                    return Ok(Value::Nil);
                }
                let start = a.get(1).map(to_int64).unwrap_or(0);
                let end = if a.len() < 3 {
                    l.len() as i64
                } else {
                    to_int64(&a[2])
                };
                if start < 0 || end < start || end as usize > l.len() {
                    return Err(format!("reflect: slice index out of range [{start}:{end}]"));
                }
                let part = l[start as usize..end as usize].to_vec();
                match &a[0] {
                    Value::List(_, t) => Ok(Value::List(Rc::from(part), *t)),
                    _ => list_of(part),
                }
            }),
        );
    }
    t.insert(
        "concat",
        fv(&[], Any, |_, a, _| {
            let mut out = Vec::new();
            for l in &a {
                match l {
                    Value::List(..) | Value::Bytes(_) => {
                        out.extend(l.list_items().unwrap_or_default())
                    }
                    Value::Invalid | Value::Nil => {
                        return Err(
                            "runtime error: invalid memory address or nil pointer dereference"
                                .into(),
                        );
                    }
                    other => {
                        return Err(format!("Cannot concat type {} as list", other.kind_name()));
                    }
                }
            }
            list_of(out)
        }),
    );
    for name in ["chunk", "mustChunk"] {
        t.insert(
            name,
            f(&[Int, Any], |_, a, _| {
                let size = arg_int(&a, 0);
                let l = items(&a[1], "chunk")?;
                if size <= 0 {
                    return Err("runtime error: integer divide by zero".into());
                }
                let chunks: Vec<Value> = l
                    .chunks(size as usize)
                    .map(|c| Value::list(c.to_vec()))
                    .collect();
                list_of(chunks)
            }),
        );
    }
    t.insert(
        "until",
        f(&[Int], |_, a, _| {
            let n = arg_int(&a, 0);
            Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })))
        }),
    );
    t.insert(
        "untilStep",
        f(&[Int, Int, Int], |_, a, _| {
            Ok(int_list(until_step(
                arg_int(&a, 0),
                arg_int(&a, 1),
                arg_int(&a, 2),
            )))
        }),
    );
    t.insert(
        "seq",
        fv(&[], Int, |_, a, _| {
            Ok(Value::str(seq(&a
                .iter()
                .map(|v| arg_int(std::slice::from_ref(v), 0))
                .collect::<Vec<_>>())))
        }),
    );
}

fn int_list(v: Vec<i64>) -> Value {
    Value::List(
        v.into_iter().map(Value::int).collect::<Vec<_>>().into(),
        ListType::Int,
    )
}

/// Sprig's `untilStep`, with a cap so a template cannot exhaust memory.
fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    const CAP: usize = 10_000_000;
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return v;
        }
        let mut i = start;
        while i > stop && v.len() < CAP {
            v.push(i);
            i += step;
        }
        return v;
    }
    if step <= 0 {
        return v;
    }
    let mut i = start;
    while i < stop && v.len() < CAP {
        v.push(i);
        i += step;
    }
    v
}

fn seq(p: &[i64]) -> String {
    let join = |v: Vec<i64>| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
    match p.len() {
        1 => {
            let (start, end) = (1, p[0]);
            let inc = if end < start { -1 } else { 1 };
            join(until_step(start, end + inc, inc))
        }
        2 => {
            let (start, end) = (p[0], p[1]);
            let step = if end < start { -1 } else { 1 };
            join(until_step(start, end + step, step))
        }
        3 => {
            let (start, step, end) = (p[0], p[1], p[2]);
            let inc;
            if end < start {
                inc = -1;
                if step > 0 {
                    return String::new();
                }
            } else {
                inc = 1;
                if step < 0 {
                    return String::new();
                }
            }
            join(until_step(start, end + inc, step))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_and_until() {
        assert_eq!(seq(&[3]), "1 2 3");
        assert_eq!(seq(&[5, 3]), "5 4 3");
        assert_eq!(seq(&[0, 5, 10]), "0 5 10");
        assert_eq!(seq(&[10, -3, 1]), "10 7 4 1");
        assert_eq!(until_step(0, 10, 3), vec![0, 3, 6, 9]);
    }
}
