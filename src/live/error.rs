//! Why `hasim live` could not run a scenario.

/// A live run's failure. [`LiveError::is_user_error`] tells the CLI which ones are
/// the user's to fix (exit 2) and which are the machine's (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The scenario uses a feature that cannot run on real sockets (yet).
    #[error("{file}: `{key}` is not supported by `hasim live`: {why}")]
    Unsupported {
        /// The scenario file.
        file: String,
        /// The key, as a path (`autoscale`, `faults[1].kind`).
        key: String,
        /// Why, and what to do instead.
        why: String,
    },
    /// The scenario would run longer or faster than a live run may.
    #[error("{file}: `{key}` is too large for `hasim live`: {why}")]
    TooBig {
        /// The scenario file.
        file: String,
        /// The key that sets the size.
        key: String,
        /// The limit and the value.
        why: String,
    },
    /// A socket or the async runtime failed (a port in use, too many open files).
    #[error("live run: {0}")]
    Io(#[from] std::io::Error),
}

impl LiveError {
    /// True when the scenario or the arguments must change (exit status 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, LiveError::Io(_))
    }
}
