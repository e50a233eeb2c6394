//! YAML output byte-for-byte as `kubectl kustomize` prints it.
//!
//! Kustomize prints each resource with `sigs.k8s.io/yaml.JSONToYAML`: the object goes through
//! JSON, is read back by go-yaml v2 into plain Go maps, and is written by go-yaml v2's emitter
//! (a port of libyaml) with a two-space indent and an 80-column width. This module ports the
//! decisions that make up that output:
//!
//! - map keys in go-yaml's order (`keyList.Less`: letters before other characters, runs of
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

use serde_json::{Map, Number, Value};

/// Indentation step of kustomize's output (go-yaml v2's default).
const BEST_INDENT: usize = 2;
/// Column past which plain and quoted strings are folded at a space (go-yaml's default).
const BEST_WIDTH: usize = 80;
/// Longest key, in bytes, written as a simple `key: value` (libyaml's limit).
const MAX_SIMPLE_KEY: usize = 128;

/// One object as a YAML document (without a `---` line).
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter::default();
    e.node(value, Context::default());
    // Document end: the last line is terminated.
    e.write_indent();
    e.out
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Where a node is written (libyaml's `mapping_context` and `simple_key_context`).
#[derive(Clone, Copy, Default)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

/// The state libyaml's emitter keeps while writing (`yaml_emitter_t`), for block output.
struct Emitter {
    out: String,
    /// Current indentation; `None` before the root node (libyaml's -1).
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    /// Column of the next character, counted in characters.
    column: usize,
    /// Whether the last character written was whitespace.
    whitespace: bool,
    /// Whether only indentation has been written on the current line.
    indention: bool,
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter {
            out: String::new(),
            indent: None,
            indents: Vec::new(),
            column: 0,
            whitespace: true,
            indention: true,
        }
    }
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// libyaml's `write_break`: a line feed starts a new line; another break character is
    /// copied and counts as one.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(BEST_INDENT),
            None => Some(0),
            Some(i) if !indentless => Some(i + BEST_INDENT),
            Some(i) => Some(i),
        };
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn node(&mut self, v: &Value, ctx: Context) {
        match v {
            Value::Object(m) if !m.is_empty() => self.block_mapping(m),
            Value::Array(a) if !a.is_empty() => self.block_sequence(a, ctx),
            Value::Object(_) => self.empty_flow("{", "}"),
            Value::Array(_) => self.empty_flow("[", "]"),
            Value::Null => self.scalar("null", Style::Plain, ctx),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, ctx),
            Value::Number(n) => self.scalar(&go_number(n), Style::Plain, ctx),
            Value::String(s) => self.scalar(s, string_style(s), ctx),
        }
    }

    /// An empty map or list: `{}` / `[]` (libyaml writes empty collections in flow style).
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn block_mapping(&mut self, m: &Map<String, Value>) {
        self.increase_indent(false, false);
        for k in go_sorted_keys(m) {
            self.write_indent();
            let simple = !analyze(k).multiline && k.len() <= MAX_SIMPLE_KEY;
            if simple {
                let ctx = Context {
                    mapping: true,
                    simple_key: true,
                };
                self.scalar(k, string_style(k), ctx);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                let ctx = Context {
                    mapping: true,
                    simple_key: false,
                };
                self.scalar(k, string_style(k), ctx);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            let ctx = Context {
                mapping: true,
                simple_key: false,
            };
            self.node(&m[k], ctx);
        }
        self.pop_indent();
    }

    fn block_sequence(&mut self, a: &[Value], ctx: Context) {
        // A list that is a map value is not indented under its key.
        self.increase_indent(false, ctx.mapping && !self.indention);
        for v in a {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(v, Context::default());
        }
        self.pop_indent();
    }

    /// libyaml's `yaml_emitter_emit_scalar` with `yaml_emitter_select_scalar_style`.
    fn scalar(&mut self, value: &str, requested: Style, ctx: Context) {
        let a = analyze(value);
        let mut style = requested;
        if ctx.simple_key && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (value.is_empty() && ctx.simple_key))
        {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || ctx.simple_key) {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    /// `yaml_emitter_write_plain_scalar`: a space past the width becomes a line break.
    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && chars.peek() != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_single_quoted_scalar`: `'` doubled, folding as for plain text
    /// except around the first and last character.
    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_double_quoted_scalar`: escapes for what is not printable, folding at
    /// a space past the width (a space starting the next line is escaped as `\ `).
    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        // libyaml's `is_bom` looks at the start of the string, not at the current character:
        // after a leading U+FEFF every character is escaped.
        let bom = value.starts_with('\u{feff}');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if bom || !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let n = c as u32;
                        let escaped = if n <= 0xff {
                            format!("x{n:02X}")
                        } else if n <= 0xffff {
                            format!("u{n:04X}")
                        } else {
                            format!("U{n:08X}")
                        };
                        escaped.chars().for_each(|e| self.put(e));
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent();
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_literal_scalar`: `|`, the block hints, then the lines indented.
    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Indentation indicator when the first line starts with a space or is empty.
        let first = value.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        // Chomping: `-` without a final break, `+` with more than one.
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(prev)) if is_break(prev) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// The style go-yaml v2's encoder asks for a string (`stringv`): a literal block for text with
/// a line feed, double quotes when plain text would resolve to another type, else plain. The
/// emitter may still fall back to a quoted style (`Emitter::scalar`).
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_non_string(s) || is_base60_float(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    }
}

/// What `yaml_emitter_analyze_scalar` finds out about a string (in block context).
#[derive(Debug)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `is_printable` (with `unicode` on): LF, printable ASCII, and the BMP from U+00A0
/// except surrogates, U+FEFF, U+FFFE and U+FFFF. Characters beyond the BMP (emoji) are not.
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0a | 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfffd) && c != '\u{feff}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_whitespace = true;
    let mut previous_space = false;
    let mut previous_break = false;

    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_whitespace = next.is_none_or(is_blank);
        let last = next.is_none();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        // go-yaml v2 counts a tab as a special character (v3 allows tabs in literal blocks).
        // U+2028/U+2029 are printable for libyaml; treating them as special makes them
        // escaped in double quotes, which YAML 1.2 readers read back unchanged.
        if !is_printable(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }

    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// go-yaml v2 `resolve("", s)`: whether `s`, written plain, would read back as something other
/// than a string (null, bool, int, float, timestamp, merge key).
fn resolves_to_non_string(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true; // null
    };
    let hint = match first {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return false,
    };
    const RESOLVE_MAP: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if RESOLVE_MAP.contains(&s) {
        return true;
    }
    match hint {
        b'M' => false,
        b'.' => go_parse_float_dot(s),
        _ => {
            if parse_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if go_parse_int(&plain, None).is_ok() {
                return true;
            }
            let uint_err = match go_parse_uint(&plain, None) {
                Ok(_) => return true,
                Err(e) => e,
            };
            if yaml_style_float(&plain) && parse_finite(&plain) {
                return true;
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if go_parse_int(rest, Some(2)).is_ok() || go_parse_uint(rest, Some(2)).is_ok() {
                    return true;
                }
            } else if let Some(rest) = plain.strip_prefix("-0b")
                && go_parse_int(&format!("-{rest}"), Some(2)).is_ok()
            {
                return true;
            }
            // An integer too large for 64 bits is still an integer (a big.Int).
            uint_err == NumError::Range && big_int_ok(&plain)
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum NumError {
    Syntax,
    Range,
}

/// The base of an unsigned number and its digits, as Go's `strconv.ParseUint` with base 0
/// reads it: `0b`, `0o`, `0x` prefixes, or a leading `0` for octal.
fn base_and_digits(s: &str) -> (u64, &str) {
    let b = s.as_bytes();
    if b.first() != Some(&b'0') {
        return (10, s);
    }
    match b.get(1).map(u8::to_ascii_lowercase) {
        Some(b'b') if b.len() >= 3 => (2, &s[2..]),
        Some(b'o') if b.len() >= 3 => (8, &s[2..]),
        Some(b'x') if b.len() >= 3 => (16, &s[2..]),
        _ => (8, &s[1..]),
    }
}

fn digit_value(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some(u64::from(c - b'0')),
        c if c.is_ascii_alphabetic() => Some(u64::from(c.to_ascii_lowercase() - b'a' + 10)),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, base, 64)` (`None`: base 0, prefixes allowed). Underscores
/// have already been removed by the caller.
fn go_parse_uint(s: &str, base: Option<u64>) -> Result<u64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let (base, digits) = match base {
        Some(b) => (b, s),
        None => base_and_digits(s),
    };
    let mut n: u64 = 0;
    for &c in digits.as_bytes() {
        let d = digit_value(c).ok_or(NumError::Syntax)?;
        if d >= base {
            return Err(NumError::Syntax);
        }
        n = n
            .checked_mul(base)
            .and_then(|n| n.checked_add(d))
            .ok_or(NumError::Range)?;
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`.
fn go_parse_int(s: &str, base: Option<u64>) -> Result<i64, NumError> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = go_parse_uint(rest, base)?;
    let cutoff = 1u64 << 63;
    if (!neg && un >= cutoff) || (neg && un > cutoff) {
        return Err(NumError::Range);
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// Whether Go's `big.Int.SetString(s, 0)` accepts `s` (unsigned: the caller's `ParseUint`
/// reported only an overflow).
fn big_int_ok(s: &str) -> bool {
    let (base, digits) = base_and_digits(s);
    (!digits.is_empty() || base == 8)
        && digits
            .bytes()
            .all(|c| digit_value(c).is_some_and(|d| d < base))
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let digits = |t: &str| t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let rest = if let Some(frac) = t.strip_prefix('.') {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        &frac[n..]
    } else {
        let n = digits(t);
        if n == 0 {
            return false;
        }
        match t[n..].strip_prefix('.') {
            Some(frac) => &frac[digits(frac)..],
            None => &t[n..],
        }
    };
    if rest.is_empty() {
        return true;
    }
    let Some(exp) = rest.strip_prefix(['e', 'E']) else {
        return false;
    };
    let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
    !exp.is_empty() && digits(exp) == exp.len()
}

/// Whether a decimal float does not overflow (Go's `ParseFloat` fails on overflow).
fn parse_finite(s: &str) -> bool {
    s.strip_prefix('+')
        .unwrap_or(s)
        .parse::<f64>()
        .is_ok_and(f64::is_finite)
}

/// Go's `strconv.ParseFloat(s, 64)` for a string starting with `.`: digits, an optional
/// exponent, underscores only between digits.
fn go_parse_float_dot(s: &str) -> bool {
    let b = s.as_bytes();
    let underscores_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    underscores_ok && plain.starts_with('.') && yaml_style_float(&plain) && parse_finite(&plain)
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`, which
/// YAML 1.1 reads as a sexagesimal number (`1:30`).
fn is_base60_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) || !b.contains(&b':') {
        return false;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        if i + 1 < b.len() && (b'0'..=b'5').contains(&b[i]) && b[i + 1].is_ascii_digit() {
            i += 2;
        } else if i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's `parseTimestamp`: a `YYYY-` prefix and one of the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`), `2006-1-2 15:4:5.999999999`,
/// `2006-1-2`, with Go's `time.Parse` rules (one- or two-digit fields, ranges checked).
fn parse_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let year_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    [Some(b'T'), Some(b't'), Some(b' '), None]
        .into_iter()
        .any(|sep| go_time_parse(b, sep))
}

/// Go's `getnum`: one digit, or two when the second is a digit.
fn getnum(v: &[u8]) -> Option<(u32, &[u8])> {
    let d0 = *v.first().filter(|c| c.is_ascii_digit())?;
    match v.get(1).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => Some((u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'), &v[2..])),
        None => Some((u32::from(d0 - b'0'), &v[1..])),
    }
}

fn go_time_parse(b: &[u8], sep: Option<u8>) -> bool {
    fn lit(v: &[u8], c: u8) -> Option<&[u8]> {
        v.strip_prefix(&[c][..])
    }
    fn two_digits(d: &[u8]) -> Option<u32> {
        (d.len() == 2 && d.iter().all(u8::is_ascii_digit))
            .then(|| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
    }
    let year: u32 = b[..4].iter().fold(0, |y, &d| y * 10 + u32::from(d - b'0'));
    let parsed = (|| {
        let (month, v) = getnum(lit(&b[4..], b'-')?)?;
        let (day, mut v) = getnum(lit(v, b'-')?)?;
        if let Some(sep) = sep {
            v = if sep == b' ' {
                lit(v, b' ')?;
                let spaces = v.iter().take_while(|&&c| c == b' ').count();
                &v[spaces..]
            } else {
                lit(v, sep)?
            };
            let (hour, v1) = getnum(v)?;
            let (min, v2) = getnum(lit(v1, b':')?)?;
            let (sec, v3) = getnum(lit(v2, b':')?)?;
            if hour >= 24 || min >= 60 || sec >= 60 {
                return None;
            }
            v = v3;
            if v.len() >= 2 && (v[0] == b'.' || v[0] == b',') && v[1].is_ascii_digit() {
                v = &v[1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count()..];
            }
            if sep != b' ' {
                if let Some(rest) = lit(v, b'Z') {
                    v = rest;
                } else {
                    if v.len() < 6 || v[3] != b':' || !matches!(v[0], b'+' | b'-') {
                        return None;
                    }
                    let (h, m) = (two_digits(&v[1..3])?, two_digits(&v[4..6])?);
                    if h > 24 || m > 60 {
                        return None;
                    }
                    v = &v[6..];
                }
            }
        }
        v.is_empty().then_some((month, day))
    })();
    let Some((month, day)) = parsed else {
        return false;
    };
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// go-yaml's map key order (`keyList.Less` in sorter.go) for string keys: letters sort before
/// other characters, and runs of digits compare as numbers (`a9` < `a10`).
fn go_key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let is_letter = |c: char| c.is_alphabetic();
    let is_digit = |c: char| c.is_ascii_digit();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// The keys of `m` in go-yaml's order. `go_key_less` is not a total order for every set of
/// keys (Go then sorts keys that arrive in random map order), so this is a merge sort, which
/// cannot fail on an inconsistent order, rather than `sort_by`, which may panic.
fn go_sorted_keys(m: &Map<String, Value>) -> Vec<&str> {
    fn merge_sort(v: &mut Vec<&str>) {
        if v.len() <= 1 {
            return;
        }
        let mut right = v.split_off(v.len() / 2);
        merge_sort(v);
        merge_sort(&mut right);
        let left = std::mem::take(v);
        let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
        while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
            if go_key_less(b, a) {
                v.extend(r.next());
            } else {
                v.extend(l.next());
            }
        }
        v.extend(l);
        v.extend(r);
    }
    let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
    merge_sort(&mut keys);
    keys
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
    use serde_json::json;

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

    /// go-yaml's key order: letters before other characters, digit runs compared as numbers.
    #[test]
    fn keys_sorted_as_go_yaml_sorts_them() {
        let keys = [
            "a10",
            "a9",
            "ab",
            "aB",
            "A",
            "Z",
            "z",
            "a_b",
            "a-b",
            "a.b",
            "a~",
            "~",
            "_x",
            "-x",
            "1",
            "10",
            "9",
            "0",
            "00",
            "é",
            "x 1",
            "x 10",
            "x 9",
            "x0",
            "x00",
            "x00y",
            "x01y",
            "x0y",
            "port-80",
            "port-443",
            "port-8080",
            "v1",
            "v2",
            "v10",
        ];
        let m: Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!(1))).collect();
        assert_eq!(
            go_sorted_keys(&m),
            [
                "-x",
                "_x",
                "~",
                "0",
                "00",
                "1",
                "9",
                "10",
                "A",
                "Z",
                "a-b",
                "a.b",
                "a_b",
                "a~",
                "a9",
                "a10",
                "aB",
                "ab",
                "port-80",
                "port-443",
                "port-8080",
                "v1",
                "v2",
                "v10",
                "x 1",
                "x 9",
                "x 10",
                "x0",
                "x00",
                "x00y",
                "x01y",
                "x0y",
                "z",
                "é",
            ]
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
