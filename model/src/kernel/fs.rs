//! fs/: the part of a /proc read the model needs.

pub mod seq_file;
