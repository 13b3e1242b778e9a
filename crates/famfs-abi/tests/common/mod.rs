//! Reading a table of `struct famfs_abi_item` (layout.h) that build.rs
//! compiled from C: the names and values GCC computed.

use std::collections::HashMap;
use std::ffi::{c_char, CStr};

/// `struct famfs_abi_item`.
#[repr(C)]
pub struct Item {
    name: *const c_char,
    value: u64,
}

/// Every item of the table at `first`, up to its NULL-named end.
///
/// # Safety
/// `first` must point to a static C table of items ended by one whose
/// name is NULL, every other name a NUL-terminated string.
pub unsafe fn c_values(first: *const Item) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    let mut p = first;
    // SAFETY: The caller guarantees a NULL-terminated static table; it is
    // read only up to that entry.
    unsafe {
        while !(*p).name.is_null() {
            m.insert(
                CStr::from_ptr((*p).name).to_string_lossy().into_owned(),
                (*p).value,
            );
            p = p.add(1);
        }
    }
    m
}
