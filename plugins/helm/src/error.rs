//! Errors of the helm renderer, each carrying the file at fault when there is one.

use plumb_plugin_sdk::Diagnostic;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A chart, values or schema file could not be read or parsed.
    #[error("{message}")]
    Load { file: String, message: String },
    /// A template failed to parse or execute; `message` is Helm's own wording.
    #[error("{message}")]
    Template {
        file: Option<String>,
        line: Option<u32>,
        message: String,
    },
    /// Anything else Helm refuses (schema validation, missing dependencies, settings).
    #[error("{message}")]
    Other {
        file: Option<String>,
        message: String,
    },
}

impl Error {
    pub fn load(file: &str, message: String) -> Error {
        Error::Load {
            file: file.to_string(),
            message,
        }
    }

    pub fn other(message: impl Into<String>) -> Error {
        Error::Other {
            file: None,
            message: message.into(),
        }
    }

    /// Prefixes the message with what was being done.
    pub fn context(self, what: &str) -> Error {
        match self {
            Error::Load { file, message } => Error::Load {
                file,
                message: format!("{what}: {message}"),
            },
            Error::Template {
                file,
                line,
                message,
            } => Error::Template {
                file,
                line,
                message: format!("{what}: {message}"),
            },
            Error::Other { file, message } => Error::Other {
                file,
                message: format!("{what}: {message}"),
            },
        }
    }

    pub fn into_diagnostic(self) -> Diagnostic {
        match self {
            Error::Load { file, message } => Diagnostic::new(message).in_file(file),
            Error::Template {
                file,
                line,
                message,
            } => {
                let mut d = Diagnostic::new(message);
                if let Some(f) = file {
                    d = d.in_file(f);
                }
                if let Some(l) = line {
                    d = d.at(l, None);
                }
                d
            }
            Error::Other { file, message } => {
                let mut d = Diagnostic::new(message);
                if let Some(f) = file {
                    d = d.in_file(f);
                }
                d
            }
        }
    }
}
