//! Building a kustomization (Kustomize's `KustTarget`): resources and bases first, then
//! configurations, generators, components, transformers; the name hashes, name references,
//! vars and local-config removal happen once, at the top.

use plumb_plugin_sdk::{Diagnostic, EntryKind, Source, SourceError, normalize_path};
use serde_json::{Map, Value};

use crate::Error;
use crate::config::{FieldSpec, TransformerConfig, merge_fs};
use crate::generators::{self, KvLoader};
use crate::kustomization::{Kustomization, Patch, Replacement, Var};
use crate::model::{Behavior, LegacyOrder, Resource};
use crate::transform::{self, SelectorMatcher};
use crate::yaml;

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What a kustomization (and everything below it) has produced so far.
#[derive(Default)]
pub struct Acc {
    pub res: Vec<Resource>,
    /// Ids of `res` while resources are only being appended (rebuilt after any transform), so
    /// that appending many files stays linear.
    ids: Option<std::collections::HashSet<IdKey>>,
    pub config: TransformerConfig,
    pub vars: Vec<Var>,
}

pub struct Builder<'a> {
    src: &'a dyn Source,
    pub warnings: Vec<Diagnostic>,
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn display_dir(dir: &str) -> String {
    if dir.is_empty() {
        ".".into()
    } else {
        dir.to_string()
    }
}

/// Whether a `resources:` entry names something Kustomize would fetch over the network.
fn is_remote(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    [
        "http://", "https://", "git::", "git@", "ssh://", "file://", "s3::", "gcs::",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || lower.contains("?ref=")
        || lower.contains("?version=")
        || [
            "github.com/",
            "gitlab.com/",
            "bitbucket.org/",
            "dev.azure.com/",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
}

fn remote_error(entry: &str, kfile: &str) -> Error {
    Error::in_file(
        kfile,
        format!(
            "remote resource {entry:?} is not supported: plumb renders offline from the repository alone. \
             Vendor it instead: copy the remote base into this repository (for example under vendor/) and \
             list that local directory in `resources`"
        ),
    )
}

impl<'a> Builder<'a> {
    pub fn new(src: &'a dyn Source) -> Self {
        Builder {
            src,
            warnings: Vec::new(),
        }
    }

    fn stat(&self, path: &str) -> Option<EntryKind> {
        self.src.stat(path).ok()
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, Error> {
        self.src.read_file(path).map_err(|e| match e {
            SourceError::NotFound => Error::in_file(path, "no such file or directory"),
            other => Error::in_file(path, format!("cannot read: {other}")),
        })
    }

    fn read_text(&self, path: &str) -> Result<String, Error> {
        String::from_utf8(self.read(path)?)
            .map_err(|_| Error::in_file(path, "file is not valid UTF-8"))
    }

    /// Resolves `rel` against the kustomization directory `dir`; anything leaving the source
    /// root is refused.
    fn resolve(&self, dir: &str, rel: &str, kfile: &str) -> Result<String, Error> {
        normalize_path(dir, rel).ok_or_else(|| {
            Error::in_file(
                kfile,
                format!(
                    "{rel:?} resolves outside the repository root; a kustomization may only read files inside the repository"
                ),
            )
        })
    }

    /// A file the kustomization in `dir` reads (patch, generator source, configuration): it must
    /// be in or below `dir` (Kustomize's default load restrictor).
    fn restricted_file(&self, dir: &str, rel: &str, kfile: &str) -> Result<String, Error> {
        let path = self.resolve(dir, rel, kfile)?;
        let inside = dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"));
        if !inside {
            return Err(Error::in_file(
                kfile,
                format!(
                    "security; file '{path}' is not in or below '{}'",
                    display_dir(dir)
                ),
            ));
        }
        Ok(path)
    }

    fn warn(&mut self, kfile: &str, field: &str, instead: &str) {
        let experimental = if field == "vars" {
            " [EXPERIMENTAL]"
        } else {
            ""
        };
        self.warnings.push(
            Diagnostic::new(format!(
                "'{field}' is deprecated. Please use '{instead}' instead.{experimental} Run 'kustomize edit fix' to update your Kustomization automatically."
            ))
            .in_file(kfile),
        );
    }

    /// Finds and parses the kustomization file of `dir`.
    fn load_kustomization(&mut self, dir: &str) -> Result<(Kustomization, String), Error> {
        let found: Vec<String> = KUSTOMIZATION_FILES
            .iter()
            .map(|n| join(dir, n))
            .filter(|p| self.stat(p) == Some(EntryKind::File))
            .collect();
        let kfile = match found.as_slice() {
            [] => {
                return Err(Error::in_file(
                    dir,
                    format!(
                        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                        display_dir(dir)
                    ),
                ));
            }
            [one] => one.clone(),
            _ => {
                return Err(Error::in_file(
                    dir,
                    format!(
                        "Found multiple kustomization files under: {}",
                        display_dir(dir)
                    ),
                ));
            }
        };
        let text = self.read_text(&kfile)?;
        let value = yaml::parse_one(&text).map_err(|e| Error::yaml(&kfile, e))?;
        let value = if value.is_null() {
            Value::Object(Map::new())
        } else {
            canonical_keys(drop_nulls(value))
        };
        let mut k: Kustomization = serde_json::from_value(value)
            .map_err(|e| Error::in_file(&kfile, format!("invalid Kustomization: {e}")))?;
        if !k.bases.is_empty() {
            self.warn(&kfile, "bases", "resources");
        }
        if !k.common_labels.is_empty() {
            self.warn(&kfile, "commonLabels", "labels");
        }
        if !k.image_tags.is_empty() {
            self.warn(&kfile, "imageTags", "images");
        }
        if !k.patches_json6902.is_empty() {
            self.warn(&kfile, "patchesJson6902", "patches");
        }
        if !k.patches_strategic_merge.is_empty() {
            self.warn(&kfile, "patchesStrategicMerge", "patches");
        }
        if !k.vars.is_empty() {
            self.warn(&kfile, "vars", "replacements");
        }
        let bases = std::mem::take(&mut k.bases);
        k.resources.extend(bases);
        let tags = std::mem::take(&mut k.image_tags);
        k.images.extend(tags);
        for (field, unsupported) in [
            ("crds", !k.crds.is_empty()),
            ("openapi", k.open_api.is_some()),
            (
                "helmCharts",
                !k.helm_charts.is_empty() || !k.helm_chart_inflation_generator.is_empty(),
            ),
            ("generators", !k.generators.is_empty()),
            ("transformers", !k.transformers.is_empty()),
            ("validators", !k.validators.is_empty()),
        ] {
            if unsupported {
                return Err(Error::in_file(
                    &kfile,
                    format!(
                        "`{field}` is not supported by plumb's kustomize renderer (it would run plugins or read schemas); render the app with a renderer that supports it"
                    ),
                ));
            }
        }
        Ok((k, kfile))
    }

    /// Parses a file of resources.
    fn resources_from_file(&self, path: &str) -> Result<Vec<Resource>, Error> {
        let text = self.read_text(path)?;
        resources_from_text(&text, path)
    }

    /// Builds the kustomization in `dir` into `acc` (a fresh accumulator for a kustomization,
    /// the parent's for a component).
    pub fn accumulate(
        &mut self,
        dir: &str,
        chain: &mut Vec<String>,
        acc: Acc,
        component: bool,
    ) -> Result<Acc, Error> {
        let (k, kfile) = self.load_kustomization(dir)?;
        let is_component = k.kind == "Component";
        if component && !is_component {
            return Err(Error::in_file(
                &kfile,
                format!(
                    "expected kind 'Component' for path '{}' but got '{}'",
                    display_dir(dir),
                    if k.kind.is_empty() {
                        "Kustomization"
                    } else {
                        &k.kind
                    }
                ),
            ));
        }
        if !component && is_component {
            return Err(Error::in_file(
                &kfile,
                format!(
                    "expected kind != 'Component' for path '{}'",
                    display_dir(dir)
                ),
            ));
        }
        chain.push(dir.to_string());
        let result = self.accumulate_inner(dir, &kfile, &k, chain, acc);
        chain.pop();
        result
    }

    fn accumulate_inner(
        &mut self,
        dir: &str,
        kfile: &str,
        k: &Kustomization,
        chain: &mut Vec<String>,
        mut acc: Acc,
    ) -> Result<Acc, Error> {
        for entry in &k.resources {
            acc = self.accumulate_resource(acc, dir, kfile, entry, chain)?;
        }
        let mut cfg = TransformerConfig::builtin();
        for c in &k.configurations {
            let path = self.restricted_file(dir, c, kfile)?;
            let text = self.read_text(&path)?;
            let v = yaml::parse_one(&text).map_err(|e| Error::yaml(&path, e))?;
            let extra = TransformerConfig::from_value(v).map_err(|e| Error::in_file(&path, e))?;
            cfg.merge(extra);
        }
        acc.config.merge(cfg);
        acc.ids = None;
        self.run_generators(&mut acc, dir, kfile, k)?;
        for c in &k.components {
            if is_remote(c) {
                return Err(remote_error(c, kfile));
            }
            let cdir = self.resolve(dir, c, kfile)?;
            if self.stat(&cdir) != Some(EntryKind::Directory) {
                return Err(Error::in_file(
                    kfile,
                    format!(
                        "component '{c}' is not a directory ('{}' does not exist or is a file)",
                        cdir
                    ),
                ));
            }
            self.check_cycle(&cdir, chain, kfile)?;
            acc = self.accumulate(&cdir, chain, acc, true)?;
        }
        acc.ids = None;
        self.run_transformers(&mut acc, dir, kfile, k)?;
        acc.ids = None;
        crate::refs::check_vars(&acc.res, &k.vars)?;
        for v in &k.vars {
            if acc.vars.iter().any(|x| x.name == v.name) {
                return Err(Error::in_file(
                    kfile,
                    format!("var '{}' already encountered", v.name),
                ));
            }
            acc.vars.push(v.clone());
        }
        Ok(acc)
    }

    fn check_cycle(&self, target: &str, chain: &[String], kfile: &str) -> Result<(), Error> {
        for visited in chain {
            let contains = target.is_empty()
                || visited == target
                || visited.starts_with(&format!("{target}/"));
            if contains {
                return Err(Error::in_file(
                    kfile,
                    format!(
                        "cycle detected: candidate root '{}' contains visited root '{}'",
                        display_dir(target),
                        display_dir(visited)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn accumulate_resource(
        &mut self,
        mut acc: Acc,
        dir: &str,
        kfile: &str,
        entry: &str,
        chain: &mut Vec<String>,
    ) -> Result<Acc, Error> {
        let Some(path) = normalize_path(dir, entry) else {
            if is_remote(entry) {
                return Err(remote_error(entry, kfile));
            }
            return Err(Error::in_file(
                kfile,
                format!(
                    "accumulating resources: {entry:?} resolves outside the repository root; a kustomization may only read files inside the repository"
                ),
            ));
        };
        match self.stat(&path) {
            Some(EntryKind::File) => {
                let inside = dir.is_empty() || path.starts_with(&format!("{dir}/"));
                if !inside {
                    return Err(Error::in_file(
                        kfile,
                        format!(
                            "accumulating resources: security; file '{path}' is not in or below '{}'",
                            display_dir(dir)
                        ),
                    ));
                }
                let list = self.resources_from_file(&path)?;
                append_all(&mut acc, list).map_err(|e| e.or_file(&path))?;
                Ok(acc)
            }
            Some(EntryKind::Directory) => {
                self.check_cycle(&path, chain, kfile)?;
                let sub = self.accumulate(&path, chain, Acc::default(), false)?;
                append_all(&mut acc, sub.res).map_err(|e| e.or_file(kfile))?;
                for v in sub.vars {
                    if acc.vars.iter().any(|x| x.name == v.name) {
                        return Err(Error::in_file(
                            kfile,
                            format!("var '{}' already encountered", v.name),
                        ));
                    }
                    acc.vars.push(v);
                }
                acc.config.merge(sub.config);
                Ok(acc)
            }
            None => {
                if is_remote(entry) {
                    return Err(remote_error(entry, kfile));
                }
                Err(Error::in_file(
                    kfile,
                    format!(
                        "accumulating resources: accumulation err='accumulating resources from '{entry}': open {path}: no such file or directory': must build at directory: not a valid directory: '{path}' does not exist"
                    ),
                ))
            }
        }
    }

    fn run_generators(
        &mut self,
        acc: &mut Acc,
        dir: &str,
        kfile: &str,
        k: &Kustomization,
    ) -> Result<(), Error> {
        let loader = FileKv {
            b: self,
            dir,
            kfile,
        };
        let mut made = Vec::new();
        for (kind, list) in [
            ("ConfigMap", &k.config_map_generator),
            ("Secret", &k.secret_generator),
        ] {
            for args in list {
                let opts =
                    generators::merge_options(args.options.as_ref(), k.generator_options.as_ref());
                let obj = generators::generate(kind, args, &opts, &loader)
                    .map_err(|e| e.or_file(kfile))?;
                let mut r = Resource::new(obj, Some(kfile.to_string()));
                r.needs_hash = !opts.disable_name_suffix_hash;
                r.behavior = match args.behavior.as_str() {
                    "" | "create" => Behavior::Create,
                    "merge" => Behavior::Merge,
                    "replace" => Behavior::Replace,
                    other => {
                        return Err(Error::in_file(
                            kfile,
                            format!("unknown generator behavior {other:?}"),
                        ));
                    }
                };
                made.push(r);
            }
        }
        for r in made {
            absorb(&mut acc.res, r).map_err(|e| e.or_file(kfile))?;
        }
        Ok(())
    }

    fn load_patch_text(
        &self,
        dir: &str,
        kfile: &str,
        p: &Patch,
    ) -> Result<(String, String), Error> {
        let inline = p.patch.trim();
        match (inline.is_empty(), p.path.is_empty()) {
            (true, true) => Err(Error::in_file(
                kfile,
                "must specify one of patch and path in a patches entry",
            )),
            (false, false) => Err(Error::in_file(
                kfile,
                "patch and path can't be set at the same time",
            )),
            (false, true) => Ok((inline.to_string(), kfile.to_string())),
            (true, false) => {
                let path = self.restricted_file(dir, &p.path, kfile)?;
                Ok((self.read_text(&path)?, path))
            }
        }
    }

    fn run_transformers(
        &mut self,
        acc: &mut Acc,
        dir: &str,
        kfile: &str,
        k: &Kustomization,
    ) -> Result<(), Error> {
        let tc = acc.config.clone();
        // patchesStrategicMerge
        for entry in &k.patches_strategic_merge {
            let (text, file) = if entry.contains('\n') {
                (entry.clone(), kfile.to_string())
            } else {
                let path = self.restricted_file(dir, entry, kfile)?;
                (self.read_text(&path)?, path)
            };
            for patch in resources_from_text(&text, &file)? {
                let hits = unique_target(&acc.res, &patch, &file)?;
                transform::apply_sm_patch(&mut acc.res, &hits, &patch.obj, false, false)
                    .map_err(|e| e.or_file(&file))?;
            }
        }
        // patches
        for p in &k.patches {
            self.apply_patch_entry(acc, dir, kfile, p)?;
        }
        transform::namespace(&mut acc.res, &k.namespace, &tc.namespace)
            .map_err(|e| e.or_file(kfile))?;
        transform::prefix_suffix(&mut acc.res, &k.name_prefix, true, &tc.name_prefix)
            .map_err(|e| e.or_file(kfile))?;
        transform::prefix_suffix(&mut acc.res, &k.name_suffix, false, &tc.name_suffix)
            .map_err(|e| e.or_file(kfile))?;
        for label in &k.labels {
            let mut specs: Vec<FieldSpec> = label.fields.clone();
            if label.include_selectors {
                merge_fs(&mut specs, tc.common_labels.clone());
            } else {
                merge_fs(&mut specs, vec![FieldSpec::new("metadata/labels", true)]);
                if label.include_templates {
                    merge_fs(&mut specs, tc.template_labels.clone());
                }
            }
            let pairs: Vec<(String, String)> = label
                .pairs
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            transform::set_map_entries(&mut acc.res, &pairs, &specs)
                .map_err(|e| e.or_file(kfile))?;
        }
        let common: Vec<(String, String)> = k
            .common_labels
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        transform::set_map_entries(&mut acc.res, &common, &tc.common_labels)
            .map_err(|e| e.or_file(kfile))?;
        let annos: Vec<(String, String)> = k
            .common_annotations
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        transform::set_map_entries(&mut acc.res, &annos, &tc.common_annotations)
            .map_err(|e| e.or_file(kfile))?;
        // patchesJson6902
        for p in &k.patches_json6902 {
            let Some(target) = &p.target else {
                return Err(Error::in_file(
                    kfile,
                    "must specify a target for patch in patchesJson6902",
                ));
            };
            let (text, file) = self.load_patch_text(dir, kfile, p)?;
            let ops = parse_json_patch(&text).map_err(|e| Error::in_file(&file, e))?;
            let m = SelectorMatcher::new(target).map_err(|e| e.or_file(kfile))?;
            for i in 0..acc.res.len() {
                if m.matches(&acc.res[i]) {
                    transform::apply_json_patch(&mut acc.res[i], &ops)
                        .map_err(|e| e.or_file(&file))?;
                }
            }
        }
        transform::replicas(&mut acc.res, &k.replicas, &tc.replicas)
            .map_err(|e| e.or_file(kfile))?;
        transform::images(&mut acc.res, &k.images, &tc.images).map_err(|e| e.or_file(kfile))?;
        if !k.replacements.is_empty() {
            let mut list: Vec<Replacement> = Vec::new();
            for r in &k.replacements {
                if r.path.is_empty() {
                    list.push(Replacement {
                        source: r.source.clone(),
                        targets: r.targets.clone(),
                    });
                    continue;
                }
                let path = self.restricted_file(dir, &r.path, kfile)?;
                let text = self.read_text(&path)?;
                for doc in yaml::parse_stream(&text).map_err(|e| Error::yaml(&path, e))? {
                    let items = match doc.value {
                        Value::Array(items) => items,
                        Value::Null => continue,
                        other => vec![other],
                    };
                    for item in items {
                        let rep: Replacement = serde_json::from_value(item).map_err(|e| {
                            Error::in_file(&path, format!("invalid replacement: {e}"))
                        })?;
                        list.push(rep);
                    }
                }
            }
            transform::replacements(&mut acc.res, &list).map_err(|e| e.or_file(kfile))?;
        }
        Ok(())
    }

    fn apply_patch_entry(
        &mut self,
        acc: &mut Acc,
        dir: &str,
        kfile: &str,
        p: &Patch,
    ) -> Result<(), Error> {
        let (text, file) = self.load_patch_text(dir, kfile, p)?;
        let sm = resources_from_text(&text, &file);
        let json = parse_json_patch(&text);
        let allow_name = p.options.get("allowNameChange").copied().unwrap_or(false);
        let allow_kind = p.options.get("allowKindChange").copied().unwrap_or(false);
        match (sm, json) {
            (Ok(_), Ok(_)) => Err(Error::in_file(
                &file,
                format!("illegally qualifies as both an SM and JSON patch: {text}"),
            )),
            (Err(_), Err(_)) => Err(Error::in_file(
                &file,
                format!("unable to parse SM or JSON patch from {text}"),
            )),
            (Ok(patches), Err(_)) => {
                if let Some(target) = &p.target {
                    if patches.len() > 1 {
                        return Err(Error::in_file(
                            &file,
                            "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field",
                        ));
                    }
                    let m = SelectorMatcher::new(target).map_err(|e| e.or_file(kfile))?;
                    let selected: Vec<usize> = (0..acc.res.len())
                        .filter(|&i| m.matches(&acc.res[i]))
                        .collect();
                    if let Some(patch) = patches.first() {
                        transform::apply_sm_patch(
                            &mut acc.res,
                            &selected,
                            &patch.obj,
                            allow_name,
                            allow_kind,
                        )
                        .map_err(|e| e.or_file(&file))?;
                    }
                    return Ok(());
                }
                for patch in patches {
                    let hits = unique_target(&acc.res, &patch, &file).map_err(|e| match e {
                        Error::File {
                            file,
                            line,
                            message,
                        } => Error::File {
                            file,
                            line,
                            message: format!(
                                "no resource matches strategic merge patch \"{}\": {message}",
                                patch.cur_id()
                            ),
                        },
                        other => other,
                    })?;
                    transform::apply_sm_patch(
                        &mut acc.res,
                        &hits,
                        &patch.obj,
                        allow_name,
                        allow_kind,
                    )
                    .map_err(|e| e.or_file(&file))?;
                }
                Ok(())
            }
            (Err(_), Ok(ops)) => {
                let Some(target) = &p.target else {
                    return Err(Error::in_file(
                        &file,
                        format!("must specify a target for JSON patch {text}"),
                    ));
                };
                let m = SelectorMatcher::new(target).map_err(|e| e.or_file(kfile))?;
                for i in 0..acc.res.len() {
                    if m.matches(&acc.res[i]) {
                        acc.res[i].store_previous_id();
                        transform::apply_json_patch(&mut acc.res[i], &ops)
                            .map_err(|e| e.or_file(&file))?;
                    }
                }
                Ok(())
            }
        }
    }
}

struct FileKv<'b, 'a> {
    b: &'b Builder<'a>,
    dir: &'b str,
    kfile: &'b str,
}

impl KvLoader for FileKv<'_, '_> {
    fn load(&self, rel: &str) -> Result<Vec<u8>, Error> {
        let path = self.b.restricted_file(self.dir, rel, self.kfile)?;
        self.b.read(&path)
    }
}

/// `ResMap.GetById`: the one resource any of whose ids (current or earlier) equals the patch's
/// id, namespaces compared as effective namespaces.
fn unique_target(res: &[Resource], patch: &Resource, file: &str) -> Result<Vec<usize>, Error> {
    let id = patch.cur_id();
    let hits: Vec<usize> = (0..res.len())
        .filter(|&i| res[i].all_ids().iter().any(|x| x.equals(&id)))
        .collect();
    match hits.len() {
        1 => Ok(hits),
        0 => Err(Error::in_file(
            file,
            format!("no matches for Id {id}; failed to find unique target for patch {id}"),
        )),
        _ => Err(Error::in_file(
            file,
            format!("multiple matches for Id {id}; failed to find unique target for patch {id}"),
        )),
    }
}

/// A JSON 6902 patch: JSON when it starts with `[`, else YAML.
fn parse_json_patch(text: &str) -> Result<Vec<crate::jsonpatch::Op>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty json patch operations".into());
    }
    let v: Value = if t.starts_with('[') {
        serde_json::from_str(t).map_err(|e| e.to_string())?
    } else {
        yaml::parse_one(t).map_err(|e| e.message)?
    };
    crate::jsonpatch::decode(&v)
}

/// The resources of a YAML stream; `List` kinds contribute their items (appended after the other
/// documents, as Kustomize does).
pub fn resources_from_text(text: &str, file: &str) -> Result<Vec<Resource>, Error> {
    let docs = yaml::parse_stream(text).map_err(|e| Error::yaml(file, e))?;
    let mut queue: std::collections::VecDeque<(Value, u32)> =
        docs.into_iter().map(|d| (d.value, d.line)).collect();
    let mut out = Vec::new();
    while let Some((v, line)) = queue.pop_front() {
        let obj = match v {
            Value::Null => continue,
            Value::Object(m) if m.is_empty() => continue,
            Value::Object(m) => m,
            _ => {
                return Err(Error::in_file_line(
                    file,
                    line,
                    "the document is not a mapping (expected a Kubernetes object)",
                ));
            }
        };
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.ends_with("List") && obj.contains_key("items") {
            match obj.get("items") {
                Some(Value::Array(items)) => {
                    for item in items {
                        queue.push_back((item.clone(), line));
                    }
                }
                Some(Value::Null) => {}
                _ => {
                    return Err(Error::in_file_line(
                        file,
                        line,
                        format!("expected array in {kind}/items"),
                    ));
                }
            }
            continue;
        }
        if kind.is_empty() {
            return Err(Error::in_file_line(
                file,
                line,
                format!("missing kind in object {}", Value::Object(obj)),
            ));
        }
        let r = Resource::new(obj, Some(file.to_string()));
        if r.name().is_empty() {
            return Err(Error::in_file_line(
                file,
                line,
                format!("missing metadata.name in object {}", r.cur_id()),
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// `ResMap.AppendAll`: ids must be unique.
type IdKey = (crate::model::Gvk, String, String);

fn id_key(id: &crate::model::ResId) -> IdKey {
    (
        id.gvk.clone(),
        id.name.clone(),
        id.effective_namespace().to_string(),
    )
}

fn append_all(acc: &mut Acc, list: Vec<Resource>) -> Result<(), Error> {
    let res = &acc.res;
    let seen = acc
        .ids
        .get_or_insert_with(|| res.iter().map(|r| id_key(&r.cur_id())).collect());
    for r in list {
        let id = r.cur_id();
        if !seen.insert(id_key(&id)) {
            return Err(Error::msg(format!(
                "may not add resource with an already registered id: {id}"
            )));
        }
        acc.res.push(r);
    }
    Ok(())
}

/// `ResMap.AbsorbAll` for one generated resource: create, or merge/replace an existing one.
fn absorb(into: &mut Vec<Resource>, mut r: Resource) -> Result<(), Error> {
    let id = r.cur_id();
    let hits: Vec<usize> = (0..into.len())
        .filter(|&i| into[i].all_ids().iter().any(|x| x.equals(&id)))
        .collect();
    match hits.as_slice() {
        [] => match r.behavior {
            Behavior::Merge | Behavior::Replace => Err(Error::msg(format!(
                "id {id} does not exist; cannot merge or replace"
            ))),
            Behavior::Create => {
                into.push(r);
                Ok(())
            }
        },
        [i] => {
            let old = &into[*i];
            match r.behavior {
                Behavior::Create => {
                    return Err(Error::msg(format!(
                        "id {id} exists; behavior must be merge or replace"
                    )));
                }
                Behavior::Replace => copy_merge_meta(&mut r, old),
                Behavior::Merge => {
                    copy_merge_meta(&mut r, old);
                    for field in ["data", "binaryData"] {
                        let mut merged: Map<String, Value> = old
                            .obj
                            .get(field)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        if let Some(Value::Object(new)) = r.obj.get(field) {
                            for (k, v) in new {
                                merged.insert(k.clone(), v.clone());
                            }
                        }
                        if !merged.is_empty() {
                            r.obj.insert(field.into(), Value::Object(merged));
                        }
                    }
                }
            }
            r.origin = old.origin.clone().or(r.origin);
            into[*i] = r;
            Ok(())
        }
        _ => Err(Error::msg(format!(
            "found multiple objects that could accept merge of {id}"
        ))),
    }
}

/// `CopyMergeMetaDataFieldsFrom`: labels and annotations merged (new wins), name, namespace
/// and Kustomize's bookkeeping from the old resource.
fn copy_merge_meta(r: &mut Resource, old: &Resource) {
    for field in ["labels", "annotations"] {
        let mut merged: Map<String, Value> = old
            .obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(Value::Object(new)) = r.obj.get("metadata").and_then(|m| m.get(field)) {
            for (k, v) in new {
                merged.insert(k.clone(), v.clone());
            }
        }
        let meta = r.metadata_mut();
        if merged.is_empty() {
            meta.remove(field);
        } else {
            meta.insert(field.into(), Value::Object(merged));
        }
    }
    let (name, ns) = (old.name().to_string(), old.namespace().to_string());
    r.set_name(&name);
    r.set_namespace(&ns);
    r.prev_ids = old.prev_ids.clone();
    r.prefixes = old.prefixes.clone();
    r.suffixes = old.suffixes.clone();
    r.needs_hash = old.needs_hash;
}

/// The whole build of the kustomization in `dir`, in output order.
pub fn build(src: &dyn Source, dir: &str) -> Result<(Vec<Resource>, Vec<Diagnostic>), Error> {
    let mut b = Builder::new(src);
    let mut chain = Vec::new();
    // Only the top kustomization's sortOptions count. Its warnings come again when it is built.
    let top_file_kustomization = b.load_kustomization(dir)?.0;
    b.warnings.clear();
    let mut acc = b.accumulate(dir, &mut chain, Acc::default(), false)?;
    // Hash suffixes for generated ConfigMaps and Secrets.
    for r in acc.res.iter_mut() {
        let wants = r.needs_hash
            || r.annotation("kustomize.config.k8s.io/needs-hash")
                .is_some_and(|v| v == "true");
        if wants {
            let h = generators::hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    crate::refs::fix_back_references(&mut acc.res, &acc.config.name_reference)?;
    let unused = crate::refs::resolve_vars(&mut acc.res, &acc.vars, &acc.config.var_reference)?;
    if !unused.is_empty() {
        b.warnings.push(Diagnostic::new(format!(
            "well-defined vars that were never replaced: {}",
            unused.join(",")
        )));
    }
    acc.res.retain(|r| {
        r.annotation("config.kubernetes.io/local-config")
            .is_none_or(|v| v != "true")
    });
    match &top_file_kustomization.sort_options {
        Some(o) if o.order == "fifo" => {}
        Some(o) if o.order == "legacy" || o.order.is_empty() => {
            let l = o.legacy_sort_options.clone().unwrap_or_default();
            LegacyOrder::new(l.order_first, l.order_last).sort(&mut acc.res);
        }
        Some(o) => {
            return Err(Error::msg(format!(
                "the field 'sortOptions.order' must be one of [fifo, legacy], got {:?}",
                o.order
            )));
        }
        None => LegacyOrder::default().sort(&mut acc.res),
    }
    for r in acc.res.iter_mut() {
        strip_kustomize_annotations(r);
    }
    Ok((acc.res, b.warnings))
}

/// Removes the annotations Kustomize uses internally (and never prints). Kustomize rewrites
/// every resource's annotations when it removes its own, so an empty or null `annotations`
/// disappears too.
fn strip_kustomize_annotations(r: &mut Resource) {
    let Some(Value::Object(meta)) = r.obj.get_mut("metadata") else {
        return;
    };
    match meta.get_mut("annotations") {
        Some(Value::Object(annos)) => {
            // Kustomize rewrites annotations as a string map.
            for v in annos.values_mut() {
                if !v.is_string() {
                    *v = Value::String(crate::model::scalar_text(v));
                }
            }
            annos.remove("kustomize.config.k8s.io/needs-hash");
            annos.remove("kustomize.config.k8s.io/behavior");
            if annos.is_empty() {
                meta.remove("annotations");
            }
        }
        Some(Value::Null) => {
            meta.remove("annotations");
        }
        _ => {}
    }
}

/// Go's JSON decoding matches field names case-insensitively, so `patchesJSON6902` is
/// `patchesJson6902`; top-level keys are mapped to their canonical spelling before decoding.
fn canonical_keys(v: Value) -> Value {
    const FIELDS: [&str; 35] = [
        "apiVersion",
        "kind",
        "metadata",
        "openapi",
        "namePrefix",
        "nameSuffix",
        "namespace",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "patchesStrategicMerge",
        "patchesJson6902",
        "patches",
        "images",
        "imageTags",
        "replacements",
        "replicas",
        "vars",
        "sortOptions",
        "resources",
        "components",
        "crds",
        "bases",
        "configMapGenerator",
        "secretGenerator",
        "helmGlobals",
        "helmCharts",
        "helmChartInflationGenerator",
        "generatorOptions",
        "configurations",
        "generators",
        "transformers",
        "validators",
        "buildMetadata",
        "metadata",
    ];
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let canon = FIELDS
                        .iter()
                        .find(|f| f.eq_ignore_ascii_case(&k))
                        .map(|f| f.to_string());
                    (canon.unwrap_or(k), v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Go's JSON decoding leaves a field at its zero value when the document says `null`; dropping
/// null members before decoding does the same.
fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}
