#!/bin/bash
# Install what building and testing famfs needs on a Debian bookworm machine.
# Idempotent: a second run installs nothing and takes a second or two.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

pkgs=(
	# kernel build
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod rsync xz-utils
	# Rust for the kernel: rustc 1.96 with its library source, clippy and rustfmt
	rustc-web rust-web-src rust-web-clippy rustfmt-web
	# bindgen (built from crates.io below) needs a recent libclang
	libclang-19-dev
	# the KASAN kernel is built with LLVM (Rust code gets KASAN only with clang)
	clang-19 lld-19 llvm-19
	# guests and the tools run inside them
	qemu-system-x86 ndctl daxctl busybox-static util-linux e2fsprogs fio
	python3
	# packaging: the DKMS build test and make deb
	dkms dpkg-dev
)

missing=()
for p in "${pkgs[@]}"; do
	case $p in \#*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || die "need root to install: ${missing[*]} (run: sudo $0)"
	note "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
fi

[[ -x $KRUSTC ]] || die "$KRUSTC missing (package rustc-web)"
[[ -d /usr/lib/rustlib/src/rust/library ]] || die "rust library source missing (package rust-web-src)"
[[ -x $KCLIPPY ]] || die "$KCLIPPY missing (package rust-web-clippy)"
[[ -d $LIBCLANG_PATH ]] || die "libclang not found at $LIBCLANG_PATH (package libclang-19-dev)"

if ! [[ -x $BINDGEN ]] || ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION"; then
	command -v cargo >/dev/null || die "cargo not found: install rustup or Debian's cargo"
	note "building bindgen-cli $BINDGEN_VERSION into $FAMFS_TOOLS"
	mkdir -p "$FAMFS_TOOLS"
	cargo install -q --locked --root "$FAMFS_TOOLS" bindgen-cli --version "=$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed"
fi
note "dependencies ok (rustc $("$KRUSTC" --version | cut -d' ' -f2), bindgen $("$BINDGEN" --version | cut -d' ' -f2))"
