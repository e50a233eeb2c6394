//! Loading a chart as Helm's loader does: a directory (with `.helmignore` rules) or a `.tgz`
//! archive, split into Chart.yaml metadata, values, schema, templates, other files and
//! subcharts under `charts/` (directories or archives).

use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;

use plumb_plugin_sdk::{EntryKind, Source};

use crate::error::Error;
use crate::ignore::Rules;
use crate::value::Value;
use crate::yaml::{self, YNode};

/// Files as (chart-relative name, content), in load order.
type FileList = Vec<(String, Rc<[u8]>)>;

/// A dependency as declared in Chart.yaml (or requirements.yaml for apiVersion v1).
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub import_values: Vec<Value>,
    pub alias: String,
}

#[derive(Debug, Clone, Default)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// Chart.yaml.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: BTreeMap<String, String>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    pub chart_type: String,
}

/// Where a chart's files live, for diagnostics: a directory or an archive (both root-relative).
#[derive(Debug, Clone)]
pub enum Origin {
    Dir(String),
    Archive { archive: String, prefix: String },
}

impl Origin {
    /// The root-relative path of a file of this chart.
    pub fn file(&self, name: &str) -> String {
        match self {
            Origin::Dir(d) if d.is_empty() => name.to_string(),
            Origin::Dir(d) => format!("{d}/{name}"),
            Origin::Archive { archive, .. } => archive.clone(),
        }
    }

    fn sub(&self, name: &str) -> Origin {
        match self {
            Origin::Dir(d) => Origin::Dir(if d.is_empty() {
                format!("charts/{name}")
            } else {
                format!("{d}/charts/{name}")
            }),
            Origin::Archive { archive, prefix } => Origin::Archive {
                archive: archive.clone(),
                prefix: format!("{prefix}charts/{name}/"),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// Default values (values.yaml); replaced by the merged and imported values during
    /// dependency processing, as Helm does.
    pub values: Value,
    pub schema: Option<Rc<[u8]>>,
    pub templates: Vec<(String, Rc<[u8]>)>,
    /// Every other file, in load order (`.Files`, `crds/`).
    pub files: Vec<(String, Rc<[u8]>)>,
    pub dependencies: Vec<Chart>,
    pub origin: Origin,
    /// `parent/charts/name/...`: set when dependencies are processed.
    pub full_path: String,
    pub is_root: bool,
}

impl Chart {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// `crds/` files with a manifest extension, this chart's first, then its dependencies'.
    pub fn crd_objects(&self, out: &mut Vec<(String, Rc<[u8]>)>) {
        for (name, data) in &self.files {
            if name.starts_with("crds/")
                && (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
            {
                out.push((format!("{}/{}", self.full_path, name), data.clone()));
            }
        }
        for d in &self.dependencies {
            d.crd_objects(out);
        }
    }
}

const MAX_FILE: usize = 5 * 1024 * 1024;

/// Loads the chart in the directory `dir` (root-relative).
pub fn load_dir(source: &dyn Source, dir: &str) -> Result<Chart, Error> {
    let ignore_path = join(dir, ".helmignore");
    let mut rules = match source.read_file(&ignore_path) {
        Ok(bytes) => Rules::parse(&String::from_utf8_lossy(&bytes))
            .map_err(|e| Error::load(&ignore_path, e))?,
        Err(_) => Rules::default(),
    };
    rules.add_defaults();
    let mut files = Vec::new();
    walk(source, dir, "", &rules, &mut files)?;
    load_files(files, Origin::Dir(dir.to_string()))
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{name}"),
    }
}

fn walk(
    source: &dyn Source,
    dir: &str,
    rel: &str,
    rules: &Rules,
    out: &mut Vec<(String, Rc<[u8]>)>,
) -> Result<(), Error> {
    let full = join(dir, rel);
    let entries = source
        .list_dir(&full)
        .map_err(|e| Error::load(&full, format!("cannot list directory: {e}")))?;
    for e in entries {
        let r = if rel.is_empty() {
            e.name.clone()
        } else {
            format!("{rel}/{}", e.name)
        };
        match e.kind {
            EntryKind::Directory => {
                if rules.ignore(&r, true) {
                    continue;
                }
                walk(source, dir, &r, rules, out)?;
            }
            EntryKind::File => {
                if rules.ignore(&r, false) {
                    continue;
                }
                if e.size as usize > MAX_FILE {
                    return Err(Error::load(
                        &join(dir, &r),
                        format!(
                            "chart file {:?} is larger than the maximum file size {MAX_FILE}",
                            e.name
                        ),
                    ));
                }
                let path = join(dir, &r);
                let data = source
                    .read_file(&path)
                    .map_err(|err| Error::load(&path, format!("error reading {r}: {err}")))?;
                let data = data
                    .strip_prefix(b"\xEF\xBB\xBF")
                    .map(<[u8]>::to_vec)
                    .unwrap_or(data);
                out.push((r, Rc::from(data)));
            }
        }
    }
    Ok(())
}

/// Loads a chart archive (`.tgz`): every file lives under one top directory.
pub fn load_archive(data: &[u8], origin: Origin) -> Result<Chart, Error> {
    let archive_name = origin.file("");
    let err = |m: String| Error::load(&archive_name, m);
    let gz = flate2::read::GzDecoder::new(data);
    let mut tar = tar::Archive::new(gz);
    let mut files = Vec::new();
    let mut total = 0usize;
    let entries = tar
        .entries()
        .map_err(|e| err(format!("cannot read chart archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| err(format!("cannot read chart archive: {e}")))?;
        let kind = entry.header().entry_type();
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        let name = entry.path_bytes();
        let name = String::from_utf8_lossy(&name).replace('\\', "/");
        let parts: Vec<&str> = name.split('/').collect();
        if parts.first() == Some(&"Chart.yaml") {
            return Err(err("chart yaml not in base directory".into()));
        }
        let n = crate::funcs::path_clean(&parts[1..].join("/"));
        if n.starts_with('/') {
            return Err(err("chart illegally contains absolute paths".into()));
        }
        if n == "." {
            return Err(err(format!(
                "chart illegally contains content outside the base directory: {name:?}"
            )));
        }
        if n.starts_with("..") {
            return Err(err("chart illegally references parent directory".into()));
        }
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| err(format!("cannot read chart archive: {e}")))?;
        total += buf.len();
        if total > 100 * 1024 * 1024 {
            return Err(err(
                "decompressed chart is larger than the maximum size".into()
            ));
        }
        let buf = buf
            .strip_prefix(b"\xEF\xBB\xBF")
            .map(<[u8]>::to_vec)
            .unwrap_or(buf);
        files.push((n, Rc::from(buf)));
    }
    if files.is_empty() {
        return Err(err("no files in chart archive".into()));
    }
    load_files(files, origin)
}

fn str_field(m: &[(YNode, YNode)], key: &str) -> String {
    for (k, v) in m {
        if matches!(k, YNode::Str(s) if s == key) {
            return scalar_string(v);
        }
    }
    String::new()
}

/// How sigs.k8s.io/yaml turns a scalar into a Go string field (`appVersion: 1.10` is "1.1").
fn scalar_string(v: &YNode) -> String {
    match v {
        YNode::Str(s) => s.clone(),
        YNode::Int(i) => i.to_string(),
        YNode::Uint(u) => u.to_string(),
        YNode::Float(f) => yaml::float32_g(*f),
        YNode::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn field<'a>(m: &'a [(YNode, YNode)], key: &str) -> Option<&'a YNode> {
    m.iter()
        .rev()
        .find(|(k, _)| matches!(k, YNode::Str(s) if s == key))
        .map(|(_, v)| v)
}

fn str_list(v: Option<&YNode>) -> Vec<String> {
    match v {
        Some(YNode::Seq(items)) => items.iter().map(scalar_string).collect(),
        _ => Vec::new(),
    }
}

fn parse_dependencies(v: Option<&YNode>) -> Result<Vec<Dependency>, String> {
    let mut out = Vec::new();
    let Some(YNode::Seq(items)) = v else {
        return Ok(out);
    };
    for item in items {
        let YNode::Map(m) = item else { continue };
        let import_values = match field(m, "import-values") {
            Some(YNode::Seq(ivs)) => ivs
                .iter()
                .map(yaml::to_value)
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        out.push(Dependency {
            name: str_field(m, "name"),
            version: str_field(m, "version"),
            repository: str_field(m, "repository"),
            condition: str_field(m, "condition"),
            tags: str_list(field(m, "tags")),
            enabled: matches!(field(m, "enabled"), Some(YNode::Bool(true))),
            import_values,
            alias: str_field(m, "alias"),
        });
    }
    Ok(out)
}

fn parse_metadata(text: &str) -> Result<Metadata, String> {
    let node = yaml::parse(text).map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let m = match node {
        YNode::Map(m) => m,
        YNode::Null => Vec::new(),
        _ => return Err(
            "error unmarshaling JSON: json: cannot unmarshal into Go value of type chart.Metadata"
                .into(),
        ),
    };
    let maintainers = match field(&m, "maintainers") {
        Some(YNode::Seq(items)) => items
            .iter()
            .filter_map(|i| match i {
                YNode::Map(mm) => Some(Maintainer {
                    name: str_field(mm, "name"),
                    email: str_field(mm, "email"),
                    url: str_field(mm, "url"),
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let annotations = match field(&m, "annotations") {
        Some(YNode::Map(a)) => a
            .iter()
            .map(|(k, v)| (scalar_string(k), scalar_string(v)))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(Metadata {
        name: str_field(&m, "name"),
        home: str_field(&m, "home"),
        sources: str_list(field(&m, "sources")),
        version: str_field(&m, "version"),
        description: str_field(&m, "description"),
        keywords: str_list(field(&m, "keywords")),
        maintainers,
        icon: str_field(&m, "icon"),
        api_version: str_field(&m, "apiVersion"),
        condition: str_field(&m, "condition"),
        tags: str_field(&m, "tags"),
        app_version: str_field(&m, "appVersion"),
        deprecated: matches!(field(&m, "deprecated"), Some(YNode::Bool(true))),
        annotations,
        kube_version: str_field(&m, "kubeVersion"),
        dependencies: parse_dependencies(field(&m, "dependencies"))?,
        chart_type: str_field(&m, "type"),
    })
}

/// Helm's `LoadValues`: one or more YAML documents, merged.
pub fn load_values(text: &str) -> Result<Value, String> {
    let mut acc = Value::empty_map();
    for doc in split_yaml_documents(text) {
        let v = yaml::parse_map(&doc)?;
        acc = crate::values::merge_maps(&acc, &v);
    }
    Ok(acc)
}

/// Splits a YAML stream at `---` document markers (k8s' YAMLReader).
fn split_yaml_documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || (bare.starts_with("--- ") || bare.starts_with("---\t")) {
            if !cur.trim().is_empty() {
                docs.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        }
        cur.push_str(line);
    }
    if !cur.trim().is_empty() || docs.is_empty() {
        docs.push(cur);
    }
    docs
}

fn load_files(files: Vec<(String, Rc<[u8]>)>, origin: Origin) -> Result<Chart, Error> {
    let mut metadata: Option<Metadata> = None;
    let mut values = Value::empty_map();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut requirements: Option<Vec<Dependency>> = None;
    let mut subcharts: BTreeMap<String, FileList> = BTreeMap::new();
    let mut sub_order: Vec<String> = Vec::new();
    for (name, data) in files {
        let text = || String::from_utf8_lossy(&data).into_owned();
        match name.as_str() {
            "Chart.yaml" => {
                let md = parse_metadata(&text()).map_err(|e| {
                    Error::load(&origin.file(&name), format!("cannot load Chart.yaml: {e}"))
                })?;
                metadata = Some(md);
            }
            "values.yaml" => {
                values = load_values(&text()).map_err(|e| {
                    Error::load(&origin.file(&name), format!("cannot load values.yaml: {e}"))
                })?;
            }
            "values.schema.json" => schema = Some(data.clone()),
            "requirements.yaml" => {
                let node = yaml::parse(&text()).map_err(|e| {
                    Error::load(
                        &origin.file(&name),
                        format!("cannot load requirements.yaml: {e}"),
                    )
                })?;
                if let YNode::Map(m) = node {
                    requirements =
                        Some(parse_dependencies(field(&m, "dependencies")).map_err(|e| {
                            Error::load(
                                &origin.file(&name),
                                format!("cannot load requirements.yaml: {e}"),
                            )
                        })?);
                }
                other.push((name, data));
            }
            "Chart.lock" | "requirements.lock" => {
                if name == "requirements.lock" {
                    other.push((name, data));
                }
            }
            n if n.starts_with("templates/") => templates.push((name, data)),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    other.push((name, data));
                    continue;
                }
                let fname = &n["charts/".len()..];
                let cname = fname.split('/').next().unwrap_or("").to_string();
                if !subcharts.contains_key(&cname) {
                    sub_order.push(cname.clone());
                }
                subcharts
                    .entry(cname)
                    .or_default()
                    .push((fname.to_string(), data));
            }
            _ => other.push((name, data)),
        }
    }
    let Some(mut metadata) = metadata else {
        return Err(Error::load(
            &origin.file("Chart.yaml"),
            "Chart.yaml file is missing".into(),
        ));
    };
    if metadata.api_version.is_empty() || metadata.api_version == "v1" {
        if let Some(reqs) = requirements {
            metadata.dependencies = reqs;
        }
    } else {
        // requirements.yaml is only read for v1 charts (and then kept among the files).
        other.retain(|(n, _)| n != "requirements.yaml" && n != "requirements.lock");
    }
    validate(&metadata)
        .map_err(|e| Error::load(&origin.file("Chart.yaml"), format!("validation: {e}")))?;

    let mut dependencies = Vec::new();
    for cname in sub_order {
        let Some(files) = subcharts.remove(&cname) else {
            continue;
        };
        if cname.starts_with('_') || cname.starts_with('.') {
            continue;
        }
        let sub_origin = origin.sub(&cname);
        let sc = if cname.ends_with(".tgz") {
            let (fname, data) = &files[0];
            if *fname != cname {
                return Err(Error::load(
                    &origin.file(&format!("charts/{cname}")),
                    format!(
                        "error unpacking subchart tar in {}: expected {cname}, got {fname}",
                        metadata.name
                    ),
                ));
            }
            let archive_origin = match &origin {
                Origin::Dir(_) => Origin::Archive {
                    archive: origin.file(&format!("charts/{cname}")),
                    prefix: String::new(),
                },
                Origin::Archive { archive, .. } => Origin::Archive {
                    archive: archive.clone(),
                    prefix: String::new(),
                },
            };
            load_archive(data, archive_origin).map_err(|e| {
                e.context(&format!(
                    "error unpacking subchart tar in {}",
                    metadata.name
                ))
            })?
        } else {
            let inner: Vec<(String, Rc<[u8]>)> = files
                .into_iter()
                .filter_map(|(n, d)| n.split_once('/').map(|(_, rest)| (rest.to_string(), d)))
                .collect();
            load_files(inner, sub_origin).map_err(|e| {
                e.context(&format!(
                    "error unpacking subchart {cname} in {}",
                    metadata.name
                ))
            })?
        };
        dependencies.push(sc);
    }
    Ok(Chart {
        metadata,
        values,
        schema,
        templates,
        files: other,
        dependencies,
        origin,
        full_path: String::new(),
        is_root: false,
    })
}

fn validate(m: &Metadata) -> Result<(), String> {
    if m.api_version.is_empty() {
        return Err("chart.metadata.apiVersion is required".into());
    }
    if m.name.is_empty() {
        return Err("chart.metadata.name is required".into());
    }
    if m.name.contains(['/', '\\']) || m.name == "." || m.name == ".." {
        return Err(format!("chart.metadata.name {:?} is invalid", m.name));
    }
    if m.version.is_empty() {
        return Err("chart.metadata.version is required".into());
    }
    if crate::semver::Version::parse(&m.version).is_err() {
        return Err(format!("chart.metadata.version {:?} is invalid", m.version));
    }
    if !matches!(m.chart_type.as_str(), "" | "application" | "library") {
        return Err("chart.metadata.type must be application or library".into());
    }
    for d in &m.dependencies {
        if d.name.is_empty() {
            return Err("dependencies must have a name".into());
        }
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            ));
        }
    }
    Ok(())
}
