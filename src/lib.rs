//! leakscrub: find secrets in what CI/CD touches, and scrub them from
//! pipeline output.
//!
//! Data flows one way: sources -> blobs -> engine -> findings -> filters ->
//! reports. The redactor shares the engine's compiled rule set.

pub mod blob;
pub mod cli;
pub mod engine;
pub mod filters;
pub mod finding;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scan;
pub mod seen;
pub mod sources;
pub mod stop;
pub mod summary;
