#!/bin/bash
# Obtain, configure and build the famfs test kernel (Linux 7.3.x with Rust).
#
#   scripts/kernel.sh            build (or reuse) the cached kernel, print its path
#   FAMFS_KERNEL=kasan scripts/kernel.sh
#                                the KASAN kernel instead: the same configuration
#                                plus kernel/famfs-kasan.config, built with LLVM
#                                (clang-19, lld-19; Rust needs clang for KASAN),
#                                cached beside the test kernel ($FAMFS_CACHE/kdir-kasan)
#   FAMFS_KERNEL=bench scripts/kernel.sh
#                                the benchmark kernel: the same configuration minus
#                                the debugging (kernel/famfs-bench.config), as a
#                                distribution would ship it ($FAMFS_CACHE/kdir-bench)
#   KSRC=/path scripts/kernel.sh use this kernel source tree instead of Debian's package
#   KDIR=/path scripts/kernel.sh use this already-built kernel tree as is
#
# The source comes from Debian's linux-source-7.3 package, fetched with a private
# apt state directory so the system's apt configuration is never changed. The
# build tree is cached under $FAMFS_CACHE/kbuild, keyed by the kernel version, the
# config fragment and the toolchain versions: a warm run rebuilds nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/common.sh"

variant=${FAMFS_KERNEL:-test}
case $variant in
test)
	fragments=("$repo/kernel/famfs-test.config")
	link=$FAMFS_CACHE/kdir
	tag=
	toolchain=(gcc)
	;;
kasan)
	fragments=("$repo/kernel/famfs-test.config" "$repo/kernel/famfs-kasan.config")
	link=$FAMFS_CACHE/kdir-kasan
	tag=kasan-
	toolchain=(LLVM=-19)
	command -v clang-19 >/dev/null && command -v ld.lld-19 >/dev/null ||
		die "the KASAN kernel needs clang-19, lld-19 and llvm-19 (scripts/setup-deps.sh installs them)"
	;;
bench)
	fragments=("$repo/kernel/famfs-test.config" "$repo/kernel/famfs-bench.config")
	link=$FAMFS_CACHE/kdir-bench
	tag=bench-
	toolchain=(gcc)
	;;
*) die "FAMFS_KERNEL=$variant: expected test, kasan or bench" ;;
esac
jobs=${JOBS:-$(nproc)}

log_run() { # log_run <logfile> <what> <cmd...>: run quietly, explain failures
	local log=$1 what=$2
	shift 2
	if ! "$@" >"$log" 2>&1; then
		echo "error: $what failed; last lines of $log:" >&2
		tail -n 25 "$log" >&2
		exit 1
	fi
}

if [[ -n ${KDIR:-} ]]; then
	[[ -f $KDIR/.config && -f $KDIR/Module.symvers ]] ||
		die "KDIR=$KDIR is not a built kernel tree (.config or Module.symvers missing)"
	grep -q '^CONFIG_RUST=y' "$KDIR/.config" || die "KDIR=$KDIR was built without CONFIG_RUST=y"
	echo "$KDIR"
	exit 0
fi

fetch_source() { # -> prints the path of an unpacked 7.3.x source tree
	local debdir=$FAMFS_CACHE/deb deb
	mkdir -p "$debdir"
	deb=$(ls -1 "$debdir"/linux-source-7.3_7.3.*_all.deb 2>/dev/null | sort -V | tail -n1 || true)
	if [[ -z $deb ]]; then
		local apt=$FAMFS_CACHE/apt mirror
		mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
		[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
		[[ -n $mirror ]] || die "cannot find a Debian mirror in /etc/apt; pass KSRC=/path/to/linux-7.3"
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main" >"$apt/sources.list"
		local A=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
			-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Get::List-Cleanup=0)
		note "fetching linux-source-7.3 from trixie-backports (private apt state in $apt)"
		log_run "$apt/update.log" "apt-get update (private state)" apt-get "${A[@]}" update
		local ver
		ver=$(apt-cache "${A[@]}" madison linux-source-7.3 | awk '{print $3}' | grep '^7\.3\.' | sort -V | tail -n1)
		[[ -n $ver ]] || die "no linux-source-7.3 (7.3.x) found in trixie-backports; pass KSRC=/path/to/linux-7.3"
		(cd "$debdir" && log_run "$apt/download.log" "apt-get download linux-source-7.3=$ver" \
			apt-get "${A[@]}" download "linux-source-7.3=$ver")
		deb=$(ls -1 "$debdir"/linux-source-7.3_7.3.*_all.deb | sort -V | tail -n1)
	fi
	local v
	v=$(basename "$deb" | sed -E 's/^linux-source-7\.3_([^_]+)_all\.deb$/\1/')
	local src=$FAMFS_CACHE/src/linux-${v%%-*}
	if [[ ! -f $src/.famfs-unpacked ]]; then
		note "unpacking $(basename "$deb")"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		dpkg-deb -x "$deb" "$src.tmp/deb"
		local tarball
		tarball=$(ls "$src.tmp"/deb/usr/src/linux-source-7.3.tar.* | head -n1)
		tar -xf "$tarball" -C "$src.tmp"
		mv "$src.tmp"/linux-source-7.3 "$src"
		rm -rf "$src.tmp"
		touch "$src/.famfs-unpacked"
	fi
	echo "$src"
}

src=${KSRC:-}
if [[ -z $src ]]; then
	src=$(fetch_source)
fi
[[ -f $src/Makefile && -d $src/rust ]] || die "$src does not look like a Linux source tree"
kver=$(make -s -C "$src" kernelversion 2>/dev/null)
[[ $kver == 7.3* ]] || note "warning: kernel $kver is not 7.3.x; famfs targets 7.3"

# (For the test kernel this is the key it has always had: one fragment, gcc.)
key=$({
	echo "$kver $src"
	cat "${fragments[@]}"
	"$KRUSTC" -vV
	"$BINDGEN" --version
	if [[ ${toolchain[0]} == gcc ]]; then gcc --version | head -n1; else clang-19 --version | head -n1; fi
} | sha256sum | cut -c1-12)
out=$FAMFS_CACHE/kbuild/linux-$kver-$tag$key

if [[ -f $out/.famfs-built ]]; then
	ln -sfn "$out" "$link"
	note "kernel $kver cached at $out"
	echo "$out"
	exit 0
fi

M=(make -C "$src" O="$out" RUSTC="$KRUSTC" BINDGEN="$BINDGEN" HOSTRUSTC="$KRUSTC")
[[ ${toolchain[0]} == gcc ]] || M+=("${toolchain[@]}")
mkdir -p "$out"
note "configuring $kver in $out"
log_run "$out/famfs-config.log" "make tinyconfig" "${M[@]}" tinyconfig
log_run "$out/famfs-config.log" "merge_config.sh" \
	bash -c "cd '$out' && '$src/scripts/kconfig/merge_config.sh' -m -O '$out' '$out/.config' ${fragments[*]@Q}"
log_run "$out/famfs-config.log" "make olddefconfig" "${M[@]}" olddefconfig

# Every option of the fragments (a later fragment overriding an earlier one)
# must have survived olddefconfig.
declare -A want=()
order=()
while IFS= read -r line; do
	case $line in '' | \#*) continue ;; esac
	[[ -v want[${line%%=*}] ]] || order+=("${line%%=*}")
	want[${line%%=*}]=${line#*=}
done < <(cat "${fragments[@]}")
bad=0
for opt in "${order[@]}"; do
	val=${want[$opt]}
	if [[ $val == n ]]; then
		grep -q "^$opt=" "$out/.config" && { echo "config: $opt should be off" >&2; bad=1; }
	else
		grep -qx "$opt=$val" "$out/.config" || { echo "config: $opt=$val was dropped by olddefconfig (a dependency is missing)" >&2; bad=1; }
	fi
done
((bad == 0)) || die "kernel configuration does not match ${fragments[*]#$repo/}"

log_run "$out/famfs-rustavailable.log" "rust toolchain check (make rustavailable)" "${M[@]}" rustavailable
note "building $kver with $jobs jobs (log: $out/famfs-build.log); this takes several minutes"
start=$(date +%s)
log_run "$out/famfs-build.log" "kernel build" "${M[@]}" -j"$jobs" all
touch "$out/.famfs-built"
# Only a complete build becomes the current kernel ($FAMFS_CACHE/kdir,
# kdir-kasan or kdir-bench).
ln -sfn "$out" "$link"
note "kernel built in $(($(date +%s) - start)) s"
echo "$out"
