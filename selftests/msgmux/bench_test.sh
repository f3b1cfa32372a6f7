#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench_test - msgmux-bench as a correctness smoke test, with no timing in
# it.  First every transport (msgmux attached and kernel-made, AF_KCM,
# AF_UNIX, TCP) moves a fixed number of messages in each of a few cases
# (msgmux-bench --quick --check-only), every message checked on arrival:
# any corrupt, missing or duplicated one fails.  Then the checks are put
# to the test: a run in which the sender spoils one message (a flipped
# byte, a message never sent, one sent twice) must fail, on msgmux (or,
# where msgmux is not loaded, on TCP).
#
# msgmux-bench is found in PATH (the VM's /demo) or in build/user/bin.
bench=$(command -v msgmux-bench)
[ -n "$bench" ] || bench=$(dirname "$0")/../user/bin/msgmux-bench
echo "TAP version 13"
if [ ! -x "$bench" ]; then
	echo "1..0 # SKIP no msgmux-bench"
	exit 4
fi
echo "1..4"

out=/tmp/bench_test.$$
"$bench" --quick --check-only > $out 2>&1
rc=$?
sed 's/^/# /' $out
if [ $rc -eq 0 ]; then
	echo "ok 1 every message of every transport arrived intact"
else
	echo "not ok 1 every message of every transport arrived intact (exit $rc)"
fi

n=2
for fault in corrupt:corrupt drop:dropped dup:duplicated; do
	"$bench" --check-only --cases=tput/64/send/1x1 \
		--transports=mmx-attach,tcp --inject=${fault%:*} > $out 2>&1
	rc=$?
	grep 'FAILED' $out | sed 's/^/# /'
	what="a ${fault#*:} message fails the run"
	if [ $rc -eq 1 ]; then
		echo "ok $n $what"
	else
		echo "not ok $n $what (exit $rc)"
	fi
	n=$((n + 1))
done
rm -f $out
