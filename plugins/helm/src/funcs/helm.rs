//! Helm's own template functions (`include`, `tpl`, `required`, `fail`, `lookup`, the YAML,
//! JSON and TOML converters) and the methods of `.Capabilities`.

use super::{Table, Ty, arg_str, f};
use crate::template::exec::Env;
use crate::value::{Obj, Value};

type R = Result<Value, String>;

/// Helm wraps `required`/`fail` messages in these markers so that the top-level error can be
/// reduced to `execution error at (FILE:LINE:COL): MESSAGE`.
pub const WARN_START: &str = "HELM_ERR_START";
pub const WARN_END: &str = "HELM_ERR_END";

pub(super) fn register(t: &mut Table) {
    use Ty::*;
    t.insert(
        "include",
        f(&[Str, Any], |env, a, _| {
            env.include(arg_str(&a, 0), a[1].clone()).map(Value::str)
        }),
    );
    t.insert(
        "tpl",
        f(&[Str, Any], |env, a, _| {
            let text = arg_str(&a, 0).to_string();
            env.tpl(&text, a[1].clone(), "gotpl")
                .map(Value::str)
                .map_err(|e| {
                    format!(
                        "error during tpl function execution for {}: {e}",
                        crate::gofmt::quote(&text)
                    )
                })
        }),
    );
    t.insert(
        "required",
        f(&[Str, Any], |_, a, _| {
            let missing = match &a[1] {
                Value::Invalid | Value::Nil => true,
                Value::Str(s) => s.is_empty(),
                _ => false,
            };
            if missing {
                return Err(format!("{WARN_START}{}{WARN_END}", arg_str(&a, 0)));
            }
            Ok(a[1].clone())
        }),
    );
    t.insert(
        "fail",
        f(&[Str], |_, a, _| {
            Err(format!("{WARN_START}{}{WARN_END}", arg_str(&a, 0)))
        }),
    );
    t.insert(
        "lookup",
        f(&[Str, Str, Str, Str], |_, _, _| Ok(Value::empty_map())),
    );
    t.insert(
        "toYaml",
        f(&[Any], |_, a, _| {
            Ok(Value::str(
                crate::yaml::marshal(&a[0]).map(trim_nl).unwrap_or_default(),
            ))
        }),
    );
    t.insert(
        "mustToYaml",
        f(&[Any], |_, a, _| {
            crate::yaml::marshal(&a[0]).map(|s| Value::str(trim_nl(s)))
        }),
    );
    t.insert(
        "toYamlPretty",
        f(&[Any], |_, a, _| {
            Ok(Value::str(
                crate::yaml::marshal_pretty(&a[0])
                    .map(trim_nl)
                    .unwrap_or_default(),
            ))
        }),
    );
    t.insert(
        "fromYaml",
        f(&[Str], |_, a, _| {
            Ok(match crate::yaml::parse_map(arg_str(&a, 0)) {
                Ok(v) => v,
                Err(e) => error_map(e),
            })
        }),
    );
    t.insert("fromYamlArray", f(&[Str], |_, a, _| {
        let r = crate::yaml::parse(arg_str(&a, 0)).map_err(|e| format!("error converting YAML to JSON: {e}")).and_then(|n| match n {
            crate::yaml::YNode::Null => Ok(Value::list(Vec::new())),
            crate::yaml::YNode::Seq(_) => crate::yaml::to_value(&n),
            _ => Err("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}".into()),
        });
        Ok(r.unwrap_or_else(|e| Value::list(vec![Value::str(e)])))
    }));
    t.insert(
        "toJson",
        f(&[Any], |_, a, _| {
            Ok(Value::str(
                crate::json::marshal(&a[0], false).unwrap_or_default(),
            ))
        }),
    );
    t.insert(
        "mustToJson",
        f(&[Any], |_, a, _| {
            crate::json::marshal(&a[0], false).map(Value::str)
        }),
    );
    t.insert(
        "toRawJson",
        f(&[Any], |_, a, _| {
            Ok(Value::str(
                crate::json::marshal(&a[0], true).unwrap_or_default(),
            ))
        }),
    );
    t.insert(
        "mustToRawJson",
        f(&[Any], |_, a, _| {
            crate::json::marshal(&a[0], true).map(Value::str)
        }),
    );
    t.insert(
        "toPrettyJson",
        f(&[Any], |_, a, _| {
            Ok(Value::str(
                crate::json::marshal_indent(&a[0]).unwrap_or_default(),
            ))
        }),
    );
    t.insert(
        "mustToPrettyJson",
        f(&[Any], |_, a, _| {
            crate::json::marshal_indent(&a[0]).map(Value::str)
        }),
    );
    t.insert(
        "fromJson",
        f(&[Str], |_, a, _| {
            Ok(match crate::json::parse_any(arg_str(&a, 0)) {
                Ok(v @ Value::Map(..)) => v,
                Ok(Value::Nil) => Value::empty_map(),
                Ok(other) => error_map(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                )),
                Err(e) => error_map(e),
            })
        }),
    );
    t.insert(
        "fromJsonArray",
        f(&[Str], |_, a, _| {
            Ok(match crate::json::parse_any(arg_str(&a, 0)) {
                Ok(v @ Value::List(..)) => v,
                Ok(Value::Nil) => Value::list(Vec::new()),
                Ok(other) => Value::list(vec![Value::str(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                ))]),
                Err(e) => Value::list(vec![Value::str(e)]),
            })
        }),
    );
    t.insert(
        "mustFromJson",
        f(&[Str], |_, a, _| crate::json::parse_any(arg_str(&a, 0))),
    );
    t.insert(
        "toToml",
        f(&[Any], |_, a, _| {
            Ok(Value::str(crate::toml::encode(&a[0]).unwrap_or_else(|e| e)))
        }),
    );
    t.insert(
        "fromToml",
        f(&[Str], |_, a, _| {
            Ok(crate::toml::decode(arg_str(&a, 0)).unwrap_or_else(error_map))
        }),
    );
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(..) => "array",
        Value::Str(_) => "string",
        Value::Bool(_) => "bool",
        Value::Float(_) | Value::Int(..) => "number",
        _ => "object",
    }
}

fn trim_nl(s: String) -> String {
    s.strip_suffix('\n').map(str::to_string).unwrap_or(s)
}

fn error_map(e: String) -> Value {
    let mut m = std::collections::BTreeMap::new();
    m.insert("Error".to_string(), Value::str(e));
    Value::new_map(m)
}

/// `.Capabilities.APIVersions.Has "apps/v1"`.
pub(super) fn version_set_has(_: &mut Env, a: Vec<Value>, recv: Option<Value>) -> R {
    let want = arg_str(&a, 0);
    Ok(Value::Bool(match recv {
        Some(Value::List(items, _)) => items.iter().any(|v| v.as_str() == Some(want)),
        _ => false,
    }))
}

/// `.Capabilities.KubeVersion.String` / `.GitVersion`.
pub(super) fn kube_version_string(_: &mut Env, _: Vec<Value>, recv: Option<Value>) -> R {
    Ok(match recv {
        Some(Value::Obj(o)) => match &*o {
            Obj::KubeVersion(k) => Value::str(k.version.as_str()),
            _ => Value::str(""),
        },
        _ => Value::str(""),
    })
}
