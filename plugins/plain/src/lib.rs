//! `plain`: a directory of Kubernetes manifests, as they are.
//!
//! Order (stable, documented in README): depth-first through the app directory, entries in byte
//! order of their names (as Argo CD's directory source walks), documents in file order. A `List`
//! document contributes its items. Skipped: hidden entries (`.name`), files that are not
//! `.yaml`/`.yml`/`.json`, the app spec `plumb.yaml`, empty documents.

use plumb_plugin_sdk::{
    Context, Diagnostic, EntryKind, Metadata, Object, Rendered, Renderer, Source, SourceError,
    schemars::{self, JsonSchema},
};
use serde::Deserialize;
use serde_json::Value;

/// Settings of the `plain` renderer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// Descend into subdirectories.
    #[serde(default = "default_true")]
    pub recurse: bool,
    /// Glob patterns, relative to the app directory, of manifest files to leave out (e.g. `tests/**`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// When set, only manifest files matching one of these globs are read.
    #[serde(default)]
    pub include: Vec<String>,
}

fn default_true() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recurse: true,
            exclude: Vec::new(),
            include: Vec::new(),
        }
    }
}

pub struct Plain;

impl Renderer for Plain {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "plain",
            env!("CARGO_PKG_VERSION"),
            "A directory of plain YAML/JSON Kubernetes manifests, read recursively in a stable order",
        )
    }

    fn render(
        settings: Settings,
        ctx: &Context,
        source: &dyn Source,
    ) -> Result<Rendered, Diagnostic> {
        render(&settings, &ctx.path, source)
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_renderer!(Plain);

fn compile(patterns: &[String], what: &str) -> Result<Vec<glob::Pattern>, Diagnostic> {
    patterns
        .iter()
        .map(|p| {
            glob::Pattern::new(p)
                .map_err(|e| Diagnostic::new(format!("settings.{what}: invalid glob {p:?}: {e}")))
        })
        .collect()
}

/// Renders every manifest under `dir` (root-relative).
pub fn render(settings: &Settings, dir: &str, source: &dyn Source) -> Result<Rendered, Diagnostic> {
    let include = compile(&settings.include, "include")?;
    let exclude = compile(&settings.exclude, "exclude")?;
    match source.stat(dir) {
        Ok(EntryKind::Directory) => {}
        Ok(EntryKind::File) => {
            return Err(Diagnostic::new(format!(
                "{dir:?} is a file; the plain renderer needs a directory"
            )));
        }
        Err(e) => {
            return Err(Diagnostic::new(format!(
                "cannot open the app directory {dir:?}: {e}"
            )));
        }
    }
    let mut files = Vec::new();
    walk(source, dir, "", settings.recurse, &mut files)?;
    let opts = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    let mut out = Rendered::default();
    for (full, rel) in files {
        if exclude.iter().any(|p| p.matches_with(&rel, opts)) {
            continue;
        }
        if !include.is_empty() && !include.iter().any(|p| p.matches_with(&rel, opts)) {
            continue;
        }
        let bytes = source.read_file(&full).map_err(|e| read_error(&full, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Diagnostic::new("file is not valid UTF-8").in_file(&full))?;
        let values = if full.ends_with(".json") {
            parse_json(&full, &text)?
        } else {
            parse_yaml(&full, &text)?
        };
        for (value, line) in values {
            push_object(&mut out, value, &full, line)?;
        }
    }
    Ok(out)
}

fn read_error(path: &str, e: SourceError) -> Diagnostic {
    Diagnostic::new(format!("cannot read: {e}")).in_file(path)
}

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

/// Depth-first, names in byte order (the host lists them sorted). Collects (root-relative path,
/// app-relative path) of every manifest file.
fn walk(
    source: &dyn Source,
    dir: &str,
    rel: &str,
    recurse: bool,
    files: &mut Vec<(String, String)>,
) -> Result<(), Diagnostic> {
    let entries = source
        .list_dir(dir)
        .map_err(|e| Diagnostic::new(format!("cannot list directory: {e}")).in_file(dir))?;
    for entry in entries {
        if entry.name.starts_with('.') {
            continue;
        }
        let full = if dir.is_empty() {
            entry.name.clone()
        } else {
            format!("{dir}/{}", entry.name)
        };
        let rel_path = if rel.is_empty() {
            entry.name.clone()
        } else {
            format!("{rel}/{}", entry.name)
        };
        match entry.kind {
            EntryKind::Directory if recurse => walk(source, &full, &rel_path, recurse, files)?,
            EntryKind::Directory => {}
            EntryKind::File => {
                if rel.is_empty() && entry.name == "plumb.yaml" {
                    continue;
                }
                if is_manifest(&entry.name) {
                    files.push((full, rel_path));
                }
            }
        }
    }
    Ok(())
}

fn parse_json(file: &str, text: &str) -> Result<Vec<(Value, u32)>, Diagnostic> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Diagnostic::new(format!("invalid JSON: {e}"))
            .in_file(file)
            .at(e.line() as u32, Some(e.column() as u32))
    })?;
    Ok(vec![(value, 1)])
}

/// Splits a YAML stream at `---` lines, keeping each document's first line for messages.
fn split_documents(text: &str) -> Vec<(String, u32)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1u32;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let lineno = i as u32 + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if is_marker || bare == "..." {
            docs.push((std::mem::take(&mut current), start));
            start = lineno;
            if is_marker {
                // `--- {a: 1}`: content after the marker belongs to the new document. Keep the
                // line (minus the marker) so line numbers stay right.
                current.push_str(&line[3..]);
            } else {
                current.push('\n');
            }
            continue;
        }
        current.push_str(line);
    }
    docs.push((current, start));
    docs
}

fn parse_yaml(file: &str, text: &str) -> Result<Vec<(Value, u32)>, Diagnostic> {
    let mut out = Vec::new();
    for (doc, start) in split_documents(text) {
        if doc.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        }) {
            continue;
        }
        let value: Value =
            serde_saphyr::from_str_with_options(&doc, yaml_options()).map_err(|e| {
                let mut d =
                    Diagnostic::new(format!("invalid YAML: {}", yaml_message(&e.to_string())))
                        .in_file(file);
                if let Some(loc) = e.location() {
                    d = d.at(start + loc.line() as u32 - 1, Some(loc.column() as u32));
                } else {
                    d = d.at(start, None);
                }
                d
            })?;
        if !value.is_null() {
            out.push((value, start));
        }
    }
    Ok(out)
}

/// Scalars are read as `kubectl apply -f` reads them (sigs.k8s.io/yaml, YAML 1.1): `0644` is
/// octal 420, `yes`/`on` are booleans. Anything else would silently change what gets applied.
fn yaml_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.legacy_octal_numbers = true;
    o.strict_booleans = false;
    o
}

/// The parser's message without its own "error: line N column M:" prefix (the diagnostic
/// carries the position, corrected for the document's offset in the file).
fn yaml_message(s: &str) -> &str {
    let first = s.lines().next().unwrap_or(s);
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    match rest.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, msg))
            if pos
                .split(' ')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok()) =>
        {
            msg
        }
        _ => rest,
    }
}

/// Checks that `value` is a Kubernetes object (or a `List` of them) and appends it.
fn push_object(out: &mut Rendered, value: Value, file: &str, line: u32) -> Result<(), Diagnostic> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if is_list {
        if let Some(Value::Array(items)) = value.get("items") {
            for item in items {
                check_object(item, file, line)?;
                out.objects.push(Object {
                    value: item.clone(),
                    origin: Some(file.to_string()),
                });
            }
        }
        return Ok(());
    }
    check_object(&value, file, line)?;
    out.objects.push(Object {
        value,
        origin: Some(file.to_string()),
    });
    Ok(())
}

fn check_object(value: &Value, file: &str, line: u32) -> Result<(), Diagnostic> {
    let fail = |what: &str| {
        Err(Diagnostic::new(format!(
            "not a Kubernetes object: {what}; move the file out of the app directory or list it in the \
             renderer's `exclude` setting"
        ))
        .in_file(file)
        .at(line, None))
    };
    let Some(map) = value.as_object() else {
        return fail("the document is not a mapping");
    };
    if !map.get("apiVersion").is_some_and(Value::is_string) {
        return fail("`apiVersion` is missing");
    }
    if !map.get("kind").is_some_and(Value::is_string) {
        return fail("`kind` is missing");
    }
    match map.get("metadata").and_then(|m| m.get("name")) {
        Some(Value::String(n)) if !n.is_empty() => {}
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return fail("`metadata.name` is missing");
        }
        Some(other) => {
            return fail(&format!(
                "`metadata.name` is {other}, not a string (quote it)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_plugin_sdk::testing::DirSource;
    use std::fs;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        dir
    }

    fn names(r: &Rendered) -> Vec<String> {
        r.objects
            .iter()
            .map(|o| o.value["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\n";

    #[test]
    fn walks_depth_first_in_name_order_and_splits_documents() {
        let d = tree(&[
            ("b.yaml", &CM.replace("NAME", "b")),
            (
                "a/z.yml",
                &format!(
                    "# leading comment\n{}---\n---\n{}",
                    CM.replace("NAME", "a-z1"),
                    CM.replace("NAME", "a-z2")
                ),
            ),
            (
                "a.json",
                r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a-json"}}"#,
            ),
            ("README.md", "not yaml"),
            (".hidden/x.yaml", &CM.replace("NAME", "hidden")),
            ("plumb.yaml", "apiVersion: plumb.dev/v1alpha1\nkind: App\n"),
        ]);
        let r = render(&Settings::default(), "", &DirSource::new(d.path())).unwrap();
        assert_eq!(names(&r), ["a-z1", "a-z2", "a-json", "b"]);
        assert_eq!(r.objects[0].origin.as_deref(), Some("a/z.yml"));
    }

    #[test]
    fn respects_recurse_include_and_exclude() {
        let d = tree(&[
            ("app/x.yaml", &CM.replace("NAME", "x")),
            ("app/sub/y.yaml", &CM.replace("NAME", "why")),
            ("app/tests/t.yaml", &CM.replace("NAME", "t")),
        ]);
        let src = DirSource::new(d.path());
        let flat = Settings {
            recurse: false,
            ..Default::default()
        };
        assert_eq!(names(&render(&flat, "app", &src).unwrap()), ["x"]);
        let excl = Settings {
            exclude: vec!["tests/*".into()],
            ..Default::default()
        };
        assert_eq!(names(&render(&excl, "app", &src).unwrap()), ["why", "x"]);
        let incl = Settings {
            include: vec!["sub/*.yaml".into()],
            ..Default::default()
        };
        assert_eq!(names(&render(&incl, "app", &src).unwrap()), ["why"]);
    }

    #[test]
    fn flattens_lists() {
        let d = tree(&[(
            "l.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: one}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: two}\n",
        )]);
        let r = render(&Settings::default(), "", &DirSource::new(d.path())).unwrap();
        assert_eq!(names(&r), ["one", "two"]);
    }

    #[test]
    fn invalid_yaml_names_file_and_line() {
        let d = tree(&[(
            "bad.yaml",
            &format!(
                "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
                CM.replace("NAME", "ok")
            ),
        )]);
        let err = render(&Settings::default(), "", &DirSource::new(d.path())).unwrap_err();
        assert_eq!(err.file.as_deref(), Some("bad.yaml"));
        let line = err.line.expect("a line number");
        assert!(
            (5..=9).contains(&line),
            "line {line} should point into the second document: {err}"
        );
        assert!(err.message.starts_with("invalid YAML"), "{err}");
    }

    #[test]
    fn scalars_read_as_kubectl_reads_them() {
        let d = tree(&[(
            "s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nmode: 0644\nflag: yes\nversion: 1.10\n",
        )]);
        let r = render(&Settings::default(), "", &DirSource::new(d.path())).unwrap();
        let v = &r.objects[0].value;
        assert_eq!(v["mode"], 420);
        assert_eq!(v["flag"], true);
        assert_eq!(v["version"], 1.1);
        let d = tree(&[(
            "y.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n",
        )]);
        let err = render(&Settings::default(), "", &DirSource::new(d.path())).unwrap_err();
        assert!(
            err.message
                .contains("`metadata.name` is true, not a string (quote it)"),
            "{err}"
        );
    }

    #[test]
    fn non_objects_are_errors_naming_the_file() {
        let d = tree(&[("values.yaml", "replicas: 3\n")]);
        let err = render(&Settings::default(), "", &DirSource::new(d.path())).unwrap_err();
        assert_eq!(err.file.as_deref(), Some("values.yaml"));
        assert!(err.message.contains("`apiVersion` is missing"), "{err}");
        assert!(err.message.contains("exclude"), "{err}");
    }

    #[test]
    fn an_app_path_that_is_a_file_is_refused() {
        let d = tree(&[("x.yaml", &CM.replace("NAME", "x"))]);
        let err = render(&Settings::default(), "x.yaml", &DirSource::new(d.path())).unwrap_err();
        assert!(err.message.contains("needs a directory"), "{err}");
    }
}
