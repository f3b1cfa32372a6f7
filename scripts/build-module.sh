#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build msgmux.ko for one kernel, with W=1, in build/<kver>/ (a copy of the
# sources, so builds for several kernels never share objects).  Any compiler
# warning fails the build.
#
# Usage: scripts/build-module.sh KVER [extra make arguments, e.g. C=2]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kv=$1
shift
kdir=/lib/modules/$kv/build
# The debug kernel's build tree stays in the cache (scripts/debug-kernel.sh).
[ -d "$(kroot "$kv")/build" ] && kdir=$(kroot "$kv")/build
[ -d "$kdir" ] || die "no headers for $kv in $kdir: run scripts/deps.sh"

dst=$BUILD/$kv/src
mkdir -p "$dst"
# A fresh copy each time: the module is small, and stale objects of
# removed files can never leak into a build.
rm -rf "$dst"
mkdir -p "$dst"
cp -r "$MSGMUX_TOP/Kbuild" "$MSGMUX_TOP/kmod" "$MSGMUX_TOP/include" "$dst/"

logf=$BUILD/$kv/build.log
make -C "$kdir" M="$dst" W=1 "$@" modules > "$logf" 2>&1 || {
	cat "$logf" >&2
	die "module build failed for $kv"
}
if grep -E 'warning:|error:' "$logf" | grep -v 'Skipping BTF' > /dev/null; then
	grep -E -B2 -A4 'warning:|error:' "$logf" >&2
	die "module build for $kv has warnings (W=1 must be clean)"
fi
cp "$dst/kmod/msgmux.ko" "$BUILD/$kv/msgmux.ko"
# The KUnit module exists only for kernels with CONFIG_KUNIT.
rm -f "$BUILD/$kv/msgmux_kunit.ko"
if [ -f "$dst/kmod/msgmux_kunit.ko" ]; then
	cp "$dst/kmod/msgmux_kunit.ko" "$BUILD/$kv/"
fi
log "built $BUILD/$kv/msgmux.ko"
