//! go-yaml v2's emitter (a port of libyaml's `yaml_emitter_t`) for block output: the
//! indentation, scalar styles, quoting and folding that make plumb's YAML byte-identical with
//! kustomize's and Helm's.

use crate::Node;
use crate::resolve::needs_quotes;

/// Indentation step (go-yaml's default, and what Helm's `toYamlPretty` sets).
const BEST_INDENT: usize = 2;
/// Column past which plain and quoted strings are folded at a space (go-yaml v2's default).
const BEST_WIDTH: usize = 80;
/// Longest key, in bytes, written as a simple `key: value` (libyaml's limit).
const MAX_SIMPLE_KEY: usize = 128;

/// How to write: the go-yaml flavour and plumb's own deviations.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Helm's `toYamlPretty` (go-yaml v3's encoder): sequences indented under their key and
    /// no folding of long strings.
    pub pretty: bool,
    /// Escape U+2028/U+2029 in double quotes (`\L`, `\P`) where go-yaml writes them raw, as
    /// line breaks of YAML 1.1, inside single quotes or blocks: plumb's own output, so that
    /// every document reads back as the same value.
    pub escape_line_separators: bool,
}

/// `node` as a YAML document (without a `---` line), its last line terminated.
pub fn emit(node: &Node, opts: Options) -> String {
    let mut e = Emitter::new(opts);
    e.node(node, Context::default());
    // Document end: the last line is terminated.
    e.write_indent();
    e.out
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
    opts: Options,
    /// Folding column: none for `toYamlPretty`.
    width: usize,
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

impl Emitter {
    fn new(opts: Options) -> Self {
        Emitter {
            opts,
            width: if opts.pretty { usize::MAX } else { BEST_WIDTH },
            out: String::new(),
            indent: None,
            indents: Vec::new(),
            column: 0,
            whitespace: true,
            indention: true,
        }
    }

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

    /// A line break in a scalar's text: the next character starts an indented line.
    fn text_break(&mut self, c: char) {
        self.write_break(c);
        self.indention = true;
    }

    /// A character of a scalar's text: indented first when it starts a line, written twice
    /// when `doubled` (a quote in single quotes).
    fn text_char(&mut self, c: char, starts_line: bool, doubled: bool) {
        if starts_line {
            self.write_indent();
        }
        if doubled {
            self.put(c);
        }
        self.put(c);
        self.indention = false;
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

    fn node(&mut self, n: &Node, ctx: Context) {
        match n {
            Node::Map(m) if !m.is_empty() => self.block_mapping(m),
            Node::Seq(a) if !a.is_empty() => self.block_sequence(a, ctx),
            Node::Map(_) => self.empty_flow("{", "}"),
            Node::Seq(_) => self.empty_flow("[", "]"),
            Node::Null => self.scalar("null", Style::Plain, ctx),
            Node::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, ctx),
            Node::Number(text) => self.scalar(text, Style::Plain, ctx),
            Node::Str(s) => self.scalar(s, string_style(s), ctx),
        }
    }

    /// An empty map or list: `{}` / `[]` (libyaml writes empty collections in flow style).
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    /// Entries in the order given (callers sort them with `sort_entries`).
    fn block_mapping(&mut self, m: &[(String, Node)]) {
        self.increase_indent(false, false);
        for (k, v) in m {
            self.write_indent();
            let simple = !k.chars().any(is_break) && k.len() <= MAX_SIMPLE_KEY;
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
            self.node(v, ctx);
        }
        self.pop_indent();
    }

    fn block_sequence(&mut self, a: &[Node], ctx: Context) {
        // go-yaml v2 does not indent a list that is a map value under its key; v3 does.
        let indentless = !self.opts.pretty && ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for v in a {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(v, Context::default());
        }
        self.pop_indent();
    }

    /// libyaml's `yaml_emitter_emit_scalar` with `yaml_emitter_select_scalar_style`.
    fn scalar(&mut self, value: &str, requested: Style, ctx: Context) {
        let a = analyze(value, self.opts);
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
            Style::Plain => self.write_plain_or_single_quoted(value, allow_breaks, false),
            Style::SingleQuoted => self.write_plain_or_single_quoted(value, allow_breaks, true),
            Style::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    /// `yaml_emitter_write_plain_scalar` and `yaml_emitter_write_single_quoted_scalar`: a
    /// space past the width becomes a line break (in quotes, not at either end); quotes in
    /// quotes are doubled.
    fn write_plain_or_single_quoted(&mut self, value: &str, allow_breaks: bool, quoted: bool) {
        if quoted {
            self.write_indicator("'", true, false, false);
        } else if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let inner = !quoted || (i > 0 && i + 1 < chars.len());
                if allow_breaks
                    && !spaces
                    && self.column > self.width
                    && inner
                    && chars.get(i + 1) != Some(&' ')
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
                self.text_break(c);
                breaks = true;
            } else {
                self.text_char(c, breaks, quoted && c == '\'');
                spaces = false;
                breaks = false;
            }
        }
        if quoted {
            self.write_indicator("'", false, false, false);
        }
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
                    && self.column > self.width
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
                self.text_break(c);
                breaks = true;
            } else {
                self.text_char(c, breaks, false);
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
    } else if needs_quotes(s) {
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

fn analyze(value: &str, opts: Options) -> Analysis {
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
        if !is_printable(c) || (opts.escape_line_separators && matches!(c, '\u{2028}' | '\u{2029}'))
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Node)]) -> Node {
        Node::Map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(text: &str) -> Node {
        Node::Str(text.to_string())
    }

    const V2: Options = Options {
        pretty: false,
        escape_line_separators: false,
    };
    const PRETTY: Options = Options {
        pretty: true,
        escape_line_separators: false,
    };

    /// go-yaml v2 does not indent a list under its key and folds long strings; Helm's
    /// `toYamlPretty` does the opposite.
    #[test]
    fn v2_and_pretty_layouts() {
        let long = "word ".repeat(20).trim_end().to_string();
        let n = map(&[
            (
                "a",
                Node::Seq(vec![s("x"), map(&[("b", Node::Number("1".into()))])]),
            ),
            ("c", s(&long)),
            ("d", Node::Seq(vec![])),
            ("e", Node::Null),
            ("f", Node::Bool(true)),
        ]);
        assert_eq!(
            emit(&n, V2),
            format!(
                "a:\n- x\n- b: 1\nc: {}\n  {}\nd: []\ne: null\nf: true\n",
                "word ".repeat(16).trim_end(),
                "word ".repeat(4).trim_end()
            )
        );
        assert_eq!(
            emit(&n, PRETTY),
            format!("a:\n  - x\n  - b: 1\nc: {long}\nd: []\ne: null\nf: true\n")
        );
    }

    /// Strings that would read as another type are double-quoted, indicators single-quoted,
    /// multi-line text written as literal blocks.
    #[test]
    fn scalar_styles() {
        let n = map(&[
            ("a", s("yes")),
            ("b", s("- x")),
            ("c", s("x\ny\n")),
            ("d", s("a\tb")),
            ("", s("")),
        ]);
        assert_eq!(
            emit(&n, V2),
            "a: \"yes\"\nb: '- x'\nc: |\n  x\n  y\nd: \"a\\tb\"\n\"\": \"\"\n"
        );
    }

    /// plumb's own output escapes line separators; go-yaml keeps U+2028 as a printable
    /// character.
    #[test]
    fn line_separators() {
        let n = map(&[("k", s("a\u{2028}b"))]);
        let escaped = Options {
            escape_line_separators: true,
            ..V2
        };
        assert_eq!(emit(&n, escaped), "k: \"a\\Lb\"\n");
        assert_ne!(emit(&n, V2), "k: \"a\\Lb\"\n");
    }
}
