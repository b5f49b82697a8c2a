//! Benches (placeholder).
fn main() {}
