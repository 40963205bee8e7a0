//! Cases ported from the production libraries' own test suites: one module per
//! upstream project, each test naming the repository, file and test it comes from,
//! with the upstream's expected values. When one of these fails, hasim no longer
//! does what the library it claims to follow does.

#[path = "upstream/concurrency_limits.rs"]
mod concurrency_limits;
#[path = "upstream/envoy.rs"]
mod envoy;
#[path = "upstream/hystrix.rs"]
mod hystrix;
#[path = "upstream/resilience4j.rs"]
mod resilience4j;
#[path = "upstream/tower.rs"]
mod tower;

/// A random source that always returns `value`: stands in for Envoy's mocked
/// `random_.random()` returning a fixed number.
pub struct Fixed(pub u64);

impl rand::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        self.0 as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = self.0.to_le_bytes()[i % 8];
        }
    }
}
