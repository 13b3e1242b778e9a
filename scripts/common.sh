# Shared settings for the famfs build and test scripts. Sourced, not run.
# shellcheck shell=bash

# Everything large (kernel source, kernel build, QEMU state, cargo target) lives
# outside the repository, in one cache directory.
FAMFS_CACHE=${FAMFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/famfs-rs}
FAMFS_TOOLS=$FAMFS_CACHE/tools
BINDGEN_VERSION=0.73.2
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
# The kernel and every module must be built by Debian's rustc-web, never by a
# rustup toolchain that may come first on PATH (E0514 otherwise).
KRUSTC=${KRUSTC:-/usr/bin/rustc}
KCLIPPY=${KCLIPPY:-/usr/bin/clippy-driver}
KRUSTFMT=${KRUSTFMT:-/usr/bin/rustfmt}
BINDGEN=${BINDGEN:-$FAMFS_TOOLS/bin/bindgen}

die() {
	echo "error: $*" >&2
	exit 1
}

note() {
	echo ">>> $*" >&2
}

# Print the path of the kernel build tree this checkout uses (KDIR wins).
famfs_kdir_file() {
	echo "$FAMFS_CACHE/kdir"
}
