//! Byte-for-byte comparison of `plumb render --renderer kustomize` with `kubectl kustomize`
//! (v1.35.2, Kustomize v5.7.1): every non-error case of `tests/data/kustomize/` is rendered by
//! plumb and compared, as bytes, with the case's `expected.yaml` (the shared corpus, recorded
//! from the tool) or with what the reference kubectl prints (`own/` cases; installed by
//! `scripts/install-oracles`). tests/kustomize_diff.rs compares the same cases as parsed values;
//! this test pins the printing (`src/yaml.rs`): quoting, folding, key order, numbers.
//! Differences are tolerated only for cases listed with a reason in
//! `tests/yaml_bytes_known_differences.txt`.
//!
//! A second test feeds kubectl one object holding values that exercise every printing rule and
//! compares its output with `plumb::yaml::to_yaml` of the same JSON value.

mod differential;

use std::path::{Path, PathBuf};
use std::process::Command;

use differential::{KnownDifferences, Verdict, data_dir, oracle};
use serde_json::{Value, json};

struct Case {
    /// `name` or `own/name`.
    name: String,
    dir: PathBuf,
    build_dir: String,
}

/// Every case that renders (error cases, which carry an `error-file:`, print nothing).
fn cases() -> Vec<Case> {
    differential::case_dirs(&data_dir("kustomize"))
        .into_iter()
        .filter(|c| c.field("error-file:").is_none())
        .map(|c| Case {
            build_dir: c.required("build-dir:"),
            name: c.name,
            dir: c.dir,
        })
        .collect()
}

/// The first differing line of two texts, with its number, for the report.
fn first_difference(want: &str, got: &str) -> String {
    let (mut w, mut g) = (want.split_inclusive('\n'), got.split_inclusive('\n'));
    for n in 1.. {
        match (w.next(), g.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "    line {n}:\n      kubectl: {:?}\n      plumb:   {:?}\n",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                );
            }
        }
    }
    "    (identical)\n".into()
}

/// What kubectl prints for a case: the recorded `expected.yaml`, or the tool's output.
fn kubectl_output(case: &Case, kubectl: &mut Option<PathBuf>) -> Result<String, String> {
    if let Ok(text) = std::fs::read_to_string(case.dir.join("expected.yaml")) {
        return Ok(text);
    }
    let kubectl = kubectl.get_or_insert_with(|| oracle("kubectl"));
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(case.dir.join(&case.build_dir))
        .output()
        .expect("run kubectl kustomize");
    if !out.status.success() {
        return Err(format!(
            "kubectl kustomize failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("kubectl output is not UTF-8: {e}"))
}

fn plumb_output(case: &Case, cache: &Path) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .arg("render")
        .arg(case.dir.join(&case.build_dir))
        .args(["--renderer", "kustomize", "--root"])
        .arg(case.dir.join("src"))
        .env("PLUMB_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .output()
        .expect("run plumb render");
    if !out.status.success() {
        return Err(format!(
            "plumb render failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("plumb output is not UTF-8: {e}"))
}

#[test]
fn kustomize_output_is_byte_identical() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("yaml-bytes-cache");
    let known = KnownDifferences::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_bytes_known_differences.txt"),
    );
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "expected at least 30 rendering cases, found {}",
        cases.len()
    );
    let mut kubectl = None;
    let mut tally = known.tally("byte-identical");
    for case in &cases {
        let verdict = match (
            kubectl_output(case, &mut kubectl),
            plumb_output(case, &cache),
        ) {
            (Ok(want), Ok(got)) if want == got => Verdict::Identical,
            (Ok(want), Ok(got)) => Verdict::Differs(first_difference(&want, &got)),
            (Err(e), _) | (_, Err(e)) => Verdict::Differs(format!("    {e}\n")),
        };
        tally.record(&case.name, verdict);
    }
    tally.finish(
        "kustomize",
        "cases whose output differs from kubectl kustomize byte for byte",
    );
}

/// Values that exercise every printing rule (see the unit tests of src/yaml.rs), whose output
/// kubectl decides deterministically: no keys whose go-yaml order is not a total order, no
/// characters kubectl rejects or rewrites (U+007F–U+009F, U+2028, U+2029).
fn rule_exercising_object() -> Value {
    let strings = [
        "y",
        "yes",
        "Yes",
        "On",
        "OFF",
        "true",
        "TRUE",
        "~",
        "null",
        "NULL",
        "",
        "0",
        "-0",
        "+5",
        "0.0",
        "089",
        "08",
        "1_000",
        "1__2",
        "0x1F",
        "-0x1F",
        "0o17",
        "0b101",
        ".5",
        "1.",
        "1e3",
        "+.inf",
        ".NaN",
        "2024-01-02",
        "2024-1-2",
        "2001-12-14T21:59:43Z",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10",
        "1:30",
        "190:20:30",
        "yES",
        "=",
        "<<",
        "1:60",
        "_1",
        ".e5",
        ".iNf",
        "NaN",
        "2024-13-45",
        "2024-02-30",
        "2001-12-14T21:59:43",
        "1e",
        "0x",
        "0b2",
        "0o8",
        "+",
        "1.2.3",
        "1,000",
        "-",
        "?",
        ":",
        "a:",
        "a:b",
        "a #b",
        "a#b",
        "- x",
        "-x",
        "---",
        "...",
        "'a",
        "\"a",
        "a'b",
        "@x",
        "`x",
        "%x",
        "!x",
        "&x",
        "*a",
        "|x",
        ">x",
        ",x",
        "[x",
        "{x",
        "x]",
        "?x",
        ":x",
        "x ",
        " ",
        "  x",
        "a\tb",
        "a\rb",
        "x\u{7}",
        "a\u{0}b",
        "\u{1b}",
        "😀",
        "\u{feff}",
        "\u{feff} 1é",
        "\u{a0}",
        "é ✓",
        "x\ny",
        "x\ny\n",
        "x\n\n",
        "  lead\nx",
        "a\n b",
        "\n",
        "\n\n",
        "\nx",
        "x \ny",
        "a\tb\nc",
        "a\"b\\",
    ];
    let x75 = "x".repeat(75);
    let folded = [
        format!("{x75} yyyyyyyyyy z"),
        format!("'{x75} yyyyyyyyyy z'"),
        format!("\t{x75}  yyyyyyyyyy z"),
        format!("- {}", "w ".repeat(50)),
        format!("{}w", "w ".repeat(50)),
        "x".repeat(200),
        format!("{}w", "word  ".repeat(30)),
    ];
    let mut data = serde_json::Map::new();
    for (i, s) in strings.iter().enumerate() {
        let k = format!("s{}", letters(i));
        data.insert(k.clone(), json!(s));
        // As a key too, unless digits in it could make go-yaml's key order ambiguous.
        if !s.contains(|c: char| c.is_ascii_digit()) {
            data.insert(format!("key-{s}-{k}"), json!(s));
        }
    }
    for (i, s) in folded.iter().enumerate() {
        let k = format!("f{}", letters(i));
        data.insert(k.clone(), json!(s));
        data.insert(format!("{k}-list"), json!([s, [s]]));
        data.insert(format!("{k}-deep"), json!({"a": {"b": {"c": s}}}));
    }
    data.insert("k".repeat(128), json!(1));
    data.insert("k".repeat(129), json!({"a": [1]}));
    data.insert("multi\nline".into(), json!(["x"]));
    for k in [
        "a9", "a10", "a_b", "a-b", "aB", "ab", "port-80", "port-443", "x 9", "x 10", "~",
    ] {
        data.insert(k.into(), json!(k));
    }
    let numbers: Value = serde_json::from_str(
        r#"{"n1": 1e3, "n2": 1.0, "n3": 1e21, "n4": 1e20, "n5": 1234567.5, "n6": 0.00001,
            "n7": 12345678901234567890, "n8": 1.5e-7, "n9": -0.0, "na": 0.1, "nb": 100000.5,
            "nc": 1e6, "nd": 3.0e-5, "ne": 9007199254740993, "nf": 18446744073709551615,
            "ng": 18446744073709551616, "nh": -9223372036854775808, "ni": 0.0001,
            "nj": 123456.7, "nk": 5e-324, "nl": 2.5e20, "nm": -1.5,
            "nn": -9223372036854775809, "no": 9223372036854775808.0}"#,
    )
    .unwrap();
    data.insert("numbers".into(), numbers);
    data.insert(
        "structure".into(),
        json!({"a": [[1, [2, 3]], [], {}, [{}], {"b": []}], "c": {}, "d": [], "e": null, "f": true}),
    );
    json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "rules"}, "data": data})
}

/// A suffix made of letters, so that keys sort the same under every order.
fn letters(i: usize) -> String {
    format!(
        "{}{}",
        char::from(b'a' + (i / 26) as u8),
        char::from(b'a' + (i % 26) as u8)
    )
}

#[test]
fn to_yaml_matches_kubectl_on_every_rule() {
    let kubectl = oracle("kubectl");
    let obj = rule_exercising_object();
    let dir = tempfile::tempdir().unwrap();
    // JSON is YAML; go-yaml wants U+FEFF escaped inside the stream.
    let text = serde_json::to_string(&obj)
        .unwrap()
        .replace('\u{feff}', "\\ufeff");
    std::fs::write(dir.path().join("r.yaml"), text).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\n",
    )
    .unwrap();
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("run kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).unwrap();
    let got = plumb::yaml::to_yaml(&obj);
    assert!(
        want == got,
        "to_yaml differs from kubectl kustomize:\n{}",
        first_difference(&want, &got)
    );
}
