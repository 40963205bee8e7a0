//! hasim: a deterministic discrete-event simulator of RPC high availability.
//!
//! See the README's architecture section for the code map and the invariants.

pub mod dist;
pub mod experiment;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod time;
