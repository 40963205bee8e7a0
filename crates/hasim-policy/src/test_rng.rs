//! Seeded streams for the crate's own tests, laid out like the simulator's
//! (`hasim::rng::stream`) so a test's draws match what the simulator would draw.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator tests use.
pub type TestRng = ChaCha8Rng;

/// Stream roles (the simulator's numbering).
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub enum Role {
    /// Policy decisions of one client instance.
    Policy = 5,
}

/// The stream for `role` of `entity` in a run seeded with `seed`.
pub fn stream(seed: u64, role: Role, entity: u64) -> TestRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((role as u64) << 56) | (entity & ((1 << 56) - 1)));
    rng
}
