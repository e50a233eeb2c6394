//! Sprig's arithmetic: integer functions work on `int64` after cast's conversion (a float64
//! is truncated, a string parsed), the `…f` functions on float64 through exact decimal
//! arithmetic (shopspring/decimal), so `addf 0.1 0.2` is exactly 0.3.

use super::conv::{to_float64, to_int64};
use super::{Table, Ty, arg_int, arg_str, f, fv};
use crate::value::Value;

type R = Result<Value, String>;

fn i64v(i: i64) -> R {
    Ok(Value::int64(i))
}

pub(super) fn register(t: &mut Table) {
    use Ty::*;
    t.insert(
        "add1",
        f(&[Any], |_, a, _| i64v(to_int64(&a[0]).wrapping_add(1))),
    );
    t.insert(
        "add",
        fv(&[], Any, |_, a, _| {
            i64v(a.iter().fold(0i64, |s, x| s.wrapping_add(to_int64(x))))
        }),
    );
    t.insert(
        "sub",
        f(&[Any, Any], |_, a, _| {
            i64v(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))
        }),
    );
    t.insert(
        "div",
        f(&[Any, Any], |_, a, _| {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            i64v(to_int64(&a[0]).wrapping_div(d))
        }),
    );
    t.insert(
        "mod",
        f(&[Any, Any], |_, a, _| {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            i64v(to_int64(&a[0]).wrapping_rem(d))
        }),
    );
    t.insert(
        "mul",
        fv(&[Any], Any, |_, a, _| {
            i64v(
                a[1..]
                    .iter()
                    .fold(to_int64(&a[0]), |s, x| s.wrapping_mul(to_int64(x))),
            )
        }),
    );
    for name in ["max", "biggest"] {
        t.insert(
            name,
            fv(&[Any], Any, |_, a, _| {
                i64v(a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max))
            }),
        );
    }
    t.insert(
        "min",
        fv(&[Any], Any, |_, a, _| {
            i64v(a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min))
        }),
    );
    t.insert(
        "maxf",
        fv(&[Any], Any, |_, a, _| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_max),
            ))
        }),
    );
    t.insert(
        "minf",
        fv(&[Any], Any, |_, a, _| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_min),
            ))
        }),
    );
    t.insert(
        "ceil",
        f(&[Any], |_, a, _| Ok(Value::Float(to_float64(&a[0]).ceil()))),
    );
    t.insert(
        "floor",
        f(&[Any], |_, a, _| {
            Ok(Value::Float(to_float64(&a[0]).floor()))
        }),
    );
    t.insert(
        "round",
        fv(&[Any, Int], F64, |_, a, _| {
            let round_on = match a.get(2) {
                Some(Value::Float(r)) => *r,
                _ => 0.5,
            };
            let val = to_float64(&a[0]);
            let pow = 10f64.powf(arg_int(&a, 1) as f64);
            let digit = pow * val;
            let frac = digit - digit.trunc();
            let r = if frac >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        }),
    );
    t.insert(
        "add1f",
        f(&[Any], |_, a, _| {
            Ok(Value::Float(decimal_op(&a[0], &[Value::int(1)], Op::Add)))
        }),
    );
    t.insert(
        "addf",
        fv(&[], Any, |_, a, _| {
            Ok(Value::Float(decimal_op(&Value::Float(0.0), &a, Op::Add)))
        }),
    );
    t.insert(
        "subf",
        fv(&[Any], Any, |_, a, _| {
            Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Sub)))
        }),
    );
    t.insert(
        "mulf",
        fv(&[Any], Any, |_, a, _| {
            Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Mul)))
        }),
    );
    t.insert(
        "divf",
        fv(&[Any], Any, |_, a, _| {
            if a[1..].iter().any(|x| to_float64(x) == 0.0) {
                return Err("decimal division by 0".into());
            }
            Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Div)))
        }),
    );
    t.insert("int", f(&[Any], |_, a, _| Ok(Value::int(to_int64(&a[0])))));
    t.insert("int64", f(&[Any], |_, a, _| i64v(to_int64(&a[0]))));
    t.insert(
        "float64",
        f(&[Any], |_, a, _| Ok(Value::Float(to_float64(&a[0])))),
    );
    t.insert(
        "atoi",
        f(&[Str], |_, a, _| Ok(Value::int(atoi(arg_str(&a, 0))))),
    );
    t.insert(
        "toDecimal",
        f(&[Any], |_, a, _| {
            let s = crate::gofmt::sprint_v(&a[0]);
            Ok(Value::int64(parse_octal(&s).unwrap_or(0)))
        }),
    );
}

/// Go's `math.Max` (NaN wins, +0 over -0).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Go's `strconv.Atoi`, 0 on error.
fn atoi(s: &str) -> i64 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    match digits.parse::<i64>() {
        Ok(v) => {
            if neg {
                -v
            } else {
                v
            }
        }
        Err(_) => 0,
    }
}

fn parse_octal(s: &str) -> Option<i64> {
    let (neg, d) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = i64::from_str_radix(d, 8).ok()?;
    Some(if neg { -v } else { v })
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal: mantissa × 10^exp.
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// shopspring's NewFromFloat: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Dec { m: 0, e: 0 });
        }
        let s = format!("{:e}", f);
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let m: i128 = digits.parse().ok()?;
        let e = exp - (digits.len() as i32 - 1);
        Some(Dec {
            m: if neg { -m } else { m },
            e,
        })
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        let e = a.e.min(b.e);
        let sa = 10i128.checked_pow((a.e - e) as u32)?;
        let sb = 10i128.checked_pow((b.e - e) as u32)?;
        Some((a.m.checked_mul(sa)?, b.m.checked_mul(sb)?, e))
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }
}

fn decimal_op(first: &Value, rest: &[Value], op: Op) -> f64 {
    let mut acc = to_float64(first);
    let mut dec = Dec::from_f64(acc);
    for x in rest {
        let xf = to_float64(x);
        let xd = Dec::from_f64(xf);
        let exact = match (dec, xd, op) {
            (Some(a), Some(b), Op::Add) => Dec::align(a, b).and_then(|(x, y, e)| {
                Some(Dec {
                    m: x.checked_add(y)?,
                    e,
                })
            }),
            (Some(a), Some(b), Op::Sub) => Dec::align(a, b).and_then(|(x, y, e)| {
                Some(Dec {
                    m: x.checked_sub(y)?,
                    e,
                })
            }),
            (Some(a), Some(b), Op::Mul) => a.m.checked_mul(b.m).map(|m| Dec { m, e: a.e + b.e }),
            _ => None,
        };
        match exact {
            Some(d) => {
                acc = d.to_f64();
                dec = Some(d);
            }
            None => {
                acc = match op {
                    Op::Add => acc + xf,
                    Op::Sub => acc - xf,
                    Op::Mul => acc * xf,
                    Op::Div => {
                        // DivRound to 16 decimal places.
                        let q = acc / xf;
                        format!("{q:.16}").parse().unwrap_or(q)
                    }
                };
                dec = Dec::from_f64(acc);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_float_ops() {
        assert_eq!(
            decimal_op(
                &Value::Float(0.0),
                &[Value::Float(0.1), Value::Float(0.2)],
                Op::Add
            ),
            0.3
        );
        assert_eq!(
            decimal_op(&Value::Float(1.1), &[Value::int(3)], Op::Mul),
            3.3
        );
        assert_eq!(decimal_op(&Value::int(10), &[Value::int(4)], Op::Div), 2.5);
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("4x"), 0);
    }
}
