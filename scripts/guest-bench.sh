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
echo "== msgmux-bench --out=$dir $args"
# The arguments are words: split them.
# shellcheck disable=SC2086
msgmux-bench --out=$dir $args
rc=$?
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
