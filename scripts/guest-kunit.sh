#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run inside the debug kernel's VM as the test "kunit_test": load
# msgmux_kunit.ko, which runs the KUnit suite "msgmux_frame", and report
# each of its cases as a TAP line, as the kselftests do.
suite=msgmux_frame
results=/sys/kernel/debug/kunit/$suite/results

fail() {
	echo "1..1"
	echo "not ok 1 $*"
	exit 1
}

modprobe msgmux_kunit || fail "modprobe msgmux_kunit"
[ -r $results ] || fail "no $results"
# The suite's cases are its subtests: "    ok N name" (4 spaces).
grep -E '^    (not )?ok [0-9]+ ' $results > /tmp/kunit.tap
n=$(wc -l < /tmp/kunit.tap)
[ "$n" -gt 0 ] || fail "no case in $results"
echo "1..$n"
sed 's/^    //' /tmp/kunit.tap
modprobe -r msgmux_kunit || exit 1
! grep -q '^not ok' /tmp/kunit.tap
