//! Shared by the differential tests (`helm_diff`, `kustomize_diff`, `yaml_bytes`), which compare
//! plumb with the reference tools: the oracle lookup, the cases of `tests/data/<tool>/` (the
//! shared corpus and `own/`), the known-differences lists, output normalisation and the report
//! of a run over every case. Each test binary uses a part of it.
#![allow(dead_code)]

mod oracle;
pub mod shell_words;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

pub use oracle::oracle;

/// `tests/data/<tool>`: the shared corpus, and plumb's own cases under `own/`.
pub fn data_dir(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(tool)
}

/// A case directory and the text of its `case.txt`.
pub struct CaseDir {
    /// `name` or `own/name`.
    pub name: String,
    pub dir: PathBuf,
    text: String,
}

impl CaseDir {
    /// The value of the case.txt line starting with `key` (which includes the colon).
    pub fn field(&self, key: &str) -> Option<String> {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    }

    /// The value of a line case.txt must have, or a failure naming the case.
    pub fn required(&self, key: &str) -> String {
        self.field(key).unwrap_or_else(|| {
            panic!(
                "{}: case.txt has no {}",
                self.name,
                key.trim_end_matches(':')
            )
        })
    }
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// Every directory of `data` and of `data/own` that holds a case.txt, in name order (`own/…`
/// where `own` sorts).
pub fn case_dirs(data: &Path) -> Vec<CaseDir> {
    let mut out = Vec::new();
    let mut add = |name: String, dir: PathBuf| {
        if let Ok(text) = std::fs::read_to_string(dir.join("case.txt")) {
            out.push(CaseDir { name, dir, text });
        }
    };
    for p in sorted_dirs(data) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "own" {
            for o in sorted_dirs(&p) {
                let n = format!("own/{}", o.file_name().unwrap().to_string_lossy());
                add(n, o);
            }
        } else {
            add(name, p);
        }
    }
    out
}

/// The cases allowed to differ, each with its reason: the `case reason` lines of a file
/// (blank lines and `#` comments skipped).
pub struct KnownDifferences {
    /// The file's name, for messages.
    file: String,
    reasons: BTreeMap<String, String>,
}

impl KnownDifferences {
    /// Reads `path` (a missing file lists nothing); a case without a reason fails.
    pub fn read(path: &Path) -> Self {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut reasons = BTreeMap::new();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (case, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            assert!(!reason.trim().is_empty(), "{file}: {case} needs a reason");
            reasons.insert(case.to_string(), reason.trim().to_string());
        }
        KnownDifferences { file, reasons }
    }

    /// An empty tally of verdicts, where an identical case is called `same` ("identical").
    pub fn tally<'a>(&'a self, same: &'a str) -> Tally<'a> {
        Tally {
            known: self,
            same,
            cases: 0,
            identical: 0,
            report: String::new(),
            unexplained: Vec::new(),
        }
    }
}

/// The outcome of one case.
pub enum Verdict {
    Identical,
    /// How it differs: indented lines for the report.
    Differs(String),
}

/// The verdicts of a run over every case, checked against the known differences.
pub struct Tally<'a> {
    known: &'a KnownDifferences,
    same: &'a str,
    cases: usize,
    identical: usize,
    report: String,
    unexplained: Vec<String>,
}

impl Tally<'_> {
    pub fn record(&mut self, case: &str, verdict: Verdict) {
        self.cases += 1;
        let file = &self.known.file;
        match verdict {
            Verdict::Identical => {
                self.identical += 1;
                if self.known.reasons.contains_key(case) {
                    self.report.push_str(&format!(
                        "  {case} is {} now: remove it from {file}\n",
                        self.same
                    ));
                }
            }
            Verdict::Differs(diff) => {
                let tag = match self.known.reasons.get(case) {
                    Some(reason) => format!("known: {reason}"),
                    None => {
                        self.unexplained.push(case.to_string());
                        format!("NOT in {file}")
                    }
                };
                self.report.push_str(&format!("  {case} ({tag})\n{diff}"));
            }
        }
    }

    /// Prints `{label}: N of M identical` and the report; fails, saying `failure`, when a case
    /// differs that the known differences do not list.
    pub fn finish(self, label: &str, failure: &str) {
        println!(
            "{label}: {} of {} {}",
            self.identical, self.cases, self.same
        );
        if !self.report.is_empty() {
            println!("{}", self.report);
        }
        assert!(
            self.unexplained.is_empty(),
            "{failure}: {:?}\n{}",
            self.unexplained,
            self.report
        );
    }
}

/// Every non-empty YAML document of a stream, parsed into a JSON value.
pub fn normalise(yaml: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| format!("unparsable YAML: {e}"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The verdict on a case run by the reference `tool` (`want`) and by plumb (`got`): identical
/// when both fail and plumb's error names `error_file` (when there is none, a difference if
/// `require_error_file`), or when both succeed with the same documents (plumb's read from its
/// stdout by `plumb_docs`, whose error follows "plumb output: ").
pub fn compare(
    tool: &str,
    want: &Output,
    got: &Output,
    error_file: Option<&str>,
    require_error_file: bool,
    plumb_docs: impl FnOnce(&[u8]) -> Result<Vec<Value>, String>,
) -> Verdict {
    match (want.status.success(), got.status.success()) {
        (false, false) => {
            let msg = text(&got.stderr);
            match error_file {
                Some(f) if !msg.contains(f) => Verdict::Differs(format!(
                    "    both fail, but plumb's error does not name {f}:\n      {}\n",
                    msg.trim()
                )),
                None if require_error_file => Verdict::Differs(format!(
                    "    both fail, but case.txt has no error-file: to check plumb's message:\n      {}\n",
                    msg.trim()
                )),
                _ => Verdict::Identical,
            }
        }
        (true, false) => {
            Verdict::Differs(format!("    plumb failed: {}\n", text(&got.stderr).trim()))
        }
        (false, true) => Verdict::Differs(format!(
            "    {tool} failed but plumb did not: {}\n",
            text(&want.stderr).trim()
        )),
        (true, true) => {
            let w = match normalise(&text(&want.stdout)) {
                Ok(w) => w,
                Err(e) => return Verdict::Differs(format!("    {tool} output: {e}\n")),
            };
            let g = match plumb_docs(&got.stdout) {
                Ok(g) => g,
                Err(e) => return Verdict::Differs(format!("    plumb output: {e}\n")),
            };
            if w == g {
                Verdict::Identical
            } else {
                Verdict::Differs(short_diff(tool, &w, &g))
            }
        }
    }
}

/// A short line diff of the first differing document, after the object lists when they differ.
pub fn short_diff(tool: &str, want: &[Value], got: &[Value]) -> String {
    let ids = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    d["kind"].as_str().unwrap_or("?"),
                    d["metadata"]["name"].as_str().unwrap_or("?")
                )
            })
            .collect()
    };
    let mut out = String::new();
    if ids(want) != ids(got) {
        let (tool, plumb) = (format!("{tool} objects:"), "plumb objects:");
        let width = tool.len().max(plumb.len());
        out.push_str(&format!(
            "    {tool:<width$} {:?}\n    {plumb:<width$} {:?}\n",
            ids(want),
            ids(got)
        ));
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w == g {
            continue;
        }
        let lines = |v: &Value| -> Vec<String> {
            serde_json::to_string_pretty(v)
                .unwrap_or_default()
                .lines()
                .map(String::from)
                .collect()
        };
        let (wl, gl) = (lines(w), lines(g));
        out.push_str(&format!("    document {i} differs:\n"));
        let mut shown = 0;
        for l in &wl {
            if !gl.contains(l) && shown < 12 {
                out.push_str(&format!("      - {l}\n"));
                shown += 1;
            }
        }
        for l in &gl {
            if !wl.contains(l) && shown < 24 {
                out.push_str(&format!("      + {l}\n"));
                shown += 1;
            }
        }
        break;
    }
    out
}
