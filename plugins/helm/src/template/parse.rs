//! The parser of Go's `text/template` (`text/template/parse/parse.go`): builds one tree per
//! file plus one per `define`/`block`, checks variables and functions at parse time, and
//! reports errors as Go does (`template: NAME:LINE: message`).

use std::collections::HashMap;
use std::rc::Rc;

use super::lex::{Item, ItemType, lex};

#[derive(Debug)]
pub enum Node {
    /// Text copied to the output as is: a byte range of the tree's `text`.
    Text(usize, usize),
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
}

#[derive(Debug)]
pub enum Arg {
    Identifier {
        pos: usize,
        name: String,
    },
    /// `$x.a.b`: idents[0] is the variable name with its `$`.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    /// `.a.b`
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `(pipeline).a.b`
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Number,
    },
    String {
        pos: usize,
        quoted: String,
        text: Rc<str>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = &**node {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number { num, .. } => f.write_str(&num.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = a {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// One parsed template: a file's top level, or a `define`d template.
#[derive(Debug)]
pub struct Tree {
    pub name: String,
    /// The file the template text came from (error locations name it).
    pub parse_name: Rc<str>,
    /// The whole text of that file (error locations count lines in it).
    pub text: Rc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// `NAME:LINE:COL` of a byte position, as Go's `ErrorContext` computes it.
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let col = match before.rfind('\n') {
            None => pos,
            Some(nl) => pos - (nl + 1),
        };
        let line = 1 + before.matches('\n').count();
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// Go's `parse.IsEmptyTree`: only whitespace text (and comments).
pub fn is_empty_tree(nodes: &[Node], text: &str) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(a, b) => text
            .get(*a..*b)
            .unwrap_or("")
            .trim_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c'])
            .is_empty(),
        _ => false,
    })
}

/// A parse error, already in Go's words (`template: NAME:LINE: message`).
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
}

struct Parser<'f> {
    items: Vec<Item>,
    idx: usize,
    name: Rc<str>,
    text: Rc<str>,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    last_line: usize,
    has_func: &'f dyn Fn(&str) -> bool,
    trees: Vec<Tree>,
}

type PResult<T> = Result<T, ParseError>;

/// Parses the file `name`. Returns its trees: the file's own first, then its definitions in
/// source order. `has_func` says which function names exist (Go checks them at parse time).
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Vec<Tree>> {
    let text: Rc<str> = Rc::from(text);
    let name: Rc<str> = Rc::from(name);
    let mut p = Parser {
        items: lex(&text),
        idx: 0,
        name: name.clone(),
        text: text.clone(),
        vars: vec!["$".into()],
        range_depth: 0,
        action_line: 0,
        last_line: 1,
        has_func,
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    // Go's add(): a second non-empty definition of the same name in one parse is an error.
    let mut out = vec![Tree {
        name: name.to_string(),
        parse_name: name.clone(),
        text: text.clone(),
        root,
    }];
    let mut seen: HashMap<String, usize> = HashMap::new();
    seen.insert(name.to_string(), 0);
    for t in p.trees {
        if let Some(&i) = seen.get(&t.name) {
            if is_empty_tree(&out[i].root, &out[i].text) {
                out[i] = t;
            } else if !is_empty_tree(&t.root, &t.text) {
                return Err(ParseError {
                    message: format!(
                        "template: {}: multiple definition of template {}",
                        name,
                        crate::gofmt::quote(&t.name)
                    ),
                    line: 0,
                });
            }
            continue;
        }
        seen.insert(t.name.clone(), out.len());
        out.push(t);
    }
    Ok(out)
}

impl Parser<'_> {
    fn eof(&self) -> Item {
        Item {
            typ: ItemType::Eof,
            pos: self.text.len(),
            end: self.text.len(),
            line: self.last_line,
            msg: None,
        }
    }

    /// The text of an item.
    fn val<'s>(&'s self, it: &'s Item) -> &'s str {
        it.val(&self.text)
    }

    fn errorf(&self, msg: String) -> ParseError {
        ParseError {
            message: format!("template: {}:{}: {}", self.name, self.last_line, msg),
            line: self.last_line,
        }
    }

    fn next(&mut self) -> Item {
        let it = self
            .items
            .get(self.idx)
            .cloned()
            .unwrap_or_else(|| self.eof());
        if self.idx < self.items.len() {
            self.idx += 1;
        }
        self.last_line = it.line;
        it
    }

    fn backup(&mut self) {
        if self.idx > 0 {
            self.idx -= 1;
        }
    }

    fn peek(&self) -> Item {
        self.items
            .get(self.idx)
            .cloned()
            .unwrap_or_else(|| self.eof())
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.typ != ItemType::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn unexpected(&self, it: &Item, context: &str) -> ParseError {
        if it.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != it.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if self.val(it).ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{extra}", it.describe(&self.text)));
        }
        self.errorf(format!(
            "unexpected {} in {context}",
            it.describe(&self.text)
        ))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.typ != typ {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}".into())),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}".into())),
                Parsed::Skip => {}
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let it = self.next_non_space();
        if it.typ != ItemType::String && it.typ != ItemType::RawString {
            return Err(self.unexpected(&it, context));
        }
        let name = unquote(self.val(&it)).map_err(|e| self.errorf(e))?;
        self.expect(ItemType::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), context)));
        }
        self.trees.push(Tree {
            name,
            parse_name: self.name.clone(),
            text: self.text.clone(),
            root: list,
        });
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                p @ (Parsed::End | Parsed::Else) => return Ok((list, p)),
                Parsed::Skip => {}
            }
        }
        Err(self.errorf("unexpected EOF".into()))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text(it.pos, it.end))),
            ItemType::LeftDelim => {
                self.action_line = it.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            ItemType::Comment => Ok(Parsed::Skip),
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.typ {
            ItemType::Block => return self.block_control(),
            ItemType::Break => return self.break_control(it.pos, "break"),
            ItemType::Continue => return self.break_control(it.pos, "continue"),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.branch("if").map(|b| Parsed::Node(Node::If(b))),
            ItemType::Range => return self.branch("range").map(|b| Parsed::Node(Node::Range(b))),
            ItemType::With => return self.branch("with").map(|b| Parsed::Node(Node::With(b))),
            ItemType::Template => return self.template_control(),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action { pos, pipe }))
    }

    fn break_control(&mut self, pos: usize, word: &str) -> PResult<Parsed> {
        let it = self.next_non_space();
        if it.typ != ItemType::RightDelim {
            return Err(self.unexpected(&it, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(Parsed::Node(if word == "break" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Parsed::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn branch(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else => {
                let p = self.peek_non_space();
                if context == "if" && p.typ == ItemType::If {
                    self.next_non_space();
                    let b = self.branch("if")?;
                    else_list = Some(vec![Node::If(b)]);
                } else if context == "with" && p.typ == ItemType::With {
                    self.next_non_space();
                    let b = self.branch("with")?;
                    else_list = Some(vec![Node::With(b)]);
                } else {
                    let (l, n) = self.item_list()?;
                    if !matches!(n, Parsed::End) {
                        return Err(self.errorf(format!("expected end; found {}", n.describe())));
                    }
                    else_list = Some(l);
                }
            }
            _ => {}
        }
        self.vars.truncate(mark);
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn parse_template_name(&mut self, it: &Item, context: &str) -> PResult<String> {
        match it.typ {
            ItemType::String | ItemType::RawString => {
                unquote(self.val(it)).map_err(|e| self.errorf(e))
            }
            _ => Err(self.unexpected(it, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Parsed> {
        let context = "template clause";
        let it = self.next_non_space();
        let name = self.parse_template_name(&it, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Parsed::Node(Node::Template {
            pos: it.pos,
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> PResult<Parsed> {
        let context = "block clause";
        let it = self.next_non_space();
        let name = self.parse_template_name(&it, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), context)));
        }
        self.trees.push(Tree {
            name: name.clone(),
            parse_name: self.name.clone(),
            text: self.text.clone(),
            root: list,
        });
        Ok(Parsed::Node(Node::Template {
            pos: it.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let tok = self.peek_non_space();
        let mut pipe = Pipe {
            pos: tok.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations or assignments.
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let save = self.idx;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(self.val(&v).to_string());
                    self.vars.push(self.val(&v).to_string());
                    break;
                }
                ItemType::Char if self.val(&next) == "," => {
                    self.next_non_space();
                    pipe.decl.push(self.val(&v).to_string());
                    self.vars.push(self.val(&v).to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue;
                            }
                            _ => {
                                return Err(
                                    self.errorf("range can only initialize variables".into())
                                );
                            }
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    self.idx = save;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space();
            if it.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match it.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command".into()));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let pos = self.peek().pos;
            let mut fields = Vec::new();
            while self.peek().typ == ItemType::Field {
                let f = self.next();
                fields.push(self.val(&f).get(1..).unwrap_or("").to_string());
            }
            return Ok(Some(match node {
                Arg::Field { idents, .. } => {
                    let mut all = idents;
                    all.extend(fields);
                    Arg::Field { pos, idents: all }
                }
                Arg::Variable { idents, .. } => {
                    let mut all = idents;
                    all.extend(fields);
                    Arg::Variable { pos, idents: all }
                }
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return Err(self.errorf(format!(
                        "unexpected . after term {}",
                        crate::gofmt::quote(&node.to_string())
                    )));
                }
                other => Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        Ok(Some(match it.typ {
            ItemType::Identifier => {
                if !(self.has_func)(self.val(&it)) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(self.val(&it))
                    )));
                }
                Arg::Identifier {
                    pos: it.pos,
                    name: self.val(&it).to_string(),
                }
            }
            ItemType::Dot => Arg::Dot { pos: it.pos },
            ItemType::Nil => Arg::Nil { pos: it.pos },
            ItemType::Variable => {
                let idents: Vec<String> = split_variable(self.val(&it));
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&idents[0])
                    )));
                }
                Arg::Variable {
                    pos: it.pos,
                    idents,
                }
            }
            ItemType::Field => Arg::Field {
                pos: it.pos,
                idents: vec![self.val(&it).get(1..).unwrap_or("").to_string()],
            },
            ItemType::Bool => Arg::Bool {
                pos: it.pos,
                val: self.val(&it) == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let num = parse_number(self.val(&it), it.typ).map_err(|e| self.errorf(e))?;
                Arg::Number { pos: it.pos, num }
            }
            ItemType::LeftParen => {
                let p = self.pipeline("parenthesized pipeline", ItemType::RightParen)?;
                Arg::Pipe(Box::new(p))
            }
            ItemType::String | ItemType::RawString => {
                let text = unquote(self.val(&it)).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos: it.pos,
                    quoted: self.val(&it).to_string(),
                    text: Rc::from(text.as_str()),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Parsed {
    Node(Node),
    End,
    Else,
    Skip,
}

impl Parsed {
    fn describe(&self) -> &'static str {
        match self {
            Parsed::End => "{{end}}",
            Parsed::Else => "{{else}}",
            _ => "node",
        }
    }
}

fn split_variable(v: &str) -> Vec<String> {
    v.split('.').map(str::to_string).collect()
}

/// Go's `strconv.Unquote` for "…", `…` and '…'.
pub fn unquote(s: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if s.len() < 2 {
        return Err(bad());
    }
    let q = s.as_bytes()[0];
    if s.as_bytes()[s.len() - 1] != q {
        return Err(bad());
    }
    let body = &s[1..s.len() - 1];
    if q == b'`' {
        if body.contains('`') {
            return Err(bad());
        }
        return Ok(body.replace('\r', ""));
    }
    if q != b'"' && q != b'\'' {
        return Err(bad());
    }
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if c == q as char || c == '\n' {
                return Err(bad());
            }
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            return Err(bad());
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' | '"' => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v = 0u32;
                for _ in 0..n {
                    let d = chars.next().and_then(|c| c.to_digit(16)).ok_or_else(bad)?;
                    v = v * 16 + d;
                }
                if e == 'x' {
                    // A byte; only valid as a char when ASCII (Go would keep raw bytes).
                    out.push(char::from_u32(v).ok_or_else(bad)?);
                } else {
                    out.push(char::from_u32(v).ok_or_else(bad)?);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    if q == b'\'' && out.chars().count() != 1 {
        return Err(bad());
    }
    Ok(out)
}

fn parse_go_int(text: &str) -> Option<(bool, u64)> {
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    if digits.starts_with('_') && radix == 10 {
        return None;
    }
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok().map(|v| (neg, v))
}

/// A hexadecimal floating-point literal (`0x1p60`, `-0x1.8p-3`).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mant, exp) = match rest.find(['p', 'P']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => return None,
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// Go's `parse.newNumber`.
fn parse_number(text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        is_int: false,
        is_uint: false,
        is_float: false,
        int: 0,
        uint: 0,
        float: 0.0,
    };
    if typ == ItemType::CharConstant {
        let s = unquote(text)?;
        let c = s.chars().next().ok_or("malformed character constant")?;
        n.int = c as i64;
        n.is_int = true;
        n.uint = c as u64;
        n.is_uint = true;
        n.float = c as u32 as f64;
        n.is_float = true;
        return Ok(n);
    }
    if typ == ItemType::Complex {
        return Err(format!("complex constants are not supported: {text}"));
    }
    if text.len() > 1 && text.ends_with('i') {
        return Err(format!("imaginary constants are not supported: {text}"));
    }
    if let Some((neg, v)) = parse_go_int(text) {
        if neg {
            if v <= i64::MAX as u64 + 1 {
                n.int = (v as i128).wrapping_neg() as i64;
                n.is_int = true;
            }
        } else {
            n.uint = v;
            n.is_uint = true;
            if v <= i64::MAX as u64 {
                n.int = v as i64;
                n.is_int = true;
            }
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else {
        let clean = text.replace('_', "");
        let parsed = if clean.to_ascii_lowercase().contains("0x") {
            parse_hex_float(&clean)
        } else {
            clean.parse::<f64>().ok()
        };
        match parsed.ok_or(()) {
            Ok(f) if f.is_finite() => {
                if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                    return Err(format!("integer overflow: {}", crate::gofmt::quote(text)));
                }
                n.is_float = true;
                n.float = f;
                if f == f.trunc() && f.abs() < 9.2e18 {
                    n.is_int = true;
                    n.int = f as i64;
                    if f >= 0.0 {
                        n.is_uint = true;
                        n.uint = f as u64;
                    }
                }
            }
            _ => {
                return Err(format!(
                    "illegal number syntax: {}",
                    crate::gofmt::quote(text)
                ));
            }
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: &str) -> bool {
        true
    }

    #[test]
    fn parses_defines_and_control() {
        let trees =
            parse("t", "{{define \"x\"}}X{{end}}{{if .a}}A{{else if .b}}B{{else}}C{{end}}{{range $i, $v := .l}}{{$v}}{{end}}", &all)
                .unwrap();
        assert_eq!(trees.len(), 2);
        assert_eq!(trees[1].name, "x");
        assert_eq!(trees[0].root.len(), 2);
    }

    #[test]
    fn reports_undefined_variables_and_functions() {
        let e = parse("t", "line1\n{{ $x }}", &all).unwrap_err();
        assert_eq!(e.message, "template: t:2: undefined variable \"$x\"");
        let e = parse("t", "{{ nope 1 }}", &|n| n != "nope").unwrap_err();
        assert_eq!(e.message, "template: t:1: function \"nope\" not defined");
    }

    #[test]
    fn numbers() {
        let n = parse_number("1e3", ItemType::Number).unwrap();
        assert!(n.is_float && n.is_int && n.int == 1000);
        let n = parse_number("0x1F", ItemType::Number).unwrap();
        assert_eq!(n.int, 31);
        let n = parse_number("1.5", ItemType::Number).unwrap();
        assert!(!n.is_int);
    }
}
