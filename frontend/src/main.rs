//! Placeholder until the SPA lands (issue 3).
fn main() {}
