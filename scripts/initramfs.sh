#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack the test VM's initramfs for one kernel: busybox, /init, msgmux.ko,
# the in-tree modules the tests use (with their dependencies, decompressed,
# and a depmod index so that busybox modprobe and socket() autoload work),
# and the statically linked test and demo programs with the scripts they
# run.
#
# Usage: scripts/initramfs.sh KVER OUTPUT.cpio
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kv=$1
out=$2
root=$(kroot "$kv")
mods=$root/lib/modules/$kv
[ -d "$mods" ] || die "no modules for $kv in $mods: run scripts/deps.sh"

# kconfig_y OPTION: the kernel was built with CONFIG_OPTION=y (Debian's
# images ship their config in boot/, the debug kernel has its build tree).
kconfig_y() {
	local f
	for f in "$root/boot/config-$kv" "$root/build/.config"; do
		if [ -f "$f" ]; then
			grep -qx "CONFIG_$1=y" "$f"
			return
		fi
	done
	return 1
}

# Modules loaded at boot (in this order), then ones tests load themselves.
boot_modules="virtio_pci netfs fscache 9pnet 9pnet_virtio 9p"
test_modules="kcm veth sch_netem tls"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,etc/msgmux,tests,demo,lib/modules/$kv/extra}
cp /bin/busybox "$stage/bin/busybox"
cp "$MSGMUX_TOP/scripts/guest-init.sh" "$stage/init"
chmod 755 "$stage/init"

[ -f "$mods/modules.dep" ] || depmod -b "$root" "$kv"
cp "$mods"/modules.builtin* "$mods"/modules.order "$stage/lib/modules/$kv/"

# modprobe --show-depends prints "insmod PATH" for each module a module
# needs, dependencies first; built-in ones print "builtin NAME".
stage_module() {
	local path rel
	modprobe -d "$root" -S "$kv" --show-depends "$1" 2>/dev/null |
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		rel=${path#"$root"}
		mkdir -p "$stage/$(dirname "$rel")"
		case "$rel" in
		*.xz)  xz -dc "$path" > "$stage/${rel%.xz}" ;;
		*.zst) zstd -qdc "$path" > "$stage/${rel%.zst}" ;;
		*)     cp "$path" "$stage/$rel" ;;
		esac
	done
}

loaded=
for m in $boot_modules; do
	if modprobe -d "$root" -S "$kv" --show-depends "$m" 2>/dev/null | grep -q '^insmod'; then
		stage_module "$m"
		loaded="$loaded $m"
	fi
done
for m in $test_modules; do
	stage_module "$m"
done
echo "$loaded" | tr ' ' '\n' | sed '/^$/d' > "$stage/etc/msgmux/modules"

cp "$BUILD/$kv/msgmux.ko" "$stage/lib/modules/$kv/extra/"
kunit=
if [ -f "$BUILD/$kv/msgmux_kunit.ko" ]; then
	cp "$BUILD/$kv/msgmux_kunit.ko" "$stage/lib/modules/$kv/extra/"
	kunit=kunit_test
fi
depmod -b "$stage" "$kv"

[ -f "$BUILD/selftests/list" ] || die "no test list in $BUILD/selftests"
# TESTS="a_test b_test" runs only those, in that order.
if [ -n "${TESTS:-}" ]; then
	printf '%s\n' $TESTS > "$stage/tests/list"
else
	cp "$BUILD/selftests/list" "$stage/tests/"
fi
# A kernel with KUnit (the debug kernel) runs msgmux's KUnit suite first.
if [ -n "$kunit" ] && { [ -z "${TESTS:-}" ] ||
		      printf '%s\n' $TESTS | grep -qx "$kunit"; }; then
	cp "$MSGMUX_TOP/scripts/guest-kunit.sh" "$stage/tests/$kunit"
	chmod 755 "$stage/tests/$kunit"
	{ echo "$kunit"; grep -vx "$kunit" "$stage/tests/list"; } \
		> "$stage/tests/list.new" || true
	mv "$stage/tests/list.new" "$stage/tests/list"
fi
# Tests that need fault injection (list.fault: fail-nth and FAILSLAB) run
# last on a kernel built with it, the debug kernel; named in TESTS for a
# kernel without it, they could only fail.
[ -f "$BUILD/selftests/list.fault" ] || die "no list.fault in $BUILD/selftests"
if kconfig_y FAULT_INJECTION && kconfig_y FAILSLAB; then
	[ -n "${TESTS:-}" ] || cat "$BUILD/selftests/list.fault" >> "$stage/tests/list"
else
	for t in $(cat "$BUILD/selftests/list.fault"); do
		! grep -qx "$t" "$stage/tests/list" ||
			die "$t needs a kernel with fault injection: make check-debug"
	done
fi
for t in $(cat "$stage/tests/list"); do
	[ "$t" = "$kunit" ] || cp "$BUILD/selftests/$t" "$stage/tests/"
done
# Scripts the tests run (with the host's python3), next to them.
for f in "$BUILD"/selftests/*.py; do
	[ -f "$f" ] && cp "$f" "$stage/tests/"
done
# The tools and examples, which guest-demo.sh runs: a missing one would
# otherwise show only as a failed demo, after booting the VM.
for b in msgmuxctl msgmux-hello msgmux-echo-server msgmux-echo-client \
	 msgmux-bench; do
	[ -x "$BUILD/user/bin/$b" ] || die "no $BUILD/user/bin/$b: run make user"
done
cp "$BUILD"/user/bin/* "$stage/demo/"
cp "$MSGMUX_TOP/scripts/guest-demo.sh" "$stage/demo/demo.sh"
cp "$MSGMUX_TOP/scripts/guest-bench.sh" "$stage/demo/bench.sh"
chmod 755 "$stage/demo/demo.sh" "$stage/demo/bench.sh"
# `make bench BENCH_ARGS="..."`: msgmux-bench's arguments in the VM.
printf '%s\n' "${BENCH_ARGS:-}" > "$stage/etc/msgmux/bench-args"
# BENCH_TRACE="group:event:key ...": count those events during the run.
printf '%s\n' "${BENCH_TRACE:-}" > "$stage/etc/msgmux/bench-trace"
# BENCH_PERF=1: profile the run with the host's perf (cpu-clock samples).
printf '%s\n' "${BENCH_PERF:-}" > "$stage/etc/msgmux/bench-perf"

(cd "$stage" && find . | cpio -o -H newc --quiet) > "$out"
