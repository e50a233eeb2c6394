//! YAML output byte-for-byte as `kubectl kustomize` prints it.
//!
//! Kustomize prints each resource with `sigs.k8s.io/yaml.JSONToYAML`: the object goes through
//! JSON, is read back by go-yaml v2 into plain Go maps, and is written by go-yaml v2's emitter
//! (a port of libyaml) with a two-space indent and an 80-column width. The emitter, the
//! resolver and the key order are `plumb_goyaml`'s (shared with the Helm renderer's `toYaml`);
//! this module converts JSON values for it. The decisions that make up that output:
//!
//! - map keys in go-yaml's order (`keyList.Less`: letters after other characters, runs of
//!   digits compared as numbers), sequences not indented under their key;
//! - numbers as Go prints the `int`/`uint64`/`float64` go-yaml reads from the JSON text
//!   (`1e3` → `1000`, `1.0` → `1`, `1e21` → `1e+21`, `0.00001` → `1e-05`);
//! - strings: quoted (double quotes) when plain text would read as another type — go-yaml v2's
//!   resolve table (YAML 1.1 booleans such as `yes`/`on`, `~`, ints in any base, floats,
//!   timestamps) and base-60 floats such as `1:30`; otherwise plain unless the emitter's
//!   scalar analysis (`yaml_emitter_analyze_scalar`) forbids it, then single-quoted when
//!   possible (`'- x'`, `'#c'`, `'*a'`, `' x'`) and double-quoted with escapes otherwise;
//!   strings with a line break as `|` literal blocks (with `|-`/`|+` chomping and an indentation
//!   indicator when the text starts with a space or break) unless a line ends with a space or
//!   a character needs escaping (tabs included: go-yaml v2 counts them as special);
//! - plain, single- and double-quoted strings folded at the first space past column 80;
//! - keys longer than 128 bytes or spanning lines written as `? key` / `: value`.
//!
//! Deliberate differences from kubectl, so that every document reads back to the same value:
//! U+2028/U+2029 are escaped (`\L`, `\P`) where go-yaml would write them raw, as line breaks
//! of YAML 1.1, inside single quotes; U+0085 is kept (escaped `\N`) where kubectl's JSON → YAML
//! round trip turns it into a space.

use plumb_goyaml::{Node, Options, emit, sort_entries};
use serde_json::{Number, Value};

/// kustomize's flavour of go-yaml v2, with plumb's escapes of line separators.
const OPTIONS: Options = Options {
    pretty: false,
    escape_line_separators: true,
};

/// One object as a YAML document (without a `---` line).
pub fn to_yaml(value: &Value) -> String {
    emit(&to_node(value), OPTIONS)
}

/// Objects as a multi-document stream: documents separated by `---` lines.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v));
    }
    out
}

/// The value as go-yaml v2 holds it after reading the JSON text: numbers as Go prints them,
/// map keys in go-yaml's order.
fn to_node(v: &Value) -> Node {
    match v {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => Node::Number(go_number(n)),
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(a) => Node::Seq(a.iter().map(to_node).collect()),
        Value::Object(m) => {
            let mut entries: Vec<(String, Node)> =
                m.iter().map(|(k, v)| (k.clone(), to_node(v))).collect();
            sort_entries(&mut entries);
            Node::Map(entries)
        }
    }
}

/// A JSON number as kustomize prints it. Kustomize hands go-yaml v2 the JSON text of the
/// object: an integer prints as itself; a float64 is written by Go's `json.Marshal` (shortest
/// digits, padded with zeros and without an exponent below 1e21), go-yaml reads that text back
/// as an int or uint64 when it is integral and fits, else as a float64, which it prints with
/// `strconv.FormatFloat(f, 'g', -1, 64)`: `1e3` → `1000`, `1.0` → `1`, `1e21` → `1e+21`,
/// `0.00001` → `1e-05`, `2^63` as a float → `9223372036854776000`.
fn go_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let Some(f) = n.as_f64() else {
        return n.to_string();
    };
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        let (digits, exp) = shortest_digits(f);
        let zeros = (exp + 1).saturating_sub(digits.len() as i32);
        let text = format!(
            "{}{digits}{}",
            if f.is_sign_negative() { "-" } else { "" },
            "0".repeat(zeros as usize)
        );
        if let Ok(i) = text.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = text.parse::<u64>() {
            return u.to_string();
        }
    }
    go_format_g(f)
}

/// The shortest decimal digits that read back as `f` (without sign or leading zeros) and the
/// decimal exponent of the first digit: 1234.5 → ("12345", 3).
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    (mantissa.replace('.', ""), exp.parse().unwrap_or(0))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that read back as `f`, in
/// exponent form (`1e+06`, `1.5e-07`, at least two exponent digits) when the decimal exponent
/// is below -4 or at least 6 (Go's threshold for the shortest representation), else as a
/// plain decimal (`0.0001`, `123456.7`).
fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let (digits, exp) = shortest_digits(f);
    if (-4..6).contains(&exp) {
        // Rust prints the same shortest digits without an exponent.
        return format!("{f}");
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let (first, rest) = digits.split_at(1);
    let dot = if rest.is_empty() { "" } else { "." };
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    /// `k: <value>` as printed for `{"k": value}`.
    fn line(v: Value) -> String {
        to_yaml(&json!({ "k": v }))
    }

    fn round_trips(v: &Value) {
        let out = to_yaml(v);
        let back: Value = serde_saphyr::from_str(&out)
            .unwrap_or_else(|e| panic!("unparsable output for {v}: {e}\n{out}"));
        assert_eq!(&back, v, "round trip through:\n{out}");
    }

    // Every expected text below was checked against `kubectl kustomize` (v1.35.2, Kustomize
    // v5.7.1) printing the same value (tests/yaml_bytes.rs repeats part of it with the tool).

    #[test]
    fn writes_kubectl_style() {
        let v = json!({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}], "args": ["a", "b"]}
            ]}}}
        });
        assert_eq!(
            to_yaml(&v),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations: {}\n  labels:\n    app: web\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - args:\n        - a\n        - b\n        image: nginx:1.27\n        name: c\n        ports:\n        - containerPort: 80\n"
        );
    }

    #[test]
    fn quotes_strings_that_would_change_type() {
        for s in [
            "true",
            "yes",
            "on",
            "null",
            "~",
            "1",
            "0123",
            "1.10",
            "1e3",
            "0x1F",
            ".inf",
            "2001-12-14",
            "",
            " x",
            "a: b",
            "- x",
            "#c",
            "*a",
            "1:30",
        ] {
            let out = line(json!(s));
            round_trips(&json!({ "k": s }));
            let v = out.strip_prefix("k: ").unwrap();
            assert!(
                v.starts_with('"') || v.starts_with('\''),
                "{s:?} must be quoted: {out}"
            );
        }
        for s in [
            "nginx:1.27",
            "hello world",
            "a-b",
            "-x",
            "x.y.z",
            "1.2.3",
            "v1",
        ] {
            assert_eq!(line(json!(s)), format!("k: {s}\n"));
        }
    }

    /// go-yaml v2's resolve table (YAML 1.1): what reads as null, bool, int, float or
    /// timestamp is double-quoted; near misses stay plain.
    #[test]
    fn double_quotes_what_resolves_to_another_type() {
        for s in [
            "y",
            "Y",
            "n",
            "yes",
            "Yes",
            "YES",
            "No",
            "on",
            "ON",
            "Off",
            "true",
            "True",
            "FALSE",
            "~",
            "null",
            "Null",
            "NULL",
            "",
            "0",
            "-0",
            "+0",
            "+5",
            "0.0",
            "089",
            "08",
            "0_8",
            "1_000",
            "1_",
            "1__2",
            "0x1F",
            "-0x1F",
            "0o17",
            "0b101",
            ".5",
            "1.",
            "1e3",
            "1E3",
            "+.inf",
            ".Inf",
            ".NaN",
            "12345678901234567890123",
            "2024-01-02",
            "2024-1-2",
            "2001-12-14T21:59:43Z",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2001-12-14  21:59:43",
            "1:30",
            "190:20:30",
        ] {
            assert_eq!(line(json!(s)), format!("k: \"{s}\"\n"), "{s:?}");
        }
        let big_decimal = format!("1{}", "0".repeat(400));
        for s in [
            "yES",
            "tRUE",
            "NuLL",
            "=",
            "<<",
            "1:60",
            "_1",
            ".e5",
            ".iNf",
            "Inf",
            "NaN",
            "infinity",
            "2024-13-45",
            "2024-02-30",
            "2001-12-14T21:59:43",
            "1e",
            "1e+",
            "0x",
            "0b",
            "0b2",
            "0o8",
            "+",
            "+-1",
            "1.2.3",
            "1,000",
            // Integers too large for 64 bits and not floats: go-yaml v2 reads them as strings.
            "0xFFFFFFFFFFFFFFFFFF",
            "-0b11111111111111111111111111111111111111111111111111111111111111111",
            "0o7777777777777777777777777",
            big_decimal.as_str(),
        ] {
            assert_eq!(line(json!(s)), format!("k: {s}\n"), "{s:?}");
        }
    }

    /// The emitter's scalar analysis: indicators at the start, `: ` and ` #`, leading or
    /// trailing spaces make plain text impossible; single quotes are used then.
    #[test]
    fn single_quotes_what_cannot_be_plain() {
        for (s, want) in [
            ("-", "'-'"),
            ("?", "'?'"),
            (":", "':'"),
            ("a:", "'a:'"),
            ("a #b", "'a #b'"),
            ("- x", "'- x'"),
            ("---", "'---'"),
            ("--- x", "'--- x'"),
            ("...", "'...'"),
            ("....", "'....'"),
            ("'a", "'''a'"),
            ("\"a", "'\"a'"),
            ("@x", "'@x'"),
            ("`x", "'`x'"),
            ("%x", "'%x'"),
            ("!x", "'!x'"),
            ("&x", "'&x'"),
            ("*a", "'*a'"),
            ("|x", "'|x'"),
            (">x", "'>x'"),
            (",x", "',x'"),
            ("[x", "'[x'"),
            ("{x", "'{x'"),
            ("#34577c", "'#34577c'"),
            (">=1.0.0-alpha", "'>=1.0.0-alpha'"),
            ("x ", "'x '"),
            (" ", "' '"),
            ("  spaced", "'  spaced'"),
        ] {
            assert_eq!(line(json!(s)), format!("k: {want}\n"), "{s:?}");
        }
        for s in [
            "a:b", "a#b", "-x", "--x", "x]", "x,y", "x{y", "x?y", "?x", ":x", "a'b", "é", "\u{a0}",
        ] {
            assert_eq!(line(json!(s)), format!("k: {s}\n"), "{s:?}");
        }
    }

    /// Tabs, control characters, characters beyond the BMP and U+FEFF need double quotes and
    /// escapes; after a leading U+FEFF go-yaml escapes every character.
    #[test]
    fn double_quotes_and_escapes_special_characters() {
        for (s, want) in [
            ("a\tb", r#""a\tb""#),
            ("\t", r#""\t""#),
            ("a\rb", r#""a\rb""#),
            ("x\u{7}", r#""x\a""#),
            ("a\0b", r#""a\0b""#),
            ("\u{1b}", r#""\e""#),
            ("\u{1}", r#""\x01""#),
            ("😀", r#""\U0001F600""#),
            ("\u{feff}", r#""\uFEFF""#),
            ("\u{feff} \t1]Zé", r#""\uFEFF\x20\t\x31\x5D\x5A\xE9""#),
            ("x \ny", r#""x \ny""#),
            ("a\"b\\\t", r#""a\"b\\\t""#),
        ] {
            assert_eq!(line(json!(s)), format!("k: {want}\n"), "{s:?}");
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let v = json!({"a": "x\ny\n", "b": "x\ny", "c": "x\n\n", "d": "  lead\nx", "e": "a\n b",
            "f": "\n", "g": "\n\n", "h": "\nx", "i": "x \ny", "j": "a\tb\nc"});
        let out = to_yaml(&v);
        assert_eq!(
            out,
            "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\nd: |2-\n    lead\n  x\ne: |-\n  a\n   b\nf: |2+\n\ng: |2+\n\n\nh: |2-\n\n  x\ni: \"x \\ny\"\nj: \"a\\tb\\nc\"\n"
        );
        round_trips(&v);
        // In a list and deeper: the block is indented two past the item or key.
        assert_eq!(
            to_yaml(&json!({"l": ["x\ny"], "m": {"n": "x\ny"}})),
            "l:\n- |-\n  x\n  y\nm:\n  \"n\": |-\n    x\n    y\n"
        );
    }

    /// Plain, single- and double-quoted text breaks at the first space once past column 80;
    /// a space that would start the next line of a double-quoted string is escaped.
    #[test]
    fn long_strings_are_folded_at_80_columns() {
        let x75 = "x".repeat(75);
        let y10 = "y".repeat(10);
        let v = json!({
            "k": format!("{x75} {y10} z"),
            "l": format!("'{x75} {y10} z'"),
            "m": format!("\t{x75}  {y10} z"),
            "n2": [format!("- {}", "w ".repeat(50))],
            "o": {"p": {"q": format!("{}w", "w ".repeat(50))}},
            "s": "x".repeat(200),
        });
        let want = format!(
            "k: {x75} {y10}\n  z\nl: '''{x75}\n  {y10} z'''\nm: \"\\t{x75}\n  \\ {y10} z\"\nn2:\n- '- {}\n  {}'\no:\n  p:\n    q: {}\n      {}w\ns: {}\n",
            "w ".repeat(39).trim_end(),
            "w ".repeat(11),
            "w ".repeat(38).trim_end(),
            "w ".repeat(12),
            "x".repeat(200),
        );
        assert_eq!(to_yaml(&v), want);
        round_trips(&v);
        // Keys are never folded.
        let long_key = "w ".repeat(40) + "w";
        assert_eq!(
            to_yaml(&json!({ &long_key: 1 })),
            format!("{long_key}: 1\n")
        );
    }

    /// Keys are quoted like values; a key over 128 bytes or with a line break is written as
    /// `? key` and `: value`.
    #[test]
    fn complex_keys() {
        let long = "k".repeat(129);
        let v = json!({"yes": 1, "1:30": 2, "a: b": 3, "": 4, "#x": 5, "k".repeat(128): 6,
            &long: {"a": 1}, "a\nb": ["x"]});
        assert_eq!(
            to_yaml(&v),
            format!(
                "\"\": 4\n'#x': 5\n\"1:30\": 2\n? |-\n  a\n  b\n: - x\n'a: b': 3\n{}: 6\n? {long}\n: a: 1\n\"yes\": 1\n",
                "k".repeat(128)
            )
        );
        round_trips(&v);
    }

    /// Numbers as Go prints what go-yaml reads from Go's JSON text.
    #[test]
    fn numbers_as_go_prints_them() {
        let text = r#"{"a": 1e3, "b": 1.0, "c": 1e21, "d": 1e20, "e": 1234567.5, "f": 0.00001,
            "g": 12345678901234567890, "h": 1.5e-7, "i": -0.0, "j": 0.1, "k": 100000.5,
            "l": 1e6, "m": 3.0e-5, "n": 9007199254740993, "o": 18446744073709551615,
            "p": 18446744073709551616, "q": -9223372036854775808, "r": 0.0001, "s": 123456.7,
            "t": 1e-7, "u": 5e-324, "v": 1.7976931348623157e308, "w": 2.5e20, "x": -1.5,
            "y": -9223372036854775809, "z": 9223372036854775808.0}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            to_yaml(&v),
            "a: 1000\nb: 1\nc: 1e+21\nd: 1e+20\ne: 1.2345675e+06\nf: 1e-05\ng: 12345678901234567890\nh: 1.5e-07\ni: 0\nj: 0.1\nk: 100000.5\nl: 1000000\nm: 3e-05\n\"n\": 9007199254740993\no: 18446744073709551615\np: 1.8446744073709552e+19\nq: -9223372036854775808\nr: 0.0001\ns: 123456.7\nt: 1e-07\nu: 5e-324\nv: 1.7976931348623157e+308\nw: 2.5e+20\nx: -1.5\n\"y\": -9.223372036854776e+18\nz: 9223372036854776000\n"
        );
    }

    #[test]
    fn nested_sequences_and_empty_values() {
        let v = json!({"a": [[1, [2, 3]], [], {}, [{}], {"b": []}], "c": {}, "d": [], "e": null,
            "f": true});
        assert_eq!(
            to_yaml(&v),
            "a:\n- - 1\n  - - 2\n    - 3\n- []\n- {}\n- - {}\n- b: []\nc: {}\nd: []\ne: null\nf: true\n"
        );
        round_trips(&v);
        round_trips(&json!({"a": [[1, 2], [], {}], "b": [{"x": [{"y": null}]}], "c": "ünïcode ✓"}));
        assert_eq!(
            to_yaml_stream(&[json!({"a": 1}), json!({"b": 2})]),
            "a: 1\n---\nb: 2\n"
        );
    }

    /// Where go-yaml's output would not read back as the same string, plumb escapes instead.
    #[test]
    fn line_separators_are_escaped() {
        assert_eq!(line(json!("a\u{2028}b")), "k: \"a\\Lb\"\n");
        assert_eq!(line(json!("a\u{2029}b")), "k: \"a\\Pb\"\n");
        assert_eq!(line(json!("a\u{85}b")), "k: \"a\\Nb\"\n");
        round_trips(&json!({"a\u{2028}": "a\u{2028}b\nc\u{85}"}));
    }

    /// A small deterministic generator (xorshift) for the property checks.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Strings whose printing involves every rule: all ASCII punctuation (alone, in pairs, at
    /// the start, middle and end, next to spaces), leading and trailing spaces, long words,
    /// unicode, control characters, number- and date-like text, line breaks.
    fn tricky_strings() -> Vec<String> {
        let punct: Vec<char> = (0x21u8..0x7f)
            .map(char::from)
            .filter(|c| !c.is_ascii_alphanumeric())
            .collect();
        let mut out: Vec<String> = Vec::new();
        for &p in &punct {
            for &q in &punct {
                out.push(format!("{p}{q}"));
            }
            for t in [
                "{p}",
                "{p}x",
                "x{p}",
                "x{p}y",
                "{p} x",
                "x {p}",
                "x {p}y",
                "x{p} y",
                " {p}",
                "{p} ",
                "{p}{p}{p}",
                "{p}{p}{p} x",
                "1{p}2",
                "2024{p}01{p}02",
            ] {
                out.push(t.replace("{p}", &p.to_string()));
            }
        }
        let atoms = [
            " ",
            "  ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            "\u{0}",
            "\u{7}",
            "\u{1b}",
            "\u{7f}",
            "\u{85}",
            "\u{a0}",
            "\u{2028}",
            "\u{feff}",
            "é",
            "✓",
            "日本",
            "😀",
            "\u{10ffff}",
            "a",
            "Z",
            "word",
            "0",
            "1",
            "9",
            "-",
            "+",
            ".",
            "_",
            ":",
            "#",
            "'",
            "\"",
            "\\",
            "e",
            "x",
            "o",
            "b",
            "y",
            "n",
            "T",
            "inf",
            "nan",
            "true",
            "null",
            "2024-01-02",
            "12:30",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4000 {
            let n = 1 + rng.below(8);
            out.push((0..n).map(|_| atoms[rng.below(atoms.len())]).collect());
        }
        let long_word = "x".repeat(90);
        let words = [
            "w",
            "word",
            "longerword",
            " ",
            "  ",
            "   ",
            &long_word,
            "é✓",
            "'",
            "\\",
        ];
        for _ in 0..400 {
            // Long text with words and runs of spaces: folding at every indentation.
            let n = 20 + rng.below(80);
            out.push((0..n).map(|_| words[rng.below(words.len())]).collect());
        }
        for s in [
            "",
            "yes",
            "No",
            "~",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            "1e3",
            ".5",
            "+.inf",
            ".NaN",
            "1:30",
            "190:20:30",
            "2001-12-14T21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "12345678901234567890123",
            "-0",
            "+0",
            "0.0",
            "1.",
            "089",
            "<<",
            "=",
        ] {
            out.push(s.to_string());
            out.push(format!(" {s}"));
            out.push(format!("{s} "));
        }
        out
    }

    #[test]
    fn every_string_round_trips() {
        let strings = tricky_strings();
        for chunk in strings.chunks(50) {
            // As map values, keys, list items and deeper, where folding starts later.
            let mut m = Map::new();
            for (i, s) in chunk.iter().enumerate() {
                m.insert(format!("v{i}"), json!(s));
                m.insert(format!("k{i}-{s}"), json!(i));
                m.insert(format!("l{i}"), json!([s, [s], {"deep": {"er": s}}]));
            }
            let v = Value::Object(m);
            let out = to_yaml(&v);
            let back: Result<Value, _> = serde_saphyr::from_str(&out);
            if back.as_ref().ok() != Some(&v) {
                // Find the string at fault for a readable failure.
                for s in chunk {
                    round_trips(&json!({ "k": s }));
                    round_trips(&json!({ s: 1 }));
                    round_trips(&json!({"l": [s, [s], {"deep": {"er": s}}]}));
                }
                panic!("chunk does not round trip ({:?}):\n{out}", back.err());
            }
        }
    }

    #[test]
    fn every_number_round_trips() {
        let mut rng = Rng(42);
        let mut nums: Vec<Value> = vec![
            json!(0),
            json!(-1),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(0.5),
            json!(1e21),
            json!(1e-7),
            json!(f64::MAX),
            json!(f64::MIN_POSITIVE),
            json!(5e-324),
        ];
        for _ in 0..2000 {
            let bits = rng.next();
            let f = f64::from_bits(bits);
            if f.is_finite() {
                nums.push(json!(f));
            }
            nums.push(json!((bits >> rng.below(64)) as i64));
            nums.push(json!(f64::from(rng.below(1_000_000) as u32) / 1000.0));
        }
        for n in nums {
            let out = to_yaml(&json!({ "n": n }));
            let back: Value = serde_saphyr::from_str(&out).unwrap();
            let (a, b) = (n.as_f64().unwrap(), back["n"].as_f64().unwrap());
            assert!(a == b, "{n} printed as {out:?} reads back as {}", back["n"]);
        }
    }
}
