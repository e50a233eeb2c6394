//! Go's `text/template`, reimplemented: lexer, parser and executor with Go's semantics.

pub mod exec;
pub mod lex;
pub mod parse;
