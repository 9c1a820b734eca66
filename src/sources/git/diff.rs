//! The lines a change added to a blob.
