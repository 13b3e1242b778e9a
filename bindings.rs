// SPDX-License-Identifier: GPL-2.0

//! Raw bindings: the kernel crate's, plus those generated at build time from
//! `famfs_bindings.h` (iomap, dax, fs_context, fs_parser and the C glue).
//!
//! Items generated here shadow the glob import, so `bindings::fs_context` is
//! the complete structure while `bindings::inode` is the kernel crate's type.

#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::cast_lossless,
    clippy::as_underscore,
    clippy::as_ptr_cast_mut,
    clippy::missing_safety_doc
)]

pub(crate) use kernel::bindings::*;

use kernel::ffi;
use pin_init::MaybeZeroable;

include!("famfs_bindings_generated.rs");
