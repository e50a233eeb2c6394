//! The executor of Go's `text/template` (`text/template/exec.go`), with Helm's options
//! (`missingkey=zero`).
//!
//! The rules that decide output are Go's: a missing map key is a nil `interface{}`; after each
//! command of a pipeline a nil interface becomes "no value"; a field of a nil interface is an
//! error but a field of "no value" is silently "no value"; `and`/`or` short-circuit; function
//! arguments must be assignable to the parameter types; `range` walks maps in key order.

use std::collections::HashMap;
use std::fmt::Display;
use std::rc::Rc;

use super::parse::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::funcs::{self, FuncDef, Ty};
use crate::value::{IntType, MapType, Obj, Value};

/// Nesting limit of template invocations (`template`, `include`, `tpl`). Go allows 100000
/// (and Helm 1000 `include`s of one name), but plumb runs plugins on a 1 MiB wasm stack and each
/// level takes about 2 KiB; stopping at 350 gives a clear error instead of a stack-overflow trap.
/// Real charts nest a few dozen levels at most.
const MAX_DEPTH: usize = 350;

/// Helm's limit on nested `include`s of one name.
const MAX_INCLUDE: usize = 1000;

/// An execution error, in Go's words (`template: LOC: executing "NAME" at <CTX>: MSG`).
#[derive(Debug, Clone)]
pub struct ExecError {
    pub message: String,
}

impl Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

type EResult<T> = Result<T, ExecError>;

enum Flow {
    Normal,
    Break,
    Continue,
}

/// What Sprig's random and time functions use instead of the real clock and entropy: the
/// render must be the same every time.
pub struct Determinism {
    /// Seconds since the Unix epoch that `now` returns (the commit time, else 0).
    pub now: i64,
    state: u64,
}

impl Determinism {
    pub fn new(now: i64, seed: u64) -> Self {
        Determinism {
            now,
            state: seed | 1,
        }
    }

    /// splitmix64.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Everything templates can reach while executing: the named templates, and Helm's state.
pub struct Env {
    templates: HashMap<String, Rc<Tree>>,
    /// Templates defined by `tpl` texts being executed (innermost last); they shadow
    /// `templates` only while their `tpl` call runs, as Helm's clone of the template set does.
    overlays: Vec<HashMap<String, Rc<Tree>>>,
    included: HashMap<String, usize>,
    depth: usize,
    pub determinism: Determinism,
}

impl Env {
    pub fn new(determinism: Determinism) -> Self {
        Env {
            templates: HashMap::new(),
            overlays: Vec::new(),
            included: HashMap::new(),
            depth: 0,
            determinism,
        }
    }

    /// Parses a file's text and adds its templates, as `template.New(name).Parse(text)` on
    /// Helm's shared set does: a later definition replaces an earlier one unless it is empty.
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<(), super::parse::ParseError> {
        let trees = super::parse::parse(name, text, &funcs::exists)?;
        for t in trees {
            add_tree(&mut self.templates, t);
        }
        Ok(())
    }

    pub fn has_template(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        for o in self.overlays.iter().rev() {
            if let Some(t) = o.get(name) {
                return Some(t.clone());
            }
        }
        self.templates.get(name).cloned()
    }

    /// `t.ExecuteTemplate(w, name, data)`.
    pub fn execute(&mut self, name: &str, data: Value) -> EResult<String> {
        let Some(tree) = self.lookup(name) else {
            return Err(ExecError {
                message: format!(
                    "template: no template {} associated with template \"gotpl\"",
                    crate::gofmt::quote(name)
                ),
            });
        };
        self.run_tree(tree, data)
    }

    fn run_tree(&mut self, tree: Rc<Tree>, data: Value) -> EResult<String> {
        if self.depth >= MAX_DEPTH {
            return Err(ExecError {
                message: format!(
                    "template: {}: exceeded maximum template depth ({MAX_DEPTH})",
                    tree.name
                ),
            });
        }
        self.depth += 1;
        let mut st = State {
            tree: tree.clone(),
            vars: vec![(Rc::from("$"), data.clone())],
        };
        let mut out = String::new();
        let r = st.walk(self, &data, &tree.root, &mut out);
        self.depth -= 1;
        r.map(|_| out)
    }

    /// Helm's `include`: executes a named template into a string, with Helm's recursion guard.
    pub fn include(&mut self, name: &str, data: Value) -> Result<String, String> {
        let count = self.included.entry(name.to_string()).or_insert(0);
        if *count > MAX_INCLUDE {
            return Err(format!(
                "unable to execute template: rendering template has a nested reference name: {name}"
            ));
        }
        *count += 1;
        let r = self.execute(name, data);
        if let Some(c) = self.included.get_mut(name) {
            *c -= 1;
        }
        r.map_err(|e| e.message)
    }

    /// Helm's `tpl`: parses `text` as a template (its definitions visible only inside) and
    /// executes it with `data`, removing `<no value>` as Helm does.
    pub fn tpl(&mut self, text: &str, data: Value, name: &str) -> Result<String, String> {
        let trees = super::parse::parse(name, text, &funcs::exists).map_err(|e| e.message)?;
        let mut overlay = HashMap::new();
        let mut main = None;
        for (i, t) in trees.into_iter().enumerate() {
            if i == 0 {
                main = Some(Rc::new(t));
            } else {
                add_tree(&mut overlay, t);
            }
        }
        let Some(main) = main else {
            return Ok(String::new());
        };
        self.overlays.push(overlay);
        let r = self.run_tree(main, data);
        self.overlays.pop();
        r.map(|s| s.replace("<no value>", ""))
            .map_err(|e| e.message)
    }
}

fn add_tree(set: &mut HashMap<String, Rc<Tree>>, t: Tree) {
    if let Some(old) = set.get(&t.name)
        && super::parse::is_empty_tree(&t.root, &t.text)
        && !super::parse::is_empty_tree(&old.root, &old.text)
    {
        return;
    }
    set.insert(t.name.clone(), Rc::new(t));
}

struct State {
    tree: Rc<Tree>,
    vars: Vec<(Rc<str>, Value)>,
}

/// The value after the last command of a pipeline, or none yet.
type Final = Option<Value>;

impl State {
    fn errorf(&self, pos: usize, ctx: &dyn Display, msg: impl Display) -> ExecError {
        ExecError {
            message: format!(
                "template: {}: executing {} at <{}>: {}",
                self.tree.location(pos),
                crate::gofmt::quote(&self.tree.name),
                ctx,
                msg
            ),
        }
    }

    fn walk(
        &mut self,
        env: &mut Env,
        dot: &Value,
        nodes: &[Node],
        out: &mut String,
    ) -> EResult<Flow> {
        for n in nodes {
            match self.walk_node(env, dot, n, out)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_node(
        &mut self,
        env: &mut Env,
        dot: &Value,
        node: &Node,
        out: &mut String,
    ) -> EResult<Flow> {
        match node {
            Node::Text(a, b) => out.push_str(self.tree.text.get(*a..*b).unwrap_or("")),
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(env, dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(&v, out);
                }
            }
            Node::If(b) => return self.walk_if_or_with(env, dot, b, false, out),
            Node::With(b) => return self.walk_if_or_with(env, dot, b, true, out),
            Node::Range(b) => return self.walk_range(env, dot, b, out),
            Node::Template { pos, name, pipe } => {
                let Some(tree) = env.lookup(name) else {
                    return Err(self.errorf(
                        *pos,
                        &format!("{{{{template {}}}}}", crate::gofmt::quote(name)),
                        format!("template {} not defined", crate::gofmt::quote(name)),
                    ));
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(env, dot, p)?,
                    None => Value::Invalid,
                };
                let s = env.run_tree(tree, new_dot)?;
                out.push_str(&s);
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&self, v: &Value, out: &mut String) {
        match v {
            Value::Invalid | Value::Nil => out.push_str("<no value>"),
            Value::Str(s) => out.push_str(s),
            Value::Obj(o) => match &**o {
                Obj::KubeVersion(k) => out.push_str(&k.normalized),
                Obj::Caps(_) => {
                    let s = crate::gofmt::sprint_v(v);
                    out.push_str(s.strip_prefix('&').unwrap_or(&s));
                }
                _ => out.push_str(&crate::gofmt::sprint_v(v)),
            },
            other => out.push_str(&crate::gofmt::sprint_v(other)),
        }
    }

    fn mark(&self) -> usize {
        self.vars.len()
    }

    fn pop(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }

    fn set_var(&mut self, name: &str, v: Value) {
        for (n, val) in self.vars.iter_mut().rev() {
            if &**n == name {
                *val = v;
                return;
            }
        }
    }

    fn set_top_var(&mut self, n: usize, v: Value) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].1 = v;
        }
    }

    fn var_value(&self, name: &str, pos: usize) -> EResult<Value> {
        for (n, v) in self.vars.iter().rev() {
            if &**n == name {
                return Ok(v.clone());
            }
        }
        Err(self.errorf(pos, &name, format!("undefined variable: {name}")))
    }

    fn walk_if_or_with(
        &mut self,
        env: &mut Env,
        dot: &Value,
        b: &Branch,
        with: bool,
        out: &mut String,
    ) -> EResult<Flow> {
        let mark = self.mark();
        let val = self.eval_pipeline(env, dot, &b.pipe)?;
        let r = if val.truth() {
            if with {
                self.walk(env, &val, &b.list, out)
            } else {
                self.walk(env, dot, &b.list, out)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(env, dot, e, out)
        } else {
            Ok(Flow::Normal)
        };
        self.pop(mark);
        r
    }

    fn walk_range(
        &mut self,
        env: &mut Env,
        dot: &Value,
        b: &Branch,
        out: &mut String,
    ) -> EResult<Flow> {
        let outer = self.mark();
        let val = self.eval_pipeline(env, dot, &b.pipe)?;
        let mark = self.mark();
        let items: Vec<(Value, Value)> = match &val {
            Value::List(l, _) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::int(i as i64), v.clone()))
                .collect(),
            Value::Bytes(bs) => bs
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::int(i as i64), Value::Int(*x as i64, IntType::Uint8)))
                .collect(),
            Value::Map(m, _) => m
                .borrow()
                .iter()
                .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                .collect(),
            Value::Obj(o) if matches!(&**o, Obj::Files(_)) => match &**o {
                Obj::Files(f) => f
                    .entries()
                    .iter()
                    .map(|(k, d)| (Value::str(k.as_str()), Value::Bytes(d.clone())))
                    .collect(),
                _ => Vec::new(),
            },
            Value::Int(..) => {
                if b.pipe.decl.len() > 1 {
                    self.pop(outer);
                    return Err(self.errorf(
                        b.pos,
                        &b.pipe,
                        format!(
                            "can't use {} to iterate over more than one variable",
                            crate::gofmt::sprint_v(&val)
                        ),
                    ));
                }
                // Ranged lazily below.
                Vec::new()
            }
            Value::Invalid | Value::Nil => Vec::new(),
            other => {
                self.pop(outer);
                return Err(self.errorf(
                    b.pos,
                    &b.pipe,
                    format!("range can't iterate over {}", crate::gofmt::sprint_v(other)),
                ));
            }
        };
        let mut ran = false;
        // Integers are ranged lazily: `range 100000000` must not allocate the whole sequence.
        let count = match &val {
            Value::Int(n, _) => (*n).max(0),
            _ => items.len() as i64,
        };
        let int_type = match &val {
            Value::Int(_, t) => Some(*t),
            _ => None,
        };
        let mut items = items.into_iter();
        for i in 0..count {
            let (index, elem) = match int_type {
                Some(t) => (Value::Int(i, t), Value::Int(i, t)),
                None => match items.next() {
                    Some(pair) => pair,
                    None => break,
                },
            };
            ran = true;
            if !b.pipe.decl.is_empty() {
                if b.pipe.is_assign {
                    if b.pipe.decl.len() > 1 {
                        self.set_var(&b.pipe.decl[0], index.clone());
                    } else {
                        self.set_var(&b.pipe.decl[0], elem.clone());
                    }
                } else {
                    self.set_top_var(1, elem.clone());
                }
            }
            if b.pipe.decl.len() > 1 {
                if b.pipe.is_assign {
                    self.set_var(&b.pipe.decl[1], elem.clone());
                } else {
                    self.set_top_var(2, index.clone());
                }
            }
            let r = self.walk(env, &elem, &b.list, out);
            self.pop(mark);
            match r {
                Ok(Flow::Break) => break,
                Ok(_) => {}
                Err(e) => {
                    self.pop(outer);
                    return Err(e);
                }
            }
        }
        let r = if !ran && let Some(e) = &b.else_list {
            self.walk(env, dot, e, out)
        } else {
            Ok(Flow::Normal)
        };
        self.pop(outer);
        r.map(|f| match f {
            Flow::Normal => Flow::Normal,
            // break/continue inside the else list belong to an enclosing range.
            other => other,
        })
    }

    fn eval_pipeline(&mut self, env: &mut Env, dot: &Value, pipe: &Pipe) -> EResult<Value> {
        let mut value: Final = None;
        for cmd in &pipe.cmds {
            let mut v = self.eval_command(env, dot, cmd, value.take())?;
            if matches!(v, Value::Nil) {
                v = Value::Invalid;
            }
            value = Some(v);
        }
        let value = value.unwrap_or(Value::Invalid);
        for d in &pipe.decl {
            if pipe.is_assign {
                self.set_var(d, value.clone());
            } else {
                self.vars.push((Rc::from(d.as_str()), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, fin: &Final) -> EResult<()> {
        if cmd.args.len() > 1 || fin.is_some() {
            return Err(self.errorf(
                cmd.pos,
                cmd,
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        env: &mut Env,
        dot: &Value,
        cmd: &Command,
        fin: Final,
    ) -> EResult<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { pos, idents } => {
                return self.eval_field_chain(
                    env,
                    dot,
                    dot.clone(),
                    idents,
                    *pos,
                    first,
                    &cmd.args,
                    fin,
                );
            }
            Arg::Chain { pos, node, fields } => {
                let recv = self.eval_chain_receiver(env, dot, node, *pos, first)?;
                return self.eval_field_chain(env, dot, recv, fields, *pos, first, &cmd.args, fin);
            }
            Arg::Identifier { name, .. } => {
                return self.eval_function(env, dot, name, cmd, &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &fin)?;
                return self.eval_pipeline(env, dot, p);
            }
            Arg::Variable { pos, idents } => {
                let v = self.var_value(&idents[0], *pos)?;
                if idents.len() == 1 {
                    self.not_a_function(cmd, &fin)?;
                    return Ok(v);
                }
                return self.eval_field_chain(
                    env,
                    dot,
                    v,
                    &idents[1..],
                    *pos,
                    first,
                    &cmd.args,
                    fin,
                );
            }
            _ => {}
        }
        self.not_a_function(cmd, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { pos } => Err(self.errorf(*pos, first, "nil is not a command")),
            Arg::Number { pos, num } => self.ideal_constant(num, *pos, first),
            Arg::String { text, .. } => Ok(Value::Str(text.clone())),
            _ => Err(self.errorf(
                cmd.pos,
                cmd,
                format!(
                    "can't evaluate command {}",
                    crate::gofmt::quote(&first.to_string())
                ),
            )),
        }
    }

    fn ideal_constant(&self, num: &super::parse::Number, pos: usize, node: &Arg) -> EResult<Value> {
        let t = &num.text;
        let hex = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let rune = t.starts_with('\'');
        if num.is_float && !hex && !rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(num.float));
        }
        if num.is_int {
            return Ok(Value::int(num.int));
        }
        if num.is_uint {
            return Err(self.errorf(pos, node, format!("{t} overflows int")));
        }
        Ok(Value::Invalid)
    }

    fn eval_chain_receiver(
        &mut self,
        env: &mut Env,
        dot: &Value,
        node: &Arg,
        pos: usize,
        ctx: &Arg,
    ) -> EResult<Value> {
        if let Arg::Nil { .. } = node {
            return Err(self.errorf(
                pos,
                ctx,
                format!("indirection through explicit nil in {ctx}"),
            ));
        }
        // Go evaluates the chained node with evalArg(dot, nil, node): no type to convert to,
        // so a nil result is "no value".
        let v = self.eval_arg(env, dot, Ty::Untyped, node)?;
        Ok(match v {
            Value::Nil => Value::Invalid,
            v => v,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        env: &mut Env,
        dot: &Value,
        mut recv: Value,
        idents: &[String],
        pos: usize,
        node: &Arg,
        args: &[Arg],
        fin: Final,
    ) -> EResult<Value> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            recv = self.eval_field(env, dot, ident, pos, node, &[], None, recv)?;
        }
        self.eval_field(env, dot, &idents[n - 1], pos, node, args, fin, recv)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        env: &mut Env,
        dot: &Value,
        name: &str,
        pos: usize,
        node: &Arg,
        args: &[Arg],
        fin: Final,
        recv: Value,
    ) -> EResult<Value> {
        let has_args = args.len() > 1 || fin.is_some();
        match &recv {
            Value::Invalid => return Ok(Value::Invalid),
            Value::Nil => {
                return Err(self.errorf(
                    pos,
                    node,
                    format!("nil pointer evaluating interface {{}}.{name}"),
                ));
            }
            _ => {}
        }
        if let Some(def) = funcs::method(&recv, name) {
            let recv2 = recv.clone();
            let call_args = if args.is_empty() { &[][..] } else { &args[1..] };
            return self.eval_call_with(
                env,
                dot,
                &def,
                name,
                pos,
                node,
                call_args,
                fin,
                Some(recv2),
            );
        }
        match &recv {
            Value::Map(m, t) => {
                if has_args {
                    return Err(self.errorf(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                let v = m.borrow().get(name).cloned();
                Ok(match v {
                    Some(v) => v,
                    None => match t {
                        MapType::Str => Value::str(""),
                        _ => Value::Nil,
                    },
                })
            }
            Value::Obj(o) => {
                if let Some(v) = funcs::object_field(o, name) {
                    if has_args {
                        return Err(self.errorf(
                            pos,
                            node,
                            format!("{name} has arguments but cannot be invoked as function"),
                        ));
                    }
                    return Ok(v);
                }
                if let Obj::Files(f) = &**o {
                    if has_args {
                        return Err(self.errorf(
                            pos,
                            node,
                            format!("{name} is not a method but has arguments"),
                        ));
                    }
                    return Ok(f
                        .get_bytes(name)
                        .map(Value::Bytes)
                        .unwrap_or(Value::Bytes(Rc::from(&[][..]))));
                }
                Err(self.errorf(
                    pos,
                    node,
                    format!("can't evaluate field {name} in type {}", recv.type_name()),
                ))
            }
            _ => Err(self.errorf(
                pos,
                node,
                format!("can't evaluate field {name} in type {}", recv.type_name()),
            )),
        }
    }

    fn eval_function(
        &mut self,
        env: &mut Env,
        dot: &Value,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        fin: Final,
    ) -> EResult<Value> {
        let Some(def) = funcs::lookup(name) else {
            return Err(self.errorf(
                cmd.pos,
                cmd,
                format!("{} is not a defined function", crate::gofmt::quote(name)),
            ));
        };
        self.eval_call_cmd(env, dot, def, name, cmd, &args[1..], fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call_cmd(
        &mut self,
        env: &mut Env,
        dot: &Value,
        def: &FuncDef,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        fin: Final,
    ) -> EResult<Value> {
        struct CmdCtx<'a>(&'a Command);
        impl Display for CmdCtx<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
        let argv = self.eval_args(env, dot, def, name, cmd.pos, &CmdCtx(cmd), args, fin)?;
        let argv = match argv {
            Args::Done(v) => return Ok(v),
            Args::Values(v) => v,
        };
        (def.call)(env, argv, None)
            .map_err(|e| self.errorf(cmd.pos, cmd, format!("error calling {name}: {e}")))
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call_with(
        &mut self,
        env: &mut Env,
        dot: &Value,
        def: &FuncDef,
        name: &str,
        pos: usize,
        node: &Arg,
        args: &[Arg],
        fin: Final,
        recv: Option<Value>,
    ) -> EResult<Value> {
        let argv = match self.eval_args(env, dot, def, name, pos, node, args, fin)? {
            Args::Done(v) => return Ok(v),
            Args::Values(v) => v,
        };
        (def.call)(env, argv, recv)
            .map_err(|e| self.errorf(pos, node, format!("error calling {name}: {e}")))
    }

    /// Evaluates and type-checks the arguments of a call, as Go's `evalCall` does.
    #[allow(clippy::too_many_arguments)]
    fn eval_args(
        &mut self,
        env: &mut Env,
        dot: &Value,
        def: &FuncDef,
        name: &str,
        pos: usize,
        ctx: &dyn Display,
        args: &[Arg],
        fin: Final,
    ) -> EResult<Args> {
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if def.variadic.is_some() {
            def.params.len()
        } else {
            args.len()
        };
        if def.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.errorf(
                    pos,
                    ctx,
                    format!(
                        "wrong number of args for {name}: want at least {} got {}",
                        def.params.len(),
                        args.len()
                    ),
                ));
            }
        } else if num_in != def.params.len() {
            return Err(self.errorf(
                pos,
                ctx,
                format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    def.params.len()
                ),
            ));
        }
        // and/or short-circuit.
        if def.short_circuit != 0 {
            let is_or = def.short_circuit == 2;
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(env, dot, Ty::RValue, a)?;
                if v.truth() == is_or {
                    return Ok(Args::Done(v));
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(Args::Done(v));
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(env, dot, def.params[i], &args[i])?);
            i += 1;
        }
        if let Some(vt) = def.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(env, dot, vt, &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let t = match def.variadic {
                Some(vt) => {
                    if num_in - 1 < num_fixed {
                        def.params[num_in - 1]
                    } else {
                        vt
                    }
                }
                None => def.params[def.params.len() - 1],
            };
            argv.push(self.validate_type(f, t, pos, ctx)?);
        }
        Ok(Args::Values(argv))
    }

    fn eval_arg(&mut self, env: &mut Env, dot: &Value, ty: Ty, arg: &Arg) -> EResult<Value> {
        let pos = arg.pos();
        match arg {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), ty, pos, arg),
            Arg::Nil { .. } => {
                return if ty.can_be_nil() {
                    Ok(ty.zero())
                } else {
                    Err(self.errorf(pos, arg, format!("cannot assign nil to {}", ty.name())))
                };
            }
            Arg::Field { idents, .. } => {
                let v =
                    self.eval_field_chain(env, dot, dot.clone(), idents, pos, arg, &[], None)?;
                return self.validate_type(v, ty, pos, arg);
            }
            Arg::Variable { idents, .. } => {
                let v = self.var_value(&idents[0], pos)?;
                let v = if idents.len() > 1 {
                    self.eval_field_chain(env, dot, v, &idents[1..], pos, arg, &[], None)?
                } else {
                    v
                };
                return self.validate_type(v, ty, pos, arg);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(env, dot, p)?;
                return self.validate_type(v, ty, pos, arg);
            }
            Arg::Identifier { name, .. } => {
                let Some(def) = funcs::lookup(name) else {
                    return Err(self.errorf(
                        pos,
                        arg,
                        format!("{} is not a defined function", crate::gofmt::quote(name)),
                    ));
                };
                let argv = match self.eval_args(env, dot, def, name, pos, arg, &[], None)? {
                    Args::Done(v) => v,
                    Args::Values(v) => (def.call)(env, v, None)
                        .map_err(|e| self.errorf(pos, arg, format!("error calling {name}: {e}")))?,
                };
                return self.validate_type(argv, ty, pos, arg);
            }
            Arg::Chain { node, fields, .. } => {
                let recv = self.eval_chain_receiver(env, dot, node, pos, arg)?;
                let v = self.eval_field_chain(env, dot, recv, fields, pos, arg, &[], None)?;
                return self.validate_type(v, ty, pos, arg);
            }
            _ => {}
        }
        match ty {
            Ty::Bool => match arg {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                _ => Err(self.errorf(pos, arg, format!("expected bool; found {arg}"))),
            },
            Ty::F64 => match arg {
                Arg::Number { num, .. } if num.is_float => Ok(Value::Float(num.float)),
                _ => Err(self.errorf(pos, arg, format!("expected float; found {arg}"))),
            },
            Ty::Int => match arg {
                Arg::Number { num, .. } if num.is_int => Ok(Value::int(num.int)),
                _ => Err(self.errorf(pos, arg, format!("expected integer; found {arg}"))),
            },
            Ty::Str => match arg {
                Arg::String { text, .. } => Ok(Value::Str(text.clone())),
                _ => Err(self.errorf(pos, arg, format!("expected string; found {arg}"))),
            },
            Ty::Any | Ty::RValue | Ty::Untyped => match arg {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                Arg::Number { num, .. } => self.ideal_constant(num, pos, arg),
                Arg::String { text, .. } => Ok(Value::Str(text.clone())),
                _ => Err(self.errorf(
                    pos,
                    arg,
                    format!("can't handle {arg} for arg of type {}", ty.name()),
                )),
            },
            _ => Err(self.errorf(
                pos,
                arg,
                format!("can't handle {arg} for arg of type {}", ty.name()),
            )),
        }
    }

    /// Go's `validateType`: is the value assignable to the parameter type?
    fn validate_type(&self, v: Value, ty: Ty, pos: usize, ctx: &dyn Display) -> EResult<Value> {
        if let Value::Invalid = v {
            return match ty {
                Ty::Untyped | Ty::RValue => Ok(Value::Invalid),
                t if t.can_be_nil() => Ok(t.zero()),
                t => Err(self.errorf(pos, ctx, format!("invalid value; expected {}", t.name()))),
            };
        }
        let ok = match ty {
            Ty::Any | Ty::RValue | Ty::Untyped => true,
            Ty::Str => matches!(v, Value::Str(_)),
            Ty::Int => matches!(v, Value::Int(_, IntType::Int)),
            Ty::F64 => matches!(v, Value::Float(_)),
            Ty::Bool => matches!(v, Value::Bool(_)),
            Ty::MapAny => matches!(v, Value::Map(_, MapType::Any | MapType::Values)),
        };
        if ok {
            return Ok(v);
        }
        let got = match &v {
            Value::Nil => "interface {}".to_string(),
            other => other.type_name(),
        };
        Err(self.errorf(
            pos,
            ctx,
            format!("wrong type for value; expected {}; got {got}", ty.name()),
        ))
    }
}

enum Args {
    Values(Vec<Value>),
    Done(Value),
}
