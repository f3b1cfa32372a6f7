# SPDX-License-Identifier: GPL-2.0
# Shared helpers for msgmux's scripts; sourced, not run.

MSGMUX_CACHE=${MSGMUX_CACHE:-/var/cache/msgmux}
MSGMUX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[msgmux %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[msgmux] error: %s\n' "$*" >&2; exit 1; }

# kver SERIES: the Debian kernel version (uname -r) for "6.1" or "6.12",
# as resolved and cached by deps.sh.
kver() {
	local stamp="$MSGMUX_CACHE/kernels/$1.abi"
	[ -s "$stamp" ] || die "kernel $1 is not set up: run scripts/deps.sh $1 (as root)"
	cat "$stamp"
}

# kroot KVER: where deps.sh unpacked that kernel's image package.
kroot() { echo "$MSGMUX_CACHE/kernels/$1"; }

BUILD=${BUILD:-$MSGMUX_TOP/build}
