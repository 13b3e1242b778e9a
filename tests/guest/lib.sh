# shellcheck shell=bash
# Helpers for the in-guest test scripts. Each check prints one line,
# "ok - NAME" or "not ok - NAME" (TAP style); tests/run-all counts them.

T_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SYS="$T_DIR/famfs-sys"
FAMFS_KO=${FAMFS_KO:-$(cd "$T_DIR/../.." && pwd)/famfs.ko}
T_FAILED=0

ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	T_FAILED=$((T_FAILED + 1))
}

# check NAME CMD...: passes when CMD succeeds.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '    %s\n' "command: $*" "${out//$'\n'/$'\n'    }"
	fi
}

# check_fails NAME CMD...: passes when CMD fails.
check_fails() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		not_ok "$name"
		printf '    %s\n' "unexpectedly succeeded: $*" "${out//$'\n'/$'\n'    }"
	else
		ok "$name"
	fi
}

# expect NAME EXPECTED CMD...: passes when CMD prints exactly EXPECTED.
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1)
	if [[ $got == "$want" ]]; then
		ok "$name"
	else
		not_ok "$name"
		printf '    %s\n' "command: $*" "expected: $want" "got: ${got//$'\n'/$'\n'    }"
	fi
}

dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_new() { dmesg | tail -n +$((DMESG_MARK + 1)); }

is_mounted() { grep -q " $1 " /proc/mounts; }

# refuse NAME ERRNO PATTERN CMD...: CMD (a famfs-sys call) must print ERRNO,
# the kernel log must gain exactly one famfs line, of the documented form
# "famfs: cannot mount SOURCE: REASON (-ERRNO)" with PATTERN in REASON and
# ERRNO as the symbolic errno, and nothing may be left mounted on $MNT.
refuse() {
	local name=$1 want=$2 pattern=$3 got lines n num
	shift 3
	# The kernel prints the errno by name with CONFIG_SYMBOLIC_ERRNAME, by
	# number without it: accept either, for the errno expected.
	num=$(/usr/bin/python3 -c 'import errno, sys; print(getattr(errno, sys.argv[1], "x"))' "$want")
	dmesg_mark
	got=$("$@" 2>&1 | head -n1)
	lines=$(dmesg_new | grep -E 'famfs' || true)
	n=$(printf '%s' "$lines" | grep -c . || true)
	if [[ $got != "$want" ]]; then
		not_ok "$name: errno"
		printf '    %s\n' "command: $*" "expected $want, got $got"
	else
		ok "$name: errno $want"
	fi
	if [[ $n == 1 ]] && grep -qE -- "famfs: cannot mount .+: .*($pattern).* \(-($want|$num)\)\$" <<<"$lines"; then
		ok "$name: one kernel log line"
	else
		not_ok "$name: one kernel log line"
		printf '    %s\n' "want one line matching /$pattern/, got $n:" "${lines//$'\n'/$'\n'    }"
	fi
	if is_mounted "$MNT"; then
		not_ok "$name: nothing mounted"
		umount "$MNT"
	else
		ok "$name: nothing mounted"
	fi
}

# as_user CMD...: run CMD as an unprivileged user (nobody).
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

finish() {
	echo "# $(basename "$0"): $T_FAILED failed"
	[[ $T_FAILED == 0 ]]
}
