//! What a caller gets when a call does not succeed.

use hasim_policy::client::FailReason;

/// Why a call through [`HasimService`](crate::HasimService) did not return a response.
#[derive(Debug, thiserror::Error)]
pub enum Error<E> {
    /// The policy stack failed the call: `reason` is the stack's own verdict (the same
    /// one `hasim run` counts in its `failed_*` columns). `source` is the inner
    /// service's error from the call's last failed attempt, if that attempt ended in
    /// an `Err` (a response the classifier judged a failure is not kept).
    #[error("call failed: {}", reason.name())]
    Failed {
        /// The stack's verdict.
        reason: FailReason,
        /// The last inner error, if the last failed attempt returned one.
        source: Option<E>,
    },
    /// The call could not succeed and the config says `fallback = "degrade"`, and no
    /// degraded value was set with [`Builder::degrade`](crate::Builder::degrade).
    #[error("call degraded (fallback = \"degrade\")")]
    Degraded,
    /// The classifier judged an inner `Err` a success, so there is no response to
    /// return: the inner error is handed back as is.
    #[error("inner error classified as success")]
    Inner(E),
    /// The driver task has stopped (its runtime shut down, or it was never spawned).
    #[error("the hasim-tower driver is not running")]
    Closed,
}

impl<E> Error<E> {
    /// The stack's reason when it failed the call (`None` for the other variants).
    pub fn reason(&self) -> Option<FailReason> {
        match self {
            Error::Failed { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}
