# SPDX-License-Identifier: GPL-2.0
#
# famfs: out-of-tree module build, and the project's entry points.
#
#   make [KDIR=<built kernel tree>]    build famfs.ko
#   make modules_install               install it into KDIR's module directory
#   make check                         every test (host, module, KUnit, guests)
#   make kernel / make kernel-kasan    build (or reuse) the test / KASAN kernel
#   make demo                          two emulated hosts sharing files
#   make bench / make soak             benchmarks / the long soak (not in check)
#   make tools                         build the famfs tool (release)
#   make install-tools [PREFIX=...]    install famfs and mkfs.famfs
#   make clean
#
# Without KDIR the test kernel built by scripts/kernel.sh is used (it is built
# on first use and cached outside the repository).

FAMFS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/famfs-rs
KDIR ?= $(FAMFS_CACHE)/kdir
RUSTC ?= /usr/bin/rustc
BINDGEN ?= $(FAMFS_CACHE)/tools/bin/bindgen
LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
CLIPPY_DRIVER ?= /usr/bin/clippy-driver
export LIBCLANG_PATH

# Resolve symlinks so that a different kernel tree changes the build command
# line (and Kbuild rebuilds the module against it).
KDIR_REAL = $(realpath $(KDIR))
# A kernel built with clang (the KASAN kernel, `make kernel-kasan`) needs its
# modules built with the same LLVM toolchain.
FAMFS_LLVM ?= -19
KLLVM = $(if $(shell grep -s '^CONFIG_CC_IS_CLANG=y' $(KDIR_REAL)/.config),LLVM=$(FAMFS_LLVM))
KMAKE = $(MAKE) -C $(KDIR_REAL) M=$(CURDIR) RUSTC=$(RUSTC) BINDGEN=$(BINDGEN) $(KLLVM)

.PHONY: default modules modules_install clippy clean check demo bench soak kernel kernel-kasan deps rustfmt rustfmt-check tools install-tools

default: modules

modules:
	$(KMAKE) modules

modules_install:
	$(KMAKE) modules_install

clippy:
	$(KMAKE) CLIPPY=1 CLIPPY_DRIVER=$(CLIPPY_DRIVER) modules

clean:
	$(KMAKE) clean

deps:
	scripts/setup-deps.sh

kernel: deps
	scripts/kernel.sh >/dev/null

# The KASAN kernel (LLVM, KASAN, UBSAN): make KDIR=$(FAMFS_CACHE)/kdir-kasan builds against it.
kernel-kasan: deps
	FAMFS_KERNEL=kasan scripts/kernel.sh >/dev/null

RUST_SOURCES = $(filter-out %_generated.rs,$(wildcard *.rs vfs/*.rs))

# The kernel's rustfmt settings (edition 2021, Unix newlines), kept in
# .rustfmt.toml because Kbuild offers no rustfmt target for M= builds.
rustfmt:
	/usr/bin/rustfmt --config-path .rustfmt.toml $(RUST_SOURCES)

rustfmt-check:
	/usr/bin/rustfmt --check --config-path .rustfmt.toml $(RUST_SOURCES)

# The user-space tools (famfs, and mkfs.famfs as another name for it).
PREFIX ?= /usr/local
CARGO_TARGET_DIR ?= $(FAMFS_CACHE)/cargo-target

tools:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) cargo build --release --locked -p famfs -p famfs-maptool

install-tools: tools
	install -D -m 0755 $(CARGO_TARGET_DIR)/release/famfs $(DESTDIR)$(PREFIX)/sbin/famfs
	ln -sf famfs $(DESTDIR)$(PREFIX)/sbin/mkfs.famfs

check:
	tests/run-all

demo:
	tests/demo

bench:
	tests/bench/run

# The long soak (about an hour; not part of check): tests/soak/run.
soak:
	tests/soak/run
