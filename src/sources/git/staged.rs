//! What is staged for the next commit: the index against HEAD.
