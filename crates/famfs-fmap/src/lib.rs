//! The kernel module's extent-map logic (`fmap.rs` at the repository root),
//! compiled for the host. The module and this crate share the file itself, so
//! what `cargo test` checks here is exactly what runs in the kernel.

#![no_std]

#[path = "../../../fmap.rs"]
mod fmap;

pub use fmap::*;
