//! The kernel module's extent-map logic (`fmap.rs` at the repository root),
//! its decoder of KABI 44 map messages (`msg44.rs`), the overlap rule of
//! its range registry (`ranges.rs`) and its permission bits (`opts.rs`),
//! compiled for the host. The module and this crate share the file itself, so
//! what `cargo test` checks here is exactly what runs in the kernel.

#![no_std]

#[path = "../../../fmap.rs"]
mod fmap;

/// The overlap rule of the module's range registry (`ranges.rs`).
#[path = "../../../ranges.rs"]
pub mod ranges;

/// The KABI 44 map message (`msg44.rs`).
#[path = "../../../msg44.rs"]
pub mod msg44;

/// A mount's permission bits (`opts.rs`).
#[path = "../../../opts.rs"]
pub mod opts;

pub use fmap::*;
