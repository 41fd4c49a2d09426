//! The one error type of the core. Each variant maps to one Python exception class in the
//! bindings (TypeError, ValueError, IndexError, RuntimeError), so messages are written for users:
//! they say what was expected and what was given.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Wrong dtype or wrong kind of argument (Python TypeError).
    Type(String),
    /// A value or shape that does not fit (Python ValueError).
    Value(String),
    /// An index out of range (Python IndexError).
    Index(String),
    /// Something the environment lacks, such as a CUDA driver (Python RuntimeError).
    Runtime(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Type(m) | Error::Value(m) | Error::Index(m) | Error::Runtime(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}

/// `bail!(Value, "...", args)` returns early with the given error kind and a formatted message.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::$kind(format!($($arg)*)))
    };
}
