# SPDX-License-Identifier: GPL-2.0
#
# famfs: out-of-tree module build, and the project's entry points.
#
#   make [KDIR=<built kernel tree>]    build famfs.ko
#   make modules_install               install it into KDIR's module directory
#   make check                         every test (host, module, KUnit, guests)
#   make kernel / make kernel-kasan    build (or reuse) the test / KASAN kernel
#   make kernel-bench                  ... the benchmark kernel (no debugging)
#   make demo                          two emulated hosts sharing files
#   make bench / make soak             benchmarks / the long soak (not in check)
#   make tools                         build the famfs tool (release)
#   make docs                          its manual pages and shell completions
#   make install-tools [PREFIX=...]    install famfs, mkfs.famfs, the pages,
#                                      completions, systemd unit, udev rule
#   make dkms-install                  the module's source into /usr/src and
#                                      dkms add/build/install it
#   make deb                           the Debian package (tools + DKMS source)
#   make clean
#
# Without KDIR the test kernel built by scripts/kernel.sh is used (it is built
# on first use and cached outside the repository).

FAMFS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/famfs-rs
KDIR ?= $(FAMFS_CACHE)/kdir
RUSTC ?= /usr/bin/rustc
# bindgen from the cache that scripts/setup-deps.sh fills, else from PATH
# (DKMS builds on a user's machine).
BINDGEN ?= $(or $(wildcard $(FAMFS_CACHE)/tools/bin/bindgen),bindgen)
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

.PHONY: default modules modules_install clippy clean check demo bench soak kernel kernel-kasan kernel-bench deps rustfmt rustfmt-check tools install-tools \
	famfs-tool docs dkms-source dkms-install deb

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

kernel-bench: deps
	FAMFS_KERNEL=bench scripts/kernel.sh >/dev/null

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

# The famfs tool alone: what is installed and packaged.
famfs-tool:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) cargo build --release --locked -p famfs

# One version for the tools, the module's DKMS source and the package.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' crates/famfs/Cargo.toml)
DOCS = $(CARGO_TARGET_DIR)/famfs-docs
SBINDIR = $(PREFIX)/sbin
MANDIR = $(PREFIX)/share/man
DOCDIR = $(PREFIX)/share/doc/famfs
# Units and udev rules of a /usr install go where packages put theirs;
# those of a local install (/usr/local) where the administrator's go.
SYSTEMD_UNIT_DIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/systemd/system,/etc/systemd/system)
UDEV_RULES_DIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)

# Manual pages and completions, made by the tool from its own command-line
# definitions (the same source as --help).
docs: famfs-tool
	rm -rf $(DOCS)
	$(CARGO_TARGET_DIR)/release/famfs generate $(DOCS)

install-tools: famfs-tool docs
	install -D -m 0755 $(CARGO_TARGET_DIR)/release/famfs $(DESTDIR)$(SBINDIR)/famfs
	ln -sf famfs $(DESTDIR)$(SBINDIR)/mkfs.famfs
	install -d $(DESTDIR)$(MANDIR)/man8
	for p in $(DOCS)/man8/*.8; do gzip -9n <$$p >$(DESTDIR)$(MANDIR)/man8/$$(basename $$p).gz; done
	install -D -m 0644 $(DOCS)/completions/famfs.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/famfs
	install -D -m 0644 $(DOCS)/completions/_famfs \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_famfs
	install -D -m 0644 $(DOCS)/completions/famfs.fish \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/famfs.fish
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' packaging/famfs@.service.in \
		>$(DESTDIR)$(SYSTEMD_UNIT_DIR)/famfs@.service
	install -D -m 0644 packaging/70-famfs-dax.rules $(DESTDIR)$(UDEV_RULES_DIR)/70-famfs-dax.rules
	install -D -m 0644 packaging/famfs.conf $(DESTDIR)$(DOCDIR)/examples/famfs.conf

# The module's source as DKMS wants it: /usr/src/famfs-VERSION/ with its
# dkms.conf (build outputs and the tools' crates left out).
DKMS_FILES = Kbuild Makefile .rustfmt.toml \
	$(filter-out %_generated.rs,$(wildcard *.rs vfs/*.rs)) \
	$(filter-out %.mod.c,$(wildcard *.c)) $(wildcard *.h uapi/*.h)
DKMS_SRC = $(DESTDIR)/usr/src/famfs-$(VERSION)
dkms-source:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)
	cp --parents $(DKMS_FILES) $(DKMS_SRC)/
	sed 's/@VERSION@/$(VERSION)/g' packaging/dkms.conf.in >$(DKMS_SRC)/dkms.conf

# For the running kernel, or KERNELRELEASE=... (whose build tree must be
# /lib/modules/KERNELRELEASE/build).
KERNELRELEASE ?= $(shell uname -r)
dkms-install: DESTDIR =
dkms-install: dkms-source
	dkms remove -m famfs -v $(VERSION) --all >/dev/null 2>&1 || true
	dkms add -m famfs -v $(VERSION)
	dkms build -m famfs -v $(VERSION) -k $(KERNELRELEASE)
	dkms install -m famfs -v $(VERSION) -k $(KERNELRELEASE)

# The Debian package of the tools, the unit, and the module's DKMS source.
deb: famfs-tool docs
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) VERSION=$(VERSION) DOCS=$(DOCS) scripts/build-deb.sh

check:
	tests/run-all

demo:
	tests/demo

bench:
	tests/bench/run

# The long soak (about an hour; not part of check): tests/soak/run.
soak:
	tests/soak/run
