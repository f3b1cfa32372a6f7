#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make bench` runs inside the VM: msgmux-bench with the arguments
# the host left in /etc/msgmux/bench-args.  guest-init.sh sends this
# script's output to the host as it comes, so the host shows a progress
# line per case.  Then the result files follow, each between markers the
# host cuts it out by (scripts/verdict.py --extract):
#
#   MSGMUX-FILE-BEGIN <name>
#   ...
#   MSGMUX-FILE-END <name>
#
# Exit status: msgmux-bench's (non-zero if a message was corrupt, missing
# or duplicated, or a run failed), or 1 if a result file is missing.
dir=/tmp/bench
mkdir -p $dir
args=$(cat /etc/msgmux/bench-args 2>/dev/null)
trace=$(cat /etc/msgmux/bench-trace 2>/dev/null)
tfs=/sys/kernel/tracing
[ -d $tfs/events ] || mount -t tracefs nodev $tfs 2>/dev/null

# BENCH_TRACE: a hist trigger per "group:event:key", counting the events
# by the value of one of their fields (what work was queued, who woke).
# record-cmd off first: recording task names hooks the scheduler, and
# live-patching code the other vCPU runs can crash a guest under QEMU's
# multi-threaded TCG (see visibility_test.c).
trace_ctl() {
	[ -z "$trace" ] || echo 0 > $tfs/options/record-cmd
	for t in $trace; do
		ev=${t%:*}
		echo "$1hist:keys=${t##*:}:sort=hitcount" \
			> "$tfs/events/${ev%%:*}/${ev#*:}/trigger" ||
			echo "!! cannot trace $t"
	done
}
trace_show() {
	for t in $trace; do
		ev=${t%:*}
		echo "== trace $t"
		grep -v '^#' "$tfs/events/${ev%%:*}/${ev#*:}/hist" |
			grep . | tail -12
	done
}
trace_ctl ""
echo "== msgmux-bench --out=$dir $args"
# The arguments are words: split them, but leave --cases' patterns alone.
set -f
# BENCH_PERF: where the time goes, by function, over both CPUs.
perf=
if [ -n "$(cat /etc/msgmux/bench-perf 2>/dev/null)" ]; then
	perf="perf record -q -e cpu-clock -a -g -o /tmp/perf.data --"
fi
# shellcheck disable=SC2086
$perf msgmux-bench --out=$dir $args
rc=$?
if [ -n "$perf" ]; then
	echo "== perf: self time by function"
	perf report -i /tmp/perf.data --stdio --no-children --sort=sym \
		-g none --percent-limit=0.25 2>/dev/null | grep -v '^#' | grep .
	echo "== perf: time under each function (children included)"
	perf report -i /tmp/perf.data --stdio --children --sort=sym \
		-g none --percent-limit=1 2>/dev/null | grep -v '^#' | grep .
fi
trace_show
trace_ctl "!"
case " $args " in
*" --check-only "* | *" --list "* | *" --help "*)
	exit $rc ;;
esac
for f in bench.txt bench.csv bench.json; do
	if [ ! -s $dir/$f ]; then
		echo "!! msgmux-bench wrote no $f"
		[ $rc -ne 0 ] || rc=1
		continue
	fi
	echo "MSGMUX-FILE-BEGIN $f"
	cat $dir/$f
	echo "MSGMUX-FILE-END $f"
done
exit $rc
