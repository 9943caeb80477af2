//! The fuzz targets' harness: see `readers.rs` and `README.md`.

pub mod readers;
