//! What the API tests and the flow benchmark share: where a test server keeps its data
//! ([`storage`]: the embedded default, or a real PostgreSQL and S3-compatible server, picked by
//! `TEST_BACKEND`) and how a test runs the server as a separate process ([`process`]).

pub mod process;
pub mod storage;
