//! Sprig's defaults, reflection, regex, semver, date, random, URL and crypto functions.
//!
//! The sandbox has no clock and no entropy, and plumb must render the same objects every time:
//! `now` is the fixed time plumb gives the plugin (the commit time, else the Unix epoch);
//! `randAlphaNum` and friends, `uuidv4` and `shuffle` draw from a PRNG seeded from the release,
//! so they are stable across renders (and differ from Helm's, which are random each run).
//! Key and certificate generation (`genCA`, `genPrivateKey`, `bcrypt`, …) is refused with an
//! error that says so: a certificate that changes on every render cannot be reconciled.

use std::rc::Rc;

use regex::Regex;

use super::conv::{strval, to_int64};
use super::{FuncDef, Table, Ty, arg_int, arg_str, f, fv};
use crate::gotime;
use crate::semver::{Version, semver_compare};
use crate::template::exec::Env;
use crate::value::{IntType, Obj, Value, deep_equal};

type R = Result<Value, String>;

fn b(v: bool) -> R {
    Ok(Value::Bool(v))
}

pub(super) fn register(t: &mut Table) {
    use Ty::*;
    t.insert(
        "default",
        fv(&[Any], Any, |_, a, _| {
            if a.len() < 2 || !a[1].truth() {
                return Ok(a[0].clone());
            }
            Ok(a[1].clone())
        }),
    );
    t.insert("empty", f(&[Any], |_, a, _| b(!a[0].truth())));
    t.insert(
        "coalesce",
        fv(&[], Any, |_, a, _| {
            Ok(a.iter().find(|v| v.truth()).cloned().unwrap_or(Value::Nil))
        }),
    );
    t.insert("all", fv(&[], Any, |_, a, _| b(a.iter().all(Value::truth))));
    t.insert("any", fv(&[], Any, |_, a, _| b(a.iter().any(Value::truth))));
    t.insert(
        "ternary",
        f(&[Any, Any, Bool], |_, a, _| {
            Ok(if matches!(a[2], Value::Bool(true)) {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
    );
    t.insert(
        "typeOf",
        f(&[Any], |_, a, _| Ok(Value::str(a[0].type_name()))),
    );
    t.insert(
        "typeIs",
        f(&[Str, Any], |_, a, _| b(arg_str(&a, 0) == a[1].type_name())),
    );
    t.insert(
        "typeIsLike",
        f(&[Str, Any], |_, a, _| {
            let t = a[1].type_name();
            let target = arg_str(&a, 0);
            b(target == t || format!("*{target}") == t)
        }),
    );
    t.insert(
        "kindOf",
        f(&[Any], |_, a, _| Ok(Value::str(a[0].kind_name()))),
    );
    t.insert(
        "kindIs",
        f(&[Str, Any], |_, a, _| b(arg_str(&a, 0) == a[1].kind_name())),
    );
    t.insert(
        "deepEqual",
        f(&[Any, Any], |_, a, _| b(deep_equal(&a[0], &a[1]))),
    );

    // Regular expressions (Go's RE2 syntax; Rust's regex crate accepts the same patterns).
    t.insert(
        "regexMatch",
        f(&[Str, Str], |_, a, _| {
            b(Regex::new(arg_str(&a, 0)).is_ok_and(|r| r.is_match(arg_str(&a, 1))))
        }),
    );
    t.insert(
        "mustRegexMatch",
        f(&[Str, Str], |_, a, _| {
            b(re(arg_str(&a, 0))?.is_match(arg_str(&a, 1)))
        }),
    );
    for name in ["regexFindAll", "mustRegexFindAll"] {
        t.insert(
            name,
            f(&[Str, Str, Int], |_, a, _| {
                let r = re(arg_str(&a, 0))?;
                let n = arg_int(&a, 2);
                let it = r.find_iter(arg_str(&a, 1)).map(|m| m.as_str().to_string());
                let v: Vec<String> = if n < 0 {
                    it.collect()
                } else {
                    it.take(n as usize).collect()
                };
                Ok(Value::str_list(v))
            }),
        );
    }
    for name in ["regexFind", "mustRegexFind"] {
        t.insert(
            name,
            f(&[Str, Str], |_, a, _| {
                let r = re(arg_str(&a, 0))?;
                Ok(Value::str(
                    r.find(arg_str(&a, 1)).map(|m| m.as_str()).unwrap_or(""),
                ))
            }),
        );
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        t.insert(
            name,
            f(&[Str, Str, Str], |_, a, _| {
                let r = re(arg_str(&a, 0))?;
                Ok(Value::str(
                    r.replace_all(arg_str(&a, 1), arg_str(&a, 2)).into_owned(),
                ))
            }),
        );
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        t.insert(
            name,
            f(&[Str, Str, Str], |_, a, _| {
                let r = re(arg_str(&a, 0))?;
                Ok(Value::str(
                    r.replace_all(arg_str(&a, 1), regex::NoExpand(arg_str(&a, 2)))
                        .into_owned(),
                ))
            }),
        );
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        t.insert(
            name,
            f(&[Str, Str, Int], |_, a, _| {
                let r = re(arg_str(&a, 0))?;
                Ok(Value::str_list(go_regex_split(
                    &r,
                    arg_str(&a, 0),
                    arg_str(&a, 1),
                    arg_int(&a, 2),
                )))
            }),
        );
    }
    t.insert(
        "regexQuoteMeta",
        f(&[Str], |_, a, _| {
            Ok(Value::str(regex::escape(arg_str(&a, 0))))
        }),
    );

    // Semantic versions.
    t.insert(
        "semver",
        f(&[Str], |_, a, _| {
            Ok(Value::Obj(Rc::new(Obj::SemVer(Version::parse(arg_str(
                &a, 0,
            ))?))))
        }),
    );
    t.insert(
        "semverCompare",
        f(&[Str, Str], |_, a, _| {
            b(semver_compare(arg_str(&a, 0), arg_str(&a, 1))?)
        }),
    );

    // Dates, on the fixed clock.
    t.insert(
        "now",
        f(&[], |env, _, _| Ok(time_value(env.determinism.now, 0))),
    );
    t.insert(
        "date",
        f(&[Str, Any], |_, a, _| {
            Ok(Value::str(format_date(arg_str(&a, 0), &a[1])))
        }),
    );
    t.insert(
        "date_in_zone",
        f(&[Str, Any, Str], |_, a, _| {
            Ok(Value::str(format_date(arg_str(&a, 0), &a[1])))
        }),
    );
    t.insert(
        "dateInZone",
        f(&[Str, Any, Str], |_, a, _| {
            Ok(Value::str(format_date(arg_str(&a, 0), &a[1])))
        }),
    );
    t.insert(
        "htmlDate",
        f(&[Any], |_, a, _| {
            Ok(Value::str(format_date("2006-01-02", &a[0])))
        }),
    );
    t.insert(
        "htmlDateInZone",
        f(&[Any, Str], |_, a, _| {
            Ok(Value::str(format_date("2006-01-02", &a[0])))
        }),
    );
    t.insert(
        "unixEpoch",
        f(&[Any], |_, a, _| {
            Ok(Value::str(time_of(&a[0]).0.to_string()))
        }),
    );
    t.insert(
        "ago",
        f(&[Any], |env, a, _| {
            let (s, _) = time_of(&a[0]);
            Ok(Value::str(gotime::duration_string(
                ((env.determinism.now - s) as i128) * 1_000_000_000,
            )))
        }),
    );
    t.insert(
        "duration",
        f(&[Any], |_, a, _| {
            let secs = match &a[0] {
                Value::Str(s) => s.parse::<i64>().unwrap_or(0),
                other => to_int64(other),
            };
            Ok(Value::str(gotime::duration_string(
                secs as i128 * 1_000_000_000,
            )))
        }),
    );
    t.insert(
        "durationRound",
        f(&[Any], |_, a, _| {
            let nanos: i128 = match &a[0] {
                Value::Str(s) => gotime::parse_duration(s).unwrap_or(0),
                other => to_int64(other) as i128,
            };
            Ok(Value::str(duration_round(nanos)))
        }),
    );
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        let call: super::Call = if must {
            |_, a, _| {
                let d = gotime::parse_duration(arg_str(&a, 0))?;
                Ok(add_duration(&a[1], d))
            }
        } else {
            |_, a, _| match gotime::parse_duration(arg_str(&a, 0)) {
                Ok(d) => Ok(add_duration(&a[1], d)),
                Err(_) => Ok(a[1].clone()),
            }
        };
        t.insert(name, f(&[Str, Any], call));
    }
    for name in ["toDate", "mustToDate"] {
        t.insert(
            name,
            f(&[Str, Str], |_, a, _| {
                let (layout, s) = (arg_str(&a, 0), arg_str(&a, 1));
                match parse_date(layout, s) {
                    Some(secs) => Ok(time_value(secs, 0)),
                    None => Err(format!(
                        "parsing time {} as {}: cannot parse",
                        crate::gofmt::quote(s),
                        crate::gofmt::quote(layout)
                    )),
                }
            }),
        );
    }

    // Deterministic "random" values.
    t.insert(
        "randAlphaNum",
        f(&[Int], |env, a, _| {
            Ok(Value::str(rand_string(env, arg_int(&a, 0), ALNUM)))
        }),
    );
    t.insert(
        "randAlpha",
        f(&[Int], |env, a, _| {
            Ok(Value::str(rand_string(env, arg_int(&a, 0), ALPHA)))
        }),
    );
    t.insert(
        "randNumeric",
        f(&[Int], |env, a, _| {
            Ok(Value::str(rand_string(env, arg_int(&a, 0), NUMERIC)))
        }),
    );
    t.insert(
        "randAscii",
        f(&[Int], |env, a, _| {
            Ok(Value::str(rand_string(env, arg_int(&a, 0), ASCII)))
        }),
    );
    t.insert(
        "randInt",
        f(&[Int, Int], |env, a, _| {
            let (lo, hi) = (arg_int(&a, 0), arg_int(&a, 1));
            if hi <= lo {
                return Err("invalid argument to Intn".into());
            }
            let span = (hi - lo) as u64;
            Ok(Value::int(lo + (env.determinism.next_u64() % span) as i64))
        }),
    );
    t.insert(
        "randBytes",
        f(&[Int], |env, a, _| {
            use base64::Engine as _;
            let n = arg_int(&a, 0).max(0) as usize;
            let bytes: Vec<u8> = (0..n)
                .map(|_| (env.determinism.next_u64() & 0xff) as u8)
                .collect();
            Ok(Value::str(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ))
        }),
    );
    t.insert(
        "uuidv4",
        f(&[], |env, _, _| {
            let (hi, lo) = (env.determinism.next_u64(), env.determinism.next_u64());
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&hi.to_be_bytes());
            bytes[8..].copy_from_slice(&lo.to_be_bytes());
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            let h = super::strings::hex(&bytes);
            Ok(Value::str(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )))
        }),
    );
    t.insert(
        "shuffle",
        f(&[Str], |env, a, _| {
            let mut cs: Vec<char> = arg_str(&a, 0).chars().collect();
            for i in (1..cs.len()).rev() {
                let j = (env.determinism.next_u64() % (i as u64 + 1)) as usize;
                cs.swap(i, j);
            }
            Ok(Value::str(cs.into_iter().collect::<String>()))
        }),
    );

    // Refused: keys, certificates and salted hashes would change on every render.
    for name in [
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "genPrivateKey",
        "buildCustomCert",
        "bcrypt",
        "htpasswd",
        "derivePassword",
        "encryptAES",
        "decryptAES",
    ] {
        t.insert(name, fv(&[], Any, refuse_crypto));
    }
    t.insert("getHostByName", f(&[Str], |_, _, _| Ok(Value::str(""))));
    t.insert(
        "urlParse",
        f(&[Str], |_, a, _| Ok(url_parse(arg_str(&a, 0)))),
    );
    t.insert(
        "urlJoin",
        f(&[MapAny], |_, a, _| Ok(Value::str(url_join(&a[0])))),
    );
    t.insert("hello", f(&[], |_, _, _| Ok(Value::str("Hello!"))));
}

fn refuse_crypto(_: &mut Env, _: Vec<Value>, _: Option<Value>) -> R {
    Err("key, certificate and password-hash generation is not available in plumb's helm renderer: the sandbox has \
         no entropy and a value that changes on every render cannot be reconciled; create the secret outside the \
         chart (for example with cert-manager) and pass it in through values"
        .into())
}

fn re(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| {
        format!(
            "error parsing regexp: {}",
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid pattern")
                .trim()
        )
    })
}

fn go_regex_split(r: &Regex, expr: &str, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !expr.is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let matches: Vec<(usize, usize)> = r.find_iter(s).map(|m| (m.start(), m.end())).collect();
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (ms, me) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = me;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

pub(super) fn semver_method(name: &str) -> Option<FuncDef> {
    use Ty::*;
    fn sv(r: &Option<Value>) -> Option<&Version> {
        match r {
            Some(Value::Obj(o)) => match &**o {
                Obj::SemVer(v) => Some(v),
                _ => None,
            },
            _ => None,
        }
    }
    fn other(a: &[Value]) -> Result<Version, String> {
        match a.first() {
            Some(Value::Obj(o)) => match &**o {
                Obj::SemVer(v) => Ok(v.clone()),
                _ => Err("wrong type for value; expected *semver.Version".into()),
            },
            _ => Err("wrong type for value; expected *semver.Version".into()),
        }
    }
    Some(match name {
        "Major" => f(&[], |_, _, r| {
            Ok(Value::Int(
                sv(&r).map_or(0, |v| v.major) as i64,
                IntType::Uint64,
            ))
        }),
        "Minor" => f(&[], |_, _, r| {
            Ok(Value::Int(
                sv(&r).map_or(0, |v| v.minor) as i64,
                IntType::Uint64,
            ))
        }),
        "Patch" => f(&[], |_, _, r| {
            Ok(Value::Int(
                sv(&r).map_or(0, |v| v.patch) as i64,
                IntType::Uint64,
            ))
        }),
        "Prerelease" => f(&[], |_, _, r| {
            Ok(Value::str(sv(&r).map_or(String::new(), |v| v.pre.clone())))
        }),
        "Metadata" => f(&[], |_, _, r| {
            Ok(Value::str(
                sv(&r).map_or(String::new(), |v| v.metadata.clone()),
            ))
        }),
        "Original" => f(&[], |_, _, r| {
            Ok(Value::str(
                sv(&r).map_or(String::new(), |v| v.original.clone()),
            ))
        }),
        "String" => f(&[], |_, _, r| {
            Ok(Value::str(sv(&r).map_or(String::new(), |v| v.to_string())))
        }),
        "LessThan" => f(&[Any], |_, a, r| {
            b(sv(&r).is_some_and(|v| other(&a).is_ok_and(|o| v.compare(&o).is_lt())))
        }),
        "GreaterThan" => f(&[Any], |_, a, r| {
            b(sv(&r).is_some_and(|v| other(&a).is_ok_and(|o| v.compare(&o).is_gt())))
        }),
        "Equal" => f(&[Any], |_, a, r| {
            b(sv(&r).is_some_and(|v| other(&a).is_ok_and(|o| v.compare(&o).is_eq())))
        }),
        "Compare" => f(&[Any], |_, a, r| {
            let o = other(&a)?;
            Ok(Value::int(sv(&r).map_or(0, |v| v.compare(&o) as i64)))
        }),
        _ => return None,
    })
}

fn time_value(secs: i64, nanos: u32) -> Value {
    Value::Obj(Rc::new(Obj::Time(secs, nanos)))
}

/// Sprig accepts a time.Time or Unix seconds (int, int32, int64).
fn time_of(v: &Value) -> (i64, u32) {
    match v {
        Value::Obj(o) => match &**o {
            Obj::Time(s, n) => (*s, *n),
            _ => (0, 0),
        },
        Value::Int(i, _) => (*i, 0),
        _ => (0, 0),
    }
}

fn format_date(layout: &str, v: &Value) -> String {
    let (s, n) = time_of(v);
    gotime::format(layout, s, n)
}

fn add_duration(t: &Value, nanos: i128) -> Value {
    let (s, n) = time_of(t);
    let total = s as i128 * 1_000_000_000 + n as i128 + nanos;
    time_value(
        total.div_euclid(1_000_000_000) as i64,
        total.rem_euclid(1_000_000_000) as u32,
    )
}

fn duration_round(nanos: i128) -> String {
    let u = nanos.unsigned_abs() / 1_000_000_000;
    let (y, mo, d, h, m) = (
        60 * 60 * 24 * 365,
        60 * 60 * 24 * 30,
        60 * 60 * 24,
        60 * 60,
        60,
    );
    match u {
        u if u > y => format!("{}y", u / y),
        u if u > mo => format!("{}mo", u / mo),
        u if u > d => format!("{}d", u / d),
        u if u > h => format!("{}h", u / h),
        u if u > m => format!("{}m", u / m),
        u if u > 0 => format!("{u}s"),
        _ => "0s".into(),
    }
}

/// Parses the common layouts `toDate` is used with (date, date-time, RFC 3339).
fn parse_date(layout: &str, s: &str) -> Option<i64> {
    let digits = |x: &str| x.parse::<i64>().ok();
    match layout {
        "2006-01-02" => {
            let p: Vec<&str> = s.split('-').collect();
            if p.len() != 3 {
                return None;
            }
            Some(
                gotime::days_from_civil(digits(p[0])?, digits(p[1])? as u32, digits(p[2])? as u32)
                    * 86_400,
            )
        }
        "2006-01-02T15:04:05Z07:00" | "2006-01-02 15:04:05" | "2006-01-02T15:04:05Z" => {
            let s = s.trim_end_matches('Z');
            let (d, t) = s.split_once(['T', ' '])?;
            let days = parse_date("2006-01-02", d)?;
            let tp: Vec<&str> = t.split(':').collect();
            if tp.len() != 3 {
                return None;
            }
            Some(days + digits(tp[0])? * 3600 + digits(tp[1])? * 60 + digits(tp[2])?)
        }
        _ => None,
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUMERIC: &[u8] = b"0123456789";
const ASCII: &[u8] = b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

fn rand_string(env: &mut Env, n: i64, set: &[u8]) -> String {
    (0..n.max(0))
        .map(|_| set[(env.determinism.next_u64() % set.len() as u64) as usize] as char)
        .collect()
}

fn url_parse(s: &str) -> Value {
    let mut m = std::collections::BTreeMap::new();
    let (rest, fragment) = s.split_once('#').unwrap_or((s, ""));
    let (scheme, rest) = match rest.split_once("://") {
        Some((sc, r)) if !sc.contains('/') => (sc, format!("//{r}")),
        _ => ("", rest.to_string()),
    };
    let (authority, path_q) = if let Some(r) = rest.strip_prefix("//") {
        match r.find('/') {
            Some(i) => (r[..i].to_string(), r[i..].to_string()),
            None => match r.find('?') {
                Some(i) => (r[..i].to_string(), r[i..].to_string()),
                None => (r.to_string(), String::new()),
            },
        }
    } else {
        (String::new(), rest.clone())
    };
    let (path, query) = path_q
        .split_once('?')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or((path_q.clone(), String::new()));
    let (userinfo, host) = authority
        .rsplit_once('@')
        .map(|(u, h)| (u.to_string(), h.to_string()))
        .unwrap_or((String::new(), authority.clone()));
    let hostname = if host.starts_with('[') {
        host.split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
            .to_string()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    m.insert("scheme".into(), Value::str(scheme));
    m.insert("host".into(), Value::str(host.as_str()));
    m.insert("hostname".into(), Value::str(hostname));
    m.insert("path".into(), Value::str(path));
    m.insert("query".into(), Value::str(query));
    m.insert("opaque".into(), Value::str(""));
    m.insert("fragment".into(), Value::str(fragment));
    m.insert("userinfo".into(), Value::str(userinfo));
    Value::new_map(m)
}

fn url_join(v: &Value) -> String {
    let Some(m) = v.as_table() else {
        return String::new();
    };
    let m = m.borrow();
    let get = |k: &str| m.get(k).map(strval).unwrap_or_default();
    let mut out = String::new();
    let scheme = get("scheme");
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    let host = get("host");
    if !host.is_empty() || !scheme.is_empty() {
        out.push_str("//");
        let ui = get("userinfo");
        if !ui.is_empty() {
            out.push_str(&ui);
            out.push('@');
        }
        out.push_str(&host);
    }
    out.push_str(&get("path"));
    let q = get("query");
    if !q.is_empty() {
        out.push('?');
        out.push_str(&q);
    }
    let fr = get("fragment");
    if !fr.is_empty() {
        out.push('#');
        out.push_str(&fr);
    }
    out
}
