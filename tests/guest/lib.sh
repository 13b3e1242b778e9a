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

# is_mounted DIR: something is mounted on DIR (a builtin loop: no process).
is_mounted() {
	local _src mp _rest
	while read -r _src mp _rest; do
		[[ $mp == "$1" ]] && return 0
	done </proc/mounts
	return 1
}

# errno_number NAME: sets ERRNO_NUMBER to the number of errno NAME (x if
# there is none), from Python's errno module, asked once per test script
# (not in a subshell, so that the table is kept).
declare -A ERRNO_TABLE=()
errno_number() {
	local k v
	if ((${#ERRNO_TABLE[@]} == 0)); then
		while read -r k v; do
			ERRNO_TABLE[$k]=$v
		done < <(/usr/bin/python3 -c 'import errno; [print(n, getattr(errno, n)) for n in dir(errno) if n.startswith("E")]')
	fi
	ERRNO_NUMBER=${ERRNO_TABLE[$1]:-x}
}

# refuse NAME ERRNO PATTERN CMD...: CMD (a mount call of famfs-maptool or
# famfs-sys) must print ERRNO,
# the kernel log must gain exactly one famfs line, of the documented form
# "famfs: cannot mount SOURCE: REASON (-ERRNO)" with PATTERN in REASON and
# ERRNO as the symbolic errno, and nothing may be left mounted on $MNT.
refuse() {
	local name=$1 want=$2 pattern=$3 got lines n num
	shift 3
	# The kernel prints the errno by name with CONFIG_SYMBOLIC_ERRNAME, by
	# number without it: accept either, for the errno expected.
	errno_number "$want"
	num=$ERRNO_NUMBER
	dmesg_mark
	got=$("$@" 2>&1 | head -n1)
	lines=$(dmesg_new | grep -E 'famfs' || true)
	local nl=${lines//[!$'\n']/}
	n=0
	[[ -z $lines ]] || n=$((${#nl} + 1))
	if [[ $got != "$want" ]]; then
		not_ok "$name: errno"
		printf '    %s\n' "command: $*" "expected $want, got $got"
	else
		ok "$name: errno $want"
	fi
	local re="famfs: cannot mount .+: .*($pattern).* \(-($want|$num)\)\$"
	if [[ $n == 1 && $lines =~ $re ]]; then
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

# pud_phase NAME: the device offset, mod 1 GiB, at which dax device NAME's
# memory is 1 GiB aligned, from its physical address in sysfs (what
# DAXDEV_GET's pud_phase must say).
pud_phase() {
	local res
	res=$(cat "/sys/bus/dax/devices/$1/resource") || return 1
	echo $((((1 << 30) - res % (1 << 30)) % (1 << 30)))
}

# as_user CMD...: run CMD as an unprivileged user (nobody).
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

finish() {
	echo "# $(basename "$0"): $T_FAILED failed"
	[[ $T_FAILED == 0 ]]
}
