//! `.Files`: a chart's files other than templates, values and subcharts, with Helm's methods
//! (`Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`).

use std::collections::BTreeMap;
use std::rc::Rc;

use regex::Regex;

use crate::funcs::{FuncDef, Ty, f};
use crate::value::{Obj, Value};

#[derive(Debug, Clone, Default)]
pub struct Files {
    entries: Rc<BTreeMap<String, Rc<[u8]>>>,
}

impl Files {
    pub fn new(entries: BTreeMap<String, Rc<[u8]>>) -> Self {
        Files {
            entries: Rc::new(entries),
        }
    }

    pub fn entries(&self) -> &BTreeMap<String, Rc<[u8]>> {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get_bytes(&self, name: &str) -> Option<Rc<[u8]>> {
        self.entries.get(name).cloned()
    }
}

fn recv_files(r: &Option<Value>) -> Files {
    match r {
        Some(Value::Obj(o)) => match &**o {
            Obj::Files(f) => f.clone(),
            _ => Files::default(),
        },
        _ => Files::default(),
    }
}

fn base(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

pub fn method(name: &str) -> Option<FuncDef> {
    Some(match name {
        "Get" => f(&[Ty::Str], |_, a, r| {
            let files = recv_files(&r);
            let name = a.first().and_then(Value::as_str).unwrap_or("");
            Ok(Value::str(
                files
                    .get_bytes(name)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
            ))
        }),
        "GetBytes" => f(&[Ty::Str], |_, a, r| {
            let files = recv_files(&r);
            let name = a.first().and_then(Value::as_str).unwrap_or("");
            Ok(Value::Bytes(
                files.get_bytes(name).unwrap_or_else(|| Rc::from(&[][..])),
            ))
        }),
        "Glob" => f(&[Ty::Str], |_, a, r| {
            let files = recv_files(&r);
            let pattern = a.first().and_then(Value::as_str).unwrap_or("");
            let re =
                glob_regex(pattern).unwrap_or_else(|| glob_regex("**").unwrap_or_else(match_all));
            let matched: BTreeMap<String, Rc<[u8]>> = files
                .entries
                .iter()
                .filter(|(k, _)| re.is_match(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Value::Obj(Rc::new(Obj::Files(Files::new(matched)))))
        }),
        "Lines" => f(&[Ty::Str], |_, a, r| {
            let files = recv_files(&r);
            let name = a.first().and_then(Value::as_str).unwrap_or("");
            let Some(data) = files.get_bytes(name) else {
                return Ok(Value::str_list(Vec::new()));
            };
            if data.is_empty() {
                return Err("runtime error: index out of range [-1]".into());
            }
            let s = String::from_utf8_lossy(&data).into_owned();
            let s = s.strip_suffix('\n').unwrap_or(&s);
            Ok(Value::str_list(s.split('\n').map(str::to_string).collect()))
        }),
        "AsConfig" => f(&[], |_, _, r| {
            let files = recv_files(&r);
            let m: BTreeMap<String, Value> = files
                .entries
                .iter()
                .map(|(k, v)| (base(k), Value::str(String::from_utf8_lossy(v).into_owned())))
                .collect();
            as_yaml(m)
        }),
        "AsSecrets" => f(&[], |_, _, r| {
            use base64::Engine as _;
            let files = recv_files(&r);
            let m: BTreeMap<String, Value> = files
                .entries
                .iter()
                .map(|(k, v)| {
                    (
                        base(k),
                        Value::str(base64::engine::general_purpose::STANDARD.encode(v)),
                    )
                })
                .collect();
            as_yaml(m)
        }),
        _ => return None,
    })
}

fn as_yaml(m: BTreeMap<String, Value>) -> Result<Value, String> {
    let s = crate::yaml::marshal(&Value::new_map(m)).unwrap_or_default();
    Ok(Value::str(s.strip_suffix('\n').unwrap_or(&s)))
}

fn match_all() -> Regex {
    Regex::new("").expect("constant regex")
}

/// gobwas/glob with `/` as separator: `*` and `?` stay within a path segment, `**` crosses
/// segments, `[...]`/`[!...]` classes, `{a,b}` alternatives, `\` escapes.
pub fn glob_regex(pattern: &str) -> Option<Regex> {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut depth = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => {
                if chars.get(i + 1) == Some(&'*') {
                    re.push_str(".*");
                    i += 1;
                } else {
                    re.push_str("[^/]*");
                }
            }
            '?' => re.push_str("[^/]"),
            '[' => {
                let mut j = i + 1;
                let mut class = String::from("[");
                if matches!(chars.get(j), Some('!') | Some('^')) {
                    class.push('^');
                    j += 1;
                }
                let mut closed = false;
                while j < chars.len() {
                    if chars[j] == ']' {
                        closed = true;
                        break;
                    }
                    if chars[j] == '\\' || chars[j] == '[' {
                        class.push('\\');
                    }
                    class.push(chars[j]);
                    j += 1;
                }
                if !closed {
                    return None;
                }
                class.push(']');
                re.push_str(&class);
                i = j;
            }
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '\\' => {
                i += 1;
                if let Some(n) = chars.get(i) {
                    re.push_str(&regex::escape(&n.to_string()));
                }
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    re.push('$');
    Regex::new(&re).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_gobwas() {
        let r = glob_regex("files/*.yaml").unwrap();
        assert!(r.is_match("files/a.yaml"));
        assert!(!r.is_match("files/x/a.yaml"));
        assert!(glob_regex("files/**").unwrap().is_match("files/x/a.yaml"));
        assert!(glob_regex("{a,b}.txt").unwrap().is_match("b.txt"));
    }
}
