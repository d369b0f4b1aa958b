//! Test-only crate; see api/.
