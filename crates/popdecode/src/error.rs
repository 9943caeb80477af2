//! The library's one error type. User input never reaches a panic: every bad file, key or flag becomes one of
//! these, naming what was wrong and what was expected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The message includes the I/O error's, so it is not also given as the source (which `{:#}` would print a
    /// second time).
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{path}: not a readable .npz file ({reason})")]
    NotNpz { path: PathBuf, reason: String },

    #[error("{path}: missing key `{key}` (the file holds: {found})")]
    MissingKey {
        path: PathBuf,
        key: String,
        found: String,
    },

    #[error("{path}: key `{key}`: {what}")]
    BadArray {
        path: PathBuf,
        key: String,
        what: String,
    },

    /// A value the library cannot take, named as the library names it: a parameter's name (`lr`,
    /// `batch_size`, `hidden`, `train_fraction`), which a front end says in its own words (the command line as
    /// its flag, `--lr`; Python as its keyword).
    #[error("{name}: {what}")]
    Invalid { name: String, what: String },

    /// An argument of a front end, named as that front end names it (the command line's `--init`, `PART`), or
    /// the sizes a caller gave that a memory check refused, named as the caller named them.
    #[error("{flag}: {what}")]
    BadArgument { flag: String, what: String },

    #[error(
        "no GPU adapter found. On Debian/Ubuntu a software Vulkan adapter is one command away: \
         `apt-get install -y mesa-vulkan-drivers`; or run with `--backend cpu`"
    )]
    NoAdapter,

    /// The device or its driver failed: it could not be opened, a kernel did not build, a wait or a read-back
    /// failed, or it reported a validation error.
    #[error("GPU: {0}")]
    Device(String),

    /// The problem does not fit this adapter's limits (binding sizes, workgroups per dispatch, workgroup
    /// memory); the message says which limit and the way out.
    #[error("GPU: {0}")]
    AdapterLimits(String),

    /// The library was called in a way it does not support (an empty problem, weights of another shape, a
    /// session asked for what it was not built for). A bug in the caller, not in the input.
    #[error("{0}")]
    Usage(String),

    #[error("ridge regression: {0}")]
    Ridge(String),

    /// A part of a sharded run that cannot be merged with the others (`sweep::collect`).
    #[error("{}: {what}", path.display())]
    BadPart { path: PathBuf, what: String },

    /// Shards of a sharded run that no part holds.
    #[error("{0}")]
    MissingShards(String),
}

impl Error {
    /// `Invalid`: the value called `name` is wrong, and `what` says how.
    pub fn invalid(name: &str, what: impl Into<String>) -> Self {
        Error::Invalid {
            name: name.to_string(),
            what: what.into(),
        }
    }

    pub fn bad_argument(flag: &str, what: impl Into<String>) -> Self {
        Error::BadArgument {
            flag: flag.to_string(),
            what: what.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
