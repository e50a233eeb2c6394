//! Sprig's string functions. Argument order follows Sprig (the subject comes last, so that
//! `"foo" | trimSuffix "o"` reads naturally); byte-based operations (`trunc`, `substr`) count
//! bytes as Go does.

use base64::Engine as _;
use sha1::Digest as _;

use super::conv::{strslice, strval};
use super::{Table, Ty, arg_int, arg_str, f, fv};
use crate::gofmt;
use crate::template::exec::Env;
use crate::value::{MapType, Value};

type R = Result<Value, String>;

fn s(v: impl Into<std::rc::Rc<str>>) -> R {
    Ok(Value::Str(v.into()))
}

/// Go string slicing by bytes; a cut inside a UTF-8 sequence is kept lossily.
pub(crate) fn byte_slice(st: &str, from: usize, to: usize) -> String {
    let b = st.as_bytes();
    let to = to.min(b.len());
    let from = from.min(to);
    String::from_utf8_lossy(&b[from..to]).into_owned()
}

pub(super) fn register(t: &mut Table) {
    use Ty::*;
    t.insert(
        "abbrev",
        f(&[Int, Str], |_, a, _| {
            s(abbrev(arg_str(&a, 1), 0, arg_int(&a, 0)))
        }),
    );
    t.insert(
        "abbrevboth",
        f(&[Int, Int, Str], |_, a, _| {
            s(abbrev(arg_str(&a, 2), arg_int(&a, 0), arg_int(&a, 1)))
        }),
    );
    t.insert(
        "trunc",
        f(&[Int, Str], |_, a, _| {
            s(trunc(arg_int(&a, 0), arg_str(&a, 1)))
        }),
    );
    t.insert(
        "trim",
        f(
            &[Str],
            |_, a, _| s(arg_str(&a, 0).trim_matches(is_go_space)),
        ),
    );
    t.insert(
        "upper",
        f(&[Str], |_, a, _| s(arg_str(&a, 0).to_uppercase())),
    );
    t.insert(
        "lower",
        f(&[Str], |_, a, _| s(arg_str(&a, 0).to_lowercase())),
    );
    t.insert("title", f(&[Str], |_, a, _| s(title(arg_str(&a, 0)))));
    t.insert("untitle", f(&[Str], |_, a, _| s(untitle(arg_str(&a, 0)))));
    t.insert("substr", f(&[Int, Int, Str], substr));
    t.insert(
        "repeat",
        f(&[Int, Str], |_, a, _| {
            let n = arg_int(&a, 0);
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            s(arg_str(&a, 1).repeat(n as usize))
        }),
    );
    t.insert(
        "trimall",
        f(&[Str, Str], |_, a, _| {
            s(trim_cutset(arg_str(&a, 1), arg_str(&a, 0)))
        }),
    );
    t.insert(
        "trimAll",
        f(&[Str, Str], |_, a, _| {
            s(trim_cutset(arg_str(&a, 1), arg_str(&a, 0)))
        }),
    );
    t.insert(
        "trimSuffix",
        f(&[Str, Str], |_, a, _| {
            let (suf, st) = (arg_str(&a, 0), arg_str(&a, 1));
            s(st.strip_suffix(suf).unwrap_or(st))
        }),
    );
    t.insert(
        "trimPrefix",
        f(&[Str, Str], |_, a, _| {
            let (pre, st) = (arg_str(&a, 0), arg_str(&a, 1));
            s(st.strip_prefix(pre).unwrap_or(st))
        }),
    );
    t.insert(
        "nospace",
        f(&[Str], |_, a, _| {
            s(arg_str(&a, 0)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>())
        }),
    );
    t.insert("initials", f(&[Str], |_, a, _| s(initials(arg_str(&a, 0)))));
    t.insert("swapcase", f(&[Str], |_, a, _| s(swapcase(arg_str(&a, 0)))));
    t.insert(
        "snakecase",
        f(&[Str], |_, a, _| s(delimited_case(arg_str(&a, 0), '_'))),
    );
    t.insert(
        "kebabcase",
        f(&[Str], |_, a, _| s(delimited_case(arg_str(&a, 0), '-'))),
    );
    t.insert(
        "camelcase",
        f(&[Str], |_, a, _| s(camelcase(arg_str(&a, 0)))),
    );
    t.insert(
        "wrap",
        f(&[Int, Str], |_, a, _| {
            s(wrap(arg_str(&a, 1), arg_int(&a, 0), "\n", false))
        }),
    );
    t.insert(
        "wrapWith",
        f(&[Int, Str, Str], |_, a, _| {
            s(wrap(arg_str(&a, 2), arg_int(&a, 0), arg_str(&a, 1), true))
        }),
    );
    t.insert(
        "contains",
        f(&[Str, Str], |_, a, _| {
            Ok(Value::Bool(arg_str(&a, 1).contains(arg_str(&a, 0))))
        }),
    );
    t.insert(
        "hasPrefix",
        f(&[Str, Str], |_, a, _| {
            Ok(Value::Bool(arg_str(&a, 1).starts_with(arg_str(&a, 0))))
        }),
    );
    t.insert(
        "hasSuffix",
        f(&[Str, Str], |_, a, _| {
            Ok(Value::Bool(arg_str(&a, 1).ends_with(arg_str(&a, 0))))
        }),
    );
    t.insert(
        "quote",
        fv(&[], Any, |_, a, _| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| gofmt::quote(&strval(v)))
                .collect();
            s(parts.join(" "))
        }),
    );
    t.insert(
        "squote",
        fv(&[], Any, |_, a, _| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| format!("'{}'", gofmt::sprint_v(v)))
                .collect();
            s(parts.join(" "))
        }),
    );
    t.insert(
        "cat",
        fv(&[], Any, |_, a, _| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(gofmt::sprint_v)
                .collect();
            s(parts.join(" "))
        }),
    );
    t.insert(
        "indent",
        f(&[Int, Str], |_, a, _| {
            indent(arg_int(&a, 0), arg_str(&a, 1)).map(Value::str)
        }),
    );
    t.insert(
        "nindent",
        f(&[Int, Str], |_, a, _| {
            indent(arg_int(&a, 0), arg_str(&a, 1)).map(|x| Value::str(format!("\n{x}")))
        }),
    );
    t.insert(
        "replace",
        f(&[Str, Str, Str], |_, a, _| {
            s(arg_str(&a, 2).replace(arg_str(&a, 0), arg_str(&a, 1)))
        }),
    );
    t.insert(
        "plural",
        f(&[Str, Str, Int], |_, a, _| {
            s(if arg_int(&a, 2) == 1 {
                arg_str(&a, 0)
            } else {
                arg_str(&a, 1)
            })
        }),
    );
    t.insert(
        "sha1sum",
        f(&[Str], |_, a, _| {
            s(hex(&sha1::Sha1::digest(arg_str(&a, 0).as_bytes())))
        }),
    );
    t.insert(
        "sha256sum",
        f(&[Str], |_, a, _| {
            s(hex(&sha2::Sha256::digest(arg_str(&a, 0).as_bytes())))
        }),
    );
    t.insert(
        "sha512sum",
        f(&[Str], |_, a, _| {
            s(hex(&sha2::Sha512::digest(arg_str(&a, 0).as_bytes())))
        }),
    );
    t.insert(
        "adler32sum",
        f(&[Str], |_, a, _| {
            s(adler32(arg_str(&a, 0).as_bytes()).to_string())
        }),
    );
    t.insert("toString", f(&[Any], |_, a, _| s(strval(&a[0]))));
    t.insert(
        "split",
        f(&[Str, Str], |_, a, _| {
            Ok(split_map(
                arg_str(&a, 1)
                    .split(arg_str(&a, 0))
                    .map(str::to_string)
                    .collect(),
            ))
        }),
    );
    t.insert(
        "splitn",
        f(&[Str, Int, Str], |_, a, _| {
            let n = arg_int(&a, 1);
            let parts = splitn(arg_str(&a, 2), arg_str(&a, 0), n);
            Ok(split_map(parts))
        }),
    );
    t.insert(
        "splitList",
        f(&[Str, Str], |_, a, _| {
            let (sep, st) = (arg_str(&a, 0), arg_str(&a, 1));
            Ok(Value::str_list(go_split(st, sep)))
        }),
    );
    t.insert(
        "toStrings",
        f(&[Any], |_, a, _| Ok(Value::str_list(strslice(&a[0])))),
    );
    t.insert(
        "join",
        f(&[Str, Any], |_, a, _| {
            s(strslice(&a[1]).join(arg_str(&a, 0)))
        }),
    );
    t.insert(
        "sortAlpha",
        f(&[Any], |_, a, _| {
            let mut v = match &a[0] {
                Value::List(..) | Value::Bytes(_) => strslice(&a[0]),
                other => vec![strval(other)],
            };
            v.sort();
            Ok(Value::str_list(v))
        }),
    );
    t.insert(
        "b64enc",
        f(&[Str], |_, a, _| {
            s(base64::engine::general_purpose::STANDARD.encode(arg_str(&a, 0)))
        }),
    );
    t.insert(
        "b64dec",
        f(
            &[Str],
            |_, a, _| match base64::engine::general_purpose::STANDARD.decode(arg_str(&a, 0)) {
                Ok(d) => s(String::from_utf8_lossy(&d).into_owned()),
                Err(e) => s(go_base64_error(arg_str(&a, 0), &e)),
            },
        ),
    );
    t.insert(
        "b32enc",
        f(&[Str], |_, a, _| {
            s(base32_encode(arg_str(&a, 0).as_bytes()))
        }),
    );
    t.insert(
        "b32dec",
        f(&[Str], |_, a, _| match base32_decode(arg_str(&a, 0)) {
            Some(d) => s(String::from_utf8_lossy(&d).into_owned()),
            None => s("illegal base32 data at input byte 0"),
        }),
    );
    t.insert("base", f(&[Str], |_, a, _| s(path_base(arg_str(&a, 0)))));
    t.insert("osBase", f(&[Str], |_, a, _| s(path_base(arg_str(&a, 0)))));
    t.insert("dir", f(&[Str], |_, a, _| s(path_dir(arg_str(&a, 0)))));
    t.insert("osDir", f(&[Str], |_, a, _| s(path_dir(arg_str(&a, 0)))));
    t.insert("clean", f(&[Str], |_, a, _| s(path_clean(arg_str(&a, 0)))));
    t.insert(
        "osClean",
        f(&[Str], |_, a, _| s(path_clean(arg_str(&a, 0)))),
    );
    t.insert("ext", f(&[Str], |_, a, _| s(path_ext(arg_str(&a, 0)))));
    t.insert("osExt", f(&[Str], |_, a, _| s(path_ext(arg_str(&a, 0)))));
    t.insert(
        "isAbs",
        f(&[Str], |_, a, _| {
            Ok(Value::Bool(arg_str(&a, 0).starts_with('/')))
        }),
    );
    t.insert(
        "osIsAbs",
        f(&[Str], |_, a, _| {
            Ok(Value::Bool(arg_str(&a, 0).starts_with('/')))
        }),
    );
}

fn substr(_: &mut Env, a: Vec<Value>, _: Option<Value>) -> R {
    let (start, end, st) = (arg_int(&a, 0), arg_int(&a, 1), arg_str(&a, 2));
    let len = st.len() as i64;
    let check = |i: i64, j: i64| -> Result<(), String> {
        if i < 0 || j < i || j > len {
            return Err(format!(
                "runtime error: slice bounds out of range [{i}:{j}]"
            ));
        }
        Ok(())
    };
    if start < 0 {
        check(0, end)?;
        return s(byte_slice(st, 0, end as usize));
    }
    if end < 0 || end > len {
        check(start, len)?;
        return s(byte_slice(st, start as usize, len as usize));
    }
    check(start, end)?;
    s(byte_slice(st, start as usize, end as usize))
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

fn trunc(c: i64, st: &str) -> String {
    let len = st.len() as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(st, (len + c) as usize, st.len());
    }
    if c >= 0 && len > c {
        return byte_slice(st, 0, c as usize);
    }
    st.to_string()
}

fn abbrev(st: &str, offset: i64, width: i64) -> String {
    if width < 4 || (st.len() as i64) <= width {
        return st.to_string();
    }
    let len = st.len() as i64;
    let mut offset = offset.max(0);
    if offset > len {
        offset = len;
    }
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        return format!("{}...", byte_slice(st, 0, (width - 3) as usize));
    }
    if width < 7 {
        return st.to_string();
    }
    if offset + width - 3 < len {
        return format!(
            "...{}",
            abbrev(&byte_slice(st, offset as usize, st.len()), 0, width - 3)
        );
    }
    format!(
        "...{}",
        byte_slice(st, (len - (width - 3)) as usize, st.len())
    )
}

fn trim_cutset(st: &str, cutset: &str) -> String {
    st.trim_matches(|c| cutset.contains(c)).to_string()
}

/// Go's `strings.Title`: upper-cases letters that begin words.
fn title(st: &str) -> String {
    let mut out = String::with_capacity(st.len());
    let mut prev = ' ';
    for c in st.chars() {
        if is_separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

fn untitle(st: &str) -> String {
    let mut out = String::with_capacity(st.len());
    let mut prev_space = true;
    for c in st.chars() {
        if prev_space && !c.is_whitespace() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn initials(st: &str) -> String {
    st.split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect()
}

fn swapcase(st: &str) -> String {
    let mut out = String::new();
    let mut prev_space = true;
    for c in st.chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            if prev_space {
                out.extend(c.to_uppercase()); // goutils: title case after whitespace
            } else {
                out.extend(c.to_uppercase());
            }
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

/// xstrings' `ToSnakeCase`/`ToKebabCase` for the usual inputs: words split at case changes,
/// digits and separators, joined lower-case with `sep`.
fn delimited_case(st: &str, sep: char) -> String {
    let mut out = String::new();
    let chars: Vec<char> = st.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = if i > 0 {
                chars.get(i - 1).copied()
            } else {
                None
            };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
            if boundary && !out.ends_with(sep) && !out.is_empty() {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else if c == '_' || c == '-' || c == ' ' || c == '.' {
            if !out.is_empty() && !out.ends_with(sep) {
                out.push(sep);
            }
        } else {
            out.push(c);
        }
    }
    out.trim_end_matches(sep).to_string()
}

fn camelcase(st: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in st.chars() {
        if c == '_' || c == '-' || c == ' ' {
            upper = true;
            continue;
        }
        if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// goutils' `WrapCustom`.
fn wrap(st: &str, width: i64, sep: &str, long_words: bool) -> String {
    let width = width.max(1) as usize;
    let mut out = String::new();
    for (li, line) in st.split('\n').enumerate() {
        if li > 0 {
            out.push_str(sep);
        }
        let mut col = 0usize;
        let mut first = true;
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            let wl = word.chars().count();
            if !first && col + 1 + wl > width {
                out.push_str(sep);
                col = 0;
                first = true;
            }
            if !first {
                out.push(' ');
                col += 1;
            }
            if long_words && wl > width {
                let cs: Vec<char> = word.chars().collect();
                for (k, chunk) in cs.chunks(width).enumerate() {
                    if k > 0 {
                        out.push_str(sep);
                    }
                    out.extend(chunk.iter());
                    col = chunk.len();
                }
            } else {
                out.push_str(word);
                col += wl;
            }
            first = false;
        }
    }
    out
}

fn indent(n: i64, v: &str) -> Result<String, String> {
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let pad = " ".repeat(n as usize);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

pub(crate) fn hex(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() * 2);
    for x in b {
        out.push_str(&format!("{x:02x}"));
    }
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Go's `strings.Split`: an empty separator splits into UTF-8 characters.
pub(crate) fn go_split(st: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return st.chars().map(|c| c.to_string()).collect();
    }
    st.split(sep).map(str::to_string).collect()
}

fn splitn(st: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if n < 0 {
        return go_split(st, sep);
    }
    if sep.is_empty() {
        let cs: Vec<char> = st.chars().collect();
        let n = n as usize;
        let mut out: Vec<String> = cs
            .iter()
            .take(n.saturating_sub(1))
            .map(|c| c.to_string())
            .collect();
        if cs.len() >= n {
            out.push(cs[n - 1..].iter().collect());
        }
        return out;
    }
    st.splitn(n as usize, sep).map(str::to_string).collect()
}

fn split_map(parts: Vec<String>) -> Value {
    let m = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(p)))
        .collect();
    Value::Map(std::rc::Rc::new(std::cell::RefCell::new(m)), MapType::Str)
}

fn go_base64_error(input: &str, e: &base64::DecodeError) -> String {
    let off = match e {
        base64::DecodeError::InvalidByte(o, _) => *o,
        base64::DecodeError::InvalidLength(l) => *l - l % 4,
        base64::DecodeError::InvalidLastSymbol(o, _) => *o,
        base64::DecodeError::InvalidPadding => input.len().saturating_sub(1),
    };
    format!("illegal base64 data at input byte {off}")
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let n = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < n {
                out.push(B32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(st: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = st.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    if !clean.len().is_multiple_of(8) {
        return None;
    }
    let mut out = Vec::new();
    for chunk in clean.chunks(8) {
        let mut bits: u64 = 0;
        let mut n = 0;
        for &c in chunk {
            if c == b'=' {
                break;
            }
            let v = B32.iter().position(|x| *x == c)? as u64;
            bits = (bits << 5) | v;
            n += 1;
        }
        let nbytes = n * 5 / 8;
        bits <<= 40 - n * 5;
        for i in 0..nbytes {
            out.push(((bits >> (32 - i * 8)) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Go's `path.Clean`.
pub(crate) fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    let last = p.rsplit('/').next().unwrap_or(p);
    match last.rfind('.') {
        Some(i) => last[i..].to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_helpers() {
        assert_eq!(trunc(3, "abcdef"), "abc");
        assert_eq!(trunc(-2, "abcdef"), "ef");
        assert_eq!(title("hello world-foo"), "Hello World-Foo");
        assert_eq!(indent(2, "a\nb").unwrap(), "  a\n  b");
        assert_eq!(adler32(b"hello"), 103_547_413);
        assert_eq!(path_clean("a/../b/./c/"), "b/c");
        assert_eq!(path_dir("a/b/c"), "a/b");
        assert_eq!(path_base("a/b/c.yaml"), "c.yaml");
        assert_eq!(path_ext("a/b/c.yaml"), ".yaml");
        assert_eq!(base32_encode(b"hi"), "NBUQ====");
        assert_eq!(base32_decode("NBUQ====").unwrap(), b"hi");
        assert_eq!(delimited_case("FirstName", '_'), "first_name");
    }
}
