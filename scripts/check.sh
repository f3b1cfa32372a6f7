#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: for each kernel, build msgmux.ko (W=1, warnings fail),
# boot it in QEMU, run the kselftests and judge the run (scripts/vm.sh).
# Ends with one line "N passed, N failed" over all kernels and exits
# non-zero if anything failed.
#
# Usage: scripts/check.sh [MODE] SERIES...     (MODE check|demo|bench)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

mode=check
case "${1:-}" in
check|demo|bench) mode=$1; shift ;;
esac
[ $# -gt 0 ] || set -- 6.1 6.12

passed=0 failed=0 skipped=0 bad_kernels=()
t0=$(date +%s)
for series in "$@"; do
	kv=$(kver "$series") || exit 1
	if ! "$MSGMUX_TOP/scripts/build-module.sh" "$kv"; then
		failed=$((failed + 1))
		bad_kernels+=("$series(build)")
		continue
	fi
	rm -f "$BUILD/$kv/summary"
	"$MSGMUX_TOP/scripts/vm.sh" "$series" "$mode" || bad_kernels+=("$series")
	if [ -s "$BUILD/$kv/summary" ]; then
		read -r p f s < "$BUILD/$kv/summary"
	else
		p=0 f=1 s=0
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

log "kernels: $* ($(( $(date +%s) - t0 ))s)"
[ ${#bad_kernels[@]} -eq 0 ] || log "failed on: ${bad_kernels[*]}"
if [ "$mode" = check ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
fi
[ "$failed" -eq 0 ] && [ ${#bad_kernels[@]} -eq 0 ]
