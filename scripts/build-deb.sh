#!/bin/bash
# make deb: the Debian package of famfs, built with dpkg-deb from a staged
# tree (make install-tools and make dkms-source into a scratch root), so that
# it holds exactly what those targets install:
#   /usr/sbin/famfs, mkfs.famfs; manual pages; bash, zsh and fish completions;
#   famfs@.service and the udev rule; /usr/src/famfs-VERSION (DKMS source).
# Its maintainer scripts register the module source with DKMS (if dkms is
# installed) and reload systemd; nothing is enabled by the package.
# Output: $CARGO_TARGET_DIR/famfs_VERSION_ARCH.deb (path printed last).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
: "${CARGO_TARGET_DIR:?}" "${VERSION:?}"
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
make -s -C "$repo" install-tools dkms-source DESTDIR="$root" PREFIX=/usr \
	CARGO_TARGET_DIR="$CARGO_TARGET_DIR" >/dev/null
install -D -m 0644 /dev/stdin "$root/usr/share/doc/famfs/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: famfs-for-Rust-for-Linux
License: GPL-2.0

Files: *
License: GPL-2.0
 On Debian systems the full text of the GNU General Public License
 version 2 is in /usr/share/common-licenses/GPL-2.
COPYRIGHT

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: famfs
Version: $VERSION
Architecture: $arch
Maintainer: famfs-for-Rust-for-Linux developers <famfs@localhost>
Installed-Size: $size
Depends: libc6 (>= 2.34)
Recommends: dkms
Section: admin
Priority: optional
Description: famfs: files in shared CXL or pmem memory (tools and module source)
 famfs, the fabric-attached memory file system, lets several hosts that map
 one pool of memory share data sets through it as ordinary files. This
 package has the famfs tool (mkfs, mount, follow, logplay, creat, cp, fsck
 and more), its manual pages and shell completions, the famfs@.service
 unit that mounts a device at boot and keeps client hosts current, and the
 source of the famfs kernel module (Rust, Linux 7.1 or later) for DKMS.
CONTROL
cat >"$root/DEBIAN/postinst" <<POSTINST
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
	if command -v dkms >/dev/null; then
		dkms add -m famfs -v $VERSION >/dev/null 2>&1 || true
		# Builds for the running kernel when its build tree is there; other
		# kernels get it from dkms autoinstall when they are installed.
		dkms install -m famfs -v $VERSION >/dev/null 2>&1 ||
			echo "famfs: DKMS could not build the module for \$(uname -r) now (see dkms status)" >&2
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null 2>&1 || true
		udevadm control --reload >/dev/null 2>&1 || true
	fi
fi
POSTINST
cat >"$root/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
if command -v dkms >/dev/null; then
	dkms remove -m famfs -v $VERSION --all >/dev/null 2>&1 || true
fi
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
out="$CARGO_TARGET_DIR/famfs_${VERSION}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
