//! Blobs and the stage every source's blobs go through before the engine.

pub mod archive;
pub mod decode;
