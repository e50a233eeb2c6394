//! The lexer of Go's `text/template` (`text/template/parse/lex.go`), ported rule for rule:
//! `{{- ` / ` -}}` trim markers need the space, comments must close right at the delimiter,
//! keywords, fields (`.a`), variables (`$a`), numbers, strings, raw strings and characters.

use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// One token: a byte range of the template text (no copy, so lexing a large chart allocates
/// little), or an error message.
#[derive(Clone, Debug)]
pub struct Item {
    pub typ: ItemType,
    /// Byte offset of the item in the template text.
    pub pos: usize,
    /// Byte offset just past the item.
    pub end: usize,
    /// 1-based line of the item's start.
    pub line: usize,
    /// The message of an error item.
    pub msg: Option<Rc<str>>,
}

impl Item {
    /// The item's text in `text` (the template it was lexed from).
    pub fn val<'t>(&'t self, text: &'t str) -> &'t str {
        match &self.msg {
            Some(m) => m,
            None => text.get(self.pos..self.end).unwrap_or(""),
        }
    }

    /// The item as Go's `item.String()` shows it in parse errors.
    pub fn describe(&self, text: &str) -> String {
        let val = self.val(text);
        match self.typ {
            ItemType::Eof => "EOF".into(),
            ItemType::Error => val.to_string(),
            t if is_keyword(t) => format!("<{val}>"),
            _ => {
                if val.chars().count() > 10 {
                    let short: String = val.chars().take(10).collect();
                    format!("{}...", crate::gofmt::quote(&short))
                } else {
                    crate::gofmt::quote(val)
                }
            }
        }
    }
}

fn is_keyword(t: ItemType) -> bool {
    matches!(
        t,
        ItemType::Block
            | ItemType::Break
            | ItemType::Continue
            | ItemType::Dot
            | ItemType::Define
            | ItemType::Else
            | ItemType::End
            | ItemType::If
            | ItemType::Nil
            | ItemType::Range
            | ItemType::Template
            | ItemType::With
    )
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space(s[1])
}

fn has_right_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && is_space(s[0]) && s[1] == b'-'
}

struct Lexer<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    items: Vec<Item>,
}

/// Splits `input` into items. Lexing stops at the first error, which is the last item.
pub fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        bytes: input.as_bytes(),
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        items: Vec::new(),
    };
    l.run();
    l.items
}

impl<'a> Lexer<'a> {
    fn emit(&mut self, typ: ItemType) {
        self.items.push(Item {
            typ,
            pos: self.start,
            end: self.pos,
            line: self.start_line,
            msg: None,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, msg: String) {
        self.items.push(Item {
            typ: ItemType::Error,
            pos: self.start,
            end: self.start,
            line: self.start_line,
            msg: Some(Rc::from(msg.as_str())),
        });
    }

    fn peek_char(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.bytes[self.pos..];
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT.as_bytes()) {
            return (true, true);
        }
        if rest.starts_with(RIGHT.as_bytes()) {
            return (true, false);
        }
        (false, false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek_char() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.bytes[self.pos..].starts_with(RIGHT.as_bytes()),
        }
    }

    fn run(&mut self) {
        loop {
            // Text.
            match self.input[self.pos..].find(LEFT) {
                Some(x) => {
                    if x > 0 {
                        self.pos += x;
                        let delim_end = self.pos + LEFT.len();
                        let mut trim = 0;
                        if has_left_trim_marker(&self.bytes[delim_end..]) {
                            let text = &self.input[self.start..self.pos];
                            trim =
                                text.len() - text.trim_end_matches([' ', '\t', '\r', '\n']).len();
                        }
                        self.pos -= trim;
                        self.line += self.input[self.start..self.pos].matches('\n').count();
                        if self.pos > self.start {
                            self.emit(ItemType::Text);
                        }
                        self.pos += trim;
                        self.ignore();
                    }
                    if !self.left_delim() {
                        return;
                    }
                }
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        self.line += self.input[self.start..self.pos].matches('\n').count();
                        self.emit(ItemType::Text);
                    }
                    self.emit(ItemType::Eof);
                    return;
                }
            }
        }
    }

    /// At `{{`. Returns false after an error.
    fn left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim_marker(&self.bytes[self.pos..]);
        let after = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.bytes[self.pos + after..].starts_with(LEFT_COMMENT.as_bytes()) {
            self.pos += after;
            self.ignore();
            return self.comment();
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.inside_action()
    }

    fn comment(&mut self) -> bool {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.input[self.pos..].find(RIGHT_COMMENT) else {
            self.error("unclosed comment".into());
            return false;
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT.len();
        if trim {
            let rest = &self.input[self.pos..];
            self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
        }
        self.ignore();
        true
    }

    fn right_delim(&mut self) {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(ItemType::RightDelim);
        if trim {
            let rest = &self.input[self.pos..];
            self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
            self.ignore();
        }
    }

    /// Lexes the inside of an action up to and including the right delimiter.
    fn inside_action(&mut self) -> bool {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.right_delim();
                    return true;
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let Some(c) = self.next_char() else {
                self.error("unclosed action".into());
                return false;
            };
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    self.backup(Some(c));
                    if !self.space() {
                        // On the trim-marked right delimiter.
                        self.right_delim();
                        return true;
                    }
                }
                '=' => self.emit(ItemType::Assign),
                ':' => {
                    if self.next_char() != Some('=') {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.emit(ItemType::Declare);
                }
                '|' => self.emit(ItemType::Pipe),
                '"' => {
                    if !self.quote() {
                        return false;
                    }
                }
                '`' => {
                    if !self.raw_quote() {
                        return false;
                    }
                }
                '$' => {
                    if !self.field_or_variable(ItemType::Variable) {
                        return false;
                    }
                }
                '\'' => {
                    if !self.char_constant() {
                        return false;
                    }
                }
                '.' => {
                    let next_is_digit =
                        self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_digit());
                    if !next_is_digit {
                        if !self.field_or_variable(ItemType::Field) {
                            return false;
                        }
                    } else {
                        self.backup(Some('.'));
                        if !self.number() {
                            return false;
                        }
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.backup(Some(c));
                    if !self.number() {
                        return false;
                    }
                }
                c if is_alnum(c) => {
                    self.backup(Some(c));
                    if !self.identifier() {
                        return false;
                    }
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(ItemType::LeftParen);
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                    self.emit(ItemType::RightParen);
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemType::Char),
                c => {
                    self.error(format!(
                        "unrecognized character in action: U+{:04X} {:?}",
                        c as u32, c
                    ));
                    return false;
                }
            }
        }
    }

    /// Lexes a run of spaces. Returns false when the run ends in a trim-marked right
    /// delimiter that consumes the single space (the caller then lexes the delimiter).
    fn space(&mut self) -> bool {
        let mut num = 0;
        while let Some(c) = self.peek_char() {
            if !(c.is_ascii() && is_space(c as u8)) {
                break;
            }
            self.next_char();
            num += 1;
        }
        let rest = &self.bytes[self.pos - 1..];
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT.as_bytes()) {
            let prev = self.input[..self.pos].chars().next_back();
            self.backup(prev);
            if num == 1 {
                return false;
            }
        }
        self.emit(ItemType::Space);
        true
    }

    fn identifier(&mut self) -> bool {
        loop {
            match self.next_char() {
                Some(c) if is_alnum(c) => {}
                other => {
                    self.backup(other);
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        let c = self.peek_char().unwrap_or('\0');
                        self.error(format!("bad character U+{:04X} {:?}", c as u32, c));
                        return false;
                    }
                    let typ = if let Some(k) = keyword(word).filter(|k| *k != ItemType::Dot) {
                        k
                    } else if word.starts_with('.') {
                        ItemType::Field
                    } else if word == "true" || word == "false" {
                        ItemType::Bool
                    } else {
                        ItemType::Identifier
                    };
                    self.emit(typ);
                    return true;
                }
            }
        }
    }

    /// After `$` or `.`.
    fn field_or_variable(&mut self, typ: ItemType) -> bool {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
            return true;
        }
        loop {
            match self.next_char() {
                Some(c) if is_alnum(c) => {}
                other => {
                    self.backup(other);
                    break;
                }
            }
        }
        if !self.at_terminator() {
            let c = self.peek_char().unwrap_or('\0');
            self.error(format!("bad character U+{:04X} {:?}", c as u32, c));
            return false;
        }
        self.emit(typ);
        true
    }

    fn char_constant(&mut self) -> bool {
        self.delimited(
            '\'',
            ItemType::CharConstant,
            "unterminated character constant",
        )
    }

    /// Scans to the closing `close` (after the opening one), honouring backslash escapes: Go's
    /// lexChar and lexQuote. A line break or the end of input first is `unterminated`.
    fn delimited(&mut self, close: char, typ: ItemType, unterminated: &str) -> bool {
        loop {
            match self.next_char() {
                Some('\\') => {
                    if let Some(c) = self.next_char()
                        && c != '\n'
                    {
                        continue;
                    }
                    self.error(unterminated.into());
                    return false;
                }
                None | Some('\n') => {
                    self.error(unterminated.into());
                    return false;
                }
                Some(c) if c == close => break,
                Some(_) => {}
            }
        }
        self.emit(typ);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        if let Some(c) = self.peek_char()
            && valid.contains(c)
        {
            self.next_char();
            return true;
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek_char()
            && is_alnum(c)
        {
            self.next_char();
            return false;
        }
        true
    }

    fn number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            self.error(format!("bad number syntax: {}", crate::gofmt::quote(&text)));
            return false;
        }
        if let Some(c) = self.peek_char()
            && (c == '+' || c == '-')
        {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                self.error(format!("bad number syntax: {}", crate::gofmt::quote(&text)));
                return false;
            }
            self.emit(ItemType::Complex);
            return true;
        }
        self.emit(ItemType::Number);
        true
    }

    fn quote(&mut self) -> bool {
        self.delimited('"', ItemType::String, "unterminated quoted string")
    }

    fn raw_quote(&mut self) -> bool {
        loop {
            match self.next_char() {
                None => {
                    self.error("unterminated raw quoted string".into());
                    return false;
                }
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemType::RawString);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<ItemType> {
        lex(s).into_iter().map(|i| i.typ).collect()
    }

    #[test]
    fn trims_and_lexes_fields() {
        let items = lex("a  {{- .Values.x -}}  b");
        let v = |i: usize| items[i].val("a  {{- .Values.x -}}  b").to_string();
        assert_eq!(v(0), "a");
        assert_eq!(v(2), ".Values");
        assert_eq!(v(3), ".x");
        assert_eq!(v(5), "b");
        assert_eq!(
            types("{{$x := 1}}"),
            vec![
                ItemType::LeftDelim,
                ItemType::Variable,
                ItemType::Space,
                ItemType::Declare,
                ItemType::Space,
                ItemType::Number,
                ItemType::RightDelim,
                ItemType::Eof
            ]
        );
    }

    #[test]
    fn comments_vanish() {
        let items = lex("a {{- /* c */ -}} b");
        assert_eq!(
            items
                .iter()
                .map(|i| i.val("a {{- /* c */ -}} b"))
                .collect::<Vec<_>>(),
            ["a", "b", ""]
        );
    }

    #[test]
    fn minus_without_space_is_a_number() {
        assert_eq!(types("{{-3}}")[1], ItemType::Number);
    }
}
