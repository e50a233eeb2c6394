//! Go's `fmt` and `strconv` number formatting, as templates print values.
//!
//! What a template prints is decided by Go's `fmt` (`{{ .x }}` is `fmt.Fprint`, `printf` is
//! `fmt.Sprintf`): a `float64` 10485760 prints as `1.048576e+07`, `printf "%d"` of a float64
//! prints `%!d(float64=8080)`, maps print as `map[a:1 b:2]`. Rendered output is compared byte
//! for byte with Helm's, so these rules are reproduced here rather than approximated.

use crate::value::{IntType, Obj, Value};

/// Decimal digits of `f` (without sign) and the decimal point position, Go style:
/// value = 0.d1d2d3… × 10^dp. Shortest digits that round-trip when `prec` is `None`, else
/// `prec` significant digits (correctly rounded).
fn digits(f: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    digits_of(f, sig, false)
}

fn digits_of(f: f64, sig: Option<usize>, single: bool) -> (Vec<u8>, i32) {
    let f = f.abs();
    if f == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match (sig, single) {
        (None, false) => format!("{f:e}"),
        (None, true) => format!("{:e}", f as f32),
        (Some(p), _) => format!("{:.*e}", p.saturating_sub(1), f),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == [b'0'] {
        return (Vec::new(), 0);
    }
    (d, exp + 1)
}

fn fmt_e(neg: bool, d: &[u8], dp: i32, prec: usize, upper: bool) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let first = d.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.get(i).copied().unwrap_or(b'0') as char);
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn fmt_f(neg: bool, d: &[u8], dp: i32, prec: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(d.get(i).copied().unwrap_or(b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i32 {
            let j = dp + i;
            let c = if j < 0 {
                b'0'
            } else {
                d.get(j as usize).copied().unwrap_or(b'0')
            };
            out.push(c as char);
        }
    }
    out
}

/// `strconv.FormatFloat(f, verb, prec, 64)` for verbs e, E, f, F, g, G; `prec` `None` is -1.
pub fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    match verb {
        'e' | 'E' => {
            let (d, dp) = match prec {
                None => digits(f, None),
                Some(p) => digits(f, Some(p + 1)),
            };
            let p = prec.unwrap_or(d.len().saturating_sub(1));
            fmt_e(neg, &d, dp, p, verb == 'E')
        }
        'f' | 'F' => match prec {
            None => {
                let (d, dp) = digits(f, None);
                let p = (d.len() as i32 - dp).max(0) as usize;
                fmt_f(neg, &d, dp, p)
            }
            Some(p) => {
                let s = format!("{:.*}", p, f.abs());
                if neg { format!("-{s}") } else { s }
            }
        },
        _ => {
            // 'g' / 'G'
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                None => digits(f, None),
                Some(0) => digits(f, Some(1)),
                Some(p) => digits(f, Some(p)),
            };
            let nd = d.len() as i32;
            let mut p = match prec {
                None => nd,
                Some(0) => 1,
                Some(p) => p as i32,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if d.is_empty() {
                // Zero.
                return if neg { "-0".into() } else { "0".into() };
            }
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return fmt_e(neg, &d, dp, (p - 1).max(0) as usize, verb == 'G');
            }
            if p > dp {
                p = nd;
            }
            fmt_f(neg, &d, dp, (p - dp).max(0) as usize)
        }
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`.
pub fn format_float32_g(f: f64) -> String {
    let f32v = f as f32;
    if f32v.is_nan() {
        return "NaN".into();
    }
    if f32v.is_infinite() {
        return if f32v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f32v.is_sign_negative();
    let (d, dp) = digits_of(f, None, true);
    if d.is_empty() {
        return if neg { "-0".into() } else { "0".into() };
    }
    let nd = d.len() as i32;
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        return fmt_e(neg, &d, dp, (nd - 1).max(0) as usize, false);
    }
    fmt_f(neg, &d, dp, (nd - dp).max(0) as usize)
}

/// `%v` of a float64.
pub fn float_v(f: f64) -> String {
    format_float(f, 'g', None)
}

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`.
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xAD | 0x600..=0x605 | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF)
}

/// `%v` of any value, as `fmt.Sprint` prints it.
pub fn sprint_v(v: &Value) -> String {
    let mut out = String::new();
    print_value(&mut out, v, 'v', &Spec::default());
    out
}

/// `fmt.Sprint(args...)`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_value(&mut out, a, 'v', &Spec::default());
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln(args...)`: spaces always, newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_value(&mut out, a, 'v', &Spec::default());
    }
    out.push('\n');
    out
}

#[derive(Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let n = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Pads a number, keeping a sign in front of zero padding.
fn pad_number(out: &mut String, s: &str, spec: &Spec) {
    let w = spec.width.unwrap_or(0);
    if spec.zero && !spec.minus && s.chars().count() < w {
        let (sign, digits) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        let mut body = String::new();
        if let Some(c) = sign {
            body.push(c);
        }
        let fill = w - s.chars().count();
        body.extend(std::iter::repeat_n('0', fill));
        body.push_str(digits);
        out.push_str(&body);
    } else {
        let mut sp = spec.clone();
        sp.zero = false;
        pad(out, s, &sp);
    }
}

fn fmt_integer(out: &mut String, i: i128, verb: char, spec: &Spec) {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let mut digits = match verb {
        'b' => format!("{a:b}"),
        'o' | 'O' => format!("{a:o}"),
        'x' => format!("{a:x}"),
        'X' => format!("{a:X}"),
        _ => a.to_string(),
    };
    if let Some(p) = spec.prec {
        if p == 0 && a == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let mut prefix = String::new();
    if neg {
        prefix.push('-');
    } else if spec.plus {
        prefix.push('+');
    } else if spec.space {
        prefix.push(' ');
    }
    match verb {
        'O' => prefix.push_str("0o"),
        'b' if spec.sharp => prefix.push_str("0b"),
        'o' if spec.sharp && !digits.starts_with('0') => prefix.push('0'),
        'x' if spec.sharp => prefix.push_str("0x"),
        'X' if spec.sharp => prefix.push_str("0X"),
        _ => {}
    }
    let s = format!("{prefix}{digits}");
    if spec.prec.is_some() {
        let mut sp = spec.clone();
        sp.zero = false;
        pad(out, &s, &sp);
    } else {
        pad_number(out, &s, spec);
    }
}

fn fmt_float_verb(out: &mut String, f: f64, verb: char, spec: &Spec) {
    let (v, prec) = match verb {
        'v' => ('g', spec.prec),
        'e' | 'E' | 'f' | 'F' => (verb, Some(spec.prec.unwrap_or(6))),
        _ => (verb, spec.prec),
    };
    let mut s = format_float(f, v, prec);
    if spec.sharp && !s.contains('.') && !s.contains("Inf") && !s.contains("NaN") {
        if let Some(pos) = s.find(['e', 'E']) {
            s.insert(pos, '.');
        } else {
            s.push('.');
        }
    }
    if !s.starts_with('-') && !s.starts_with('+') {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    if f.is_infinite() || f.is_nan() {
        if f.is_nan() && !spec.plus && !spec.space {
            s = s.trim_start_matches('+').to_string();
        } else if f.is_infinite() && f > 0.0 && !spec.plus {
            s = if spec.space {
                " Inf".into()
            } else {
                "+Inf".into()
            };
        }
        let mut sp = spec.clone();
        sp.zero = false;
        pad(out, &s, &sp);
        return;
    }
    pad_number(out, &s, spec);
}

fn fmt_string(out: &mut String, s: &str, verb: char, spec: &Spec) {
    let s: String = match spec.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => s.chars().take(p).collect(),
        _ => s.to_string(),
    };
    match verb {
        'v' | 's' => pad(out, &s, spec),
        'q' => {
            let q = if spec.sharp && !s.contains('`') {
                format!("`{s}`")
            } else {
                quote(&s)
            };
            pad(out, &q, spec)
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, spec)
        }
        _ => unreachable_verb(out, verb, &Value::str(s)),
    }
}

fn unreachable_verb(out: &mut String, verb: char, v: &Value) {
    bad_verb(out, verb, v);
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    match v {
        Value::Invalid | Value::Nil => out.push_str("<nil>"),
        _ => {
            out.push_str(&v.type_name());
            out.push('=');
            print_value(out, v, 'v', &Spec::default());
        }
    }
    out.push(')');
}

fn print_value(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    match v {
        Value::Invalid | Value::Nil => match verb {
            'T' | 'v' => pad(out, "<nil>", spec),
            _ => bad_verb(out, verb, v),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, verb, v),
        },
        Value::Int(i, t) => {
            let unsigned = matches!(t, IntType::Uint8 | IntType::Uint64);
            match verb {
                'v' | 'd' | 'b' | 'o' | 'O' | 'x' | 'X' => {
                    let verb = if verb == 'v' { 'd' } else { verb };
                    let n = if unsigned && *i < 0 {
                        (*i as u64) as i128
                    } else {
                        *i as i128
                    };
                    fmt_integer(out, n, verb, spec)
                }
                'c' => pad(
                    out,
                    &char::from_u32(*i as u32).unwrap_or('\u{FFFD}').to_string(),
                    spec,
                ),
                'q' => {
                    let c = char::from_u32(*i as u32).unwrap_or('\u{FFFD}');
                    let q = quote(&c.to_string());
                    let inner = &q[1..q.len() - 1];
                    let inner = if inner == "'" {
                        "\\'".to_string()
                    } else {
                        inner.replace("\\\"", "\"")
                    };
                    pad(out, &format!("'{inner}'"), spec)
                }
                'U' => pad(out, &format!("U+{:04X}", *i), spec),
                _ => bad_verb(out, verb, v),
            }
        }
        Value::Float(f) => match verb {
            'v' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => fmt_float_verb(out, *f, verb, spec),
            'x' | 'X' | 'b' => fmt_float_verb(out, *f, 'g', spec),
            _ => bad_verb(out, verb, v),
        },
        Value::Str(s) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_string(out, s, verb, spec),
            _ => bad_verb(out, verb, v),
        },
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => fmt_string(out, &String::from_utf8_lossy(b), verb, spec),
            _ => {
                out.push('[');
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    print_value(out, &Value::Int(*x as i64, IntType::Uint8), verb, spec);
                }
                out.push(']');
            }
        },
        Value::List(items, _) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value(out, x, verb, spec);
            }
            out.push(']');
        }
        Value::Map(m, _) => {
            out.push_str("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value(out, &Value::str(k.as_str()), verb, spec);
                out.push(':');
                print_value(out, x, verb, spec);
            }
            out.push(']');
        }
        Value::Obj(o) => match &**o {
            Obj::KubeVersion(k) => {
                if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') {
                    fmt_string(out, &k.normalized, verb, spec)
                } else {
                    bad_verb(out, verb, v)
                }
            }
            Obj::SemVer(s) => {
                if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') {
                    fmt_string(out, &s.to_string(), verb, spec)
                } else {
                    bad_verb(out, verb, v)
                }
            }
            Obj::Time(secs, nanos) => {
                if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') {
                    fmt_string(out, &crate::gotime::time_string(*secs, *nanos), verb, spec)
                } else {
                    bad_verb(out, verb, v)
                }
            }
            Obj::HelmVersion => out.push_str(&format!(
                "{{{} {} clean {} {}}}",
                crate::value::HELM_VERSION,
                crate::value::HELM_GIT_COMMIT,
                crate::value::HELM_GO_VERSION,
                crate::value::HELM_KUBE_CLIENT_VERSION
            )),
            Obj::Caps(c) => {
                out.push_str("&{");
                print_value(out, &Value::Obj(c.kube_version.clone()), verb, spec);
                out.push(' ');
                print_value(
                    out,
                    &Value::List(c.api_versions.clone(), crate::value::ListType::Str),
                    verb,
                    spec,
                );
                out.push(' ');
                print_value(
                    out,
                    &Value::Obj(std::rc::Rc::new(Obj::HelmVersion)),
                    verb,
                    spec,
                );
                out.push('}');
            }
            Obj::Files(f) => {
                out.push_str("map[");
                for (i, (k, data)) in f.entries().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    print_value(out, &Value::Bytes(data.clone()), verb, spec);
                }
                out.push(']');
            }
        },
    }
}

/// `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let bytes = format.as_bytes();
    let mut argi = 0usize;
    let mut i = 0usize;
    let n = bytes.len();
    while i < n {
        // Copy literal text up to the next '%'.
        let start = i;
        while i < n && bytes[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= n {
            break;
        }
        i += 1; // skip '%'
        let mut spec = Spec::default();
        // Flags.
        while i < n {
            match bytes[i] {
                b'#' => spec.sharp = true,
                b'0' => spec.zero = !spec.minus,
                b'+' => spec.plus = true,
                b'-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        // Width.
        if i < n && bytes[i] == b'*' {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(w, _)) => {
                    let w = *w;
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let s = i;
            while i < n && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i > s {
                spec.width = format[s..i].parse().ok();
            }
        }
        // Precision.
        if i < n && bytes[i] == b'.' {
            i += 1;
            if i < n && bytes[i] == b'*' {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(p, _)) if *p >= 0 => spec.prec = Some(*p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let s = i;
                while i < n && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                spec.prec = Some(format[s..i].parse().unwrap_or(0));
            }
        }
        if i >= n {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('v');
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        match verb {
            'T' => pad(&mut out, &arg.type_name(), &spec),
            'v' if spec.sharp => out.push_str(&go_syntax(arg)),
            _ => print_value(&mut out, arg, verb, &spec),
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Invalid | Value::Nil => out.push_str("<nil>"),
                _ => {
                    out.push_str(&a.type_name());
                    out.push('=');
                    print_value(&mut out, a, 'v', &Spec::default());
                }
            }
        }
        out.push(')');
    }
    out
}

/// `%#v`: Go syntax (only the common cases).
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Invalid | Value::Nil => "interface {}(nil)".into(),
        Value::Str(s) => quote(s),
        Value::List(items, _) => {
            let inner: Vec<String> = items.iter().map(go_syntax).collect();
            format!("{}{{{}}}", v.type_name(), inner.join(", "))
        }
        Value::Map(m, _) => {
            let inner: Vec<String> = m
                .borrow()
                .iter()
                .map(|(k, x)| format!("{}:{}", quote(k), go_syntax(x)))
                .collect();
            format!("{}{{{}}}", v.type_name(), inner.join(", "))
        }
        other => sprint_v(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float_v(10485760.0), "1.048576e+07");
        assert_eq!(float_v(100000.0), "100000");
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(1.5), "1.5");
        assert_eq!(float_v(0.0), "0");
        assert_eq!(float_v(-2.25), "-2.25");
        assert_eq!(format_float(3.24159, 'f', Some(2)), "3.24");
        assert_eq!(format_float(1234.5678, 'e', Some(3)), "1.235e+03");
        assert_eq!(format_float(100.0, 'g', Some(3)), "100");
        assert_eq!(format_float(1234.0, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(1e21, 'f', None), "1000000000000000000000");
    }

    #[test]
    fn printf_matches_go() {
        assert_eq!(sprintf("%06d", &[Value::int(42)]), "000042");
        assert_eq!(sprintf("%-5s|", &[Value::str("ab")]), "ab   |");
        assert_eq!(sprintf("%d", &[Value::Float(8080.0)]), "%!d(float64=8080)");
        assert_eq!(sprintf("%s", &[Value::int(1)]), "%!s(int=1)");
        assert_eq!(sprintf("%q", &[Value::str("a\"b")]), "\"a\\\"b\"");
        assert_eq!(sprintf("%x", &[Value::int(255)]), "ff");
        assert_eq!(sprintf("%v %v", &[Value::Bool(true)]), "true %!v(MISSING)");
        assert_eq!(
            sprintf("%s", &[Value::str("a"), Value::int(2)]),
            "a%!(EXTRA int=2)"
        );
        assert_eq!(sprintf("%.2f", &[Value::Float(2.0 / 3.0)]), "0.67");
        assert_eq!(sprintf("%5.1f|", &[Value::Float(3.04159)]), "  3.0|");
        assert_eq!(sprintf("%t", &[Value::Bool(false)]), "false");
        assert_eq!(sprintf("%v", &[Value::Nil]), "<nil>");
        assert_eq!(sprintf("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(sprintf("100%%", &[]), "100%");
    }

    #[test]
    fn sprint_spaces_between_non_strings() {
        assert_eq!(sprint(&[Value::int(1), Value::int(2)]), "1 2");
        assert_eq!(
            sprint(&[Value::str("a"), Value::int(1), Value::str("b")]),
            "a1b"
        );
    }
}
