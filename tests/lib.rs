//! What the API tests and the benchmarks share: where a test server keeps its data
//! ([`storage`]: the embedded default, or a real PostgreSQL and S3-compatible server, picked by
//! `TEST_BACKEND`), how a test runs the server as a separate process ([`process`]), and the
//! benchmarks' knobs and ready sessions ([`bench`]).

pub mod bench;
pub mod process;
pub mod storage;
