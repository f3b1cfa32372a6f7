#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of msgmux's test VM (busybox, no other userspace).
#
# The kernel console (ttyS0) is the kernel's; everything the host judges
# comes through the second serial port (ttyS1), framed by MSGMUX-* markers:
#
#   MSGMUX-BOOT <uname -r>
#   MSGMUX-BEGIN <test>          then the test's TAP output, raw
#   MSGMUX-END <test> rc=<rc> secs=<s>
#   MSGMUX-DMESG-BEGIN ... MSGMUX-DMESG-END   the whole kernel log
#   MSGMUX-DONE
#
# A run without MSGMUX-DONE crashed or hung; the host treats it as failed.
# The mode comes from "msgmuxtest=<check|demo|bench>" on the kernel command
# line.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp \
	/run /host
/bin/busybox --install -s
# Busybox's applets live in /bin and /sbin only: /usr is the host's when
# the host root is shared (host_userspace below).
/bin/busybox mv /usr/bin/* /bin/
/bin/busybox mv /usr/sbin/* /sbin/
export PATH=/sbin:/bin:/usr/sbin:/usr/bin:/tests:/demo

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

out=/dev/ttyS1
say() { echo "$*" > $out; }

arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mode=$(arg msgmuxtest)
test_timeout=$(arg msgmuxtimeout)
[ -n "$test_timeout" ] || test_timeout=300

say "MSGMUX-BOOT $(uname -r)"
ip link set lo up

# Modules the tests rely on, staged with their dependencies by the host.
for m in $(cat /etc/msgmux/modules 2>/dev/null); do
	modprobe "$m" || say "MSGMUX-WARN modprobe $m failed"
done

# The host's root, read-only, when the VM runner shares it (9p).
if grep -q hostroot /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag 2>/dev/null; then
	if mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /host; then
		say "MSGMUX-INFO host root shared read-only at /host"
	else
		say "MSGMUX-WARN cannot mount the host root"
	fi
fi

# Make the host's dynamically linked programs run here: /usr is the
# host's (python3 and its standard library, iproute2's ip and tc, with
# netem's tables), and the dynamic loader and the libraries of /lib are
# found where the host has them.  The initramfs keeps its /lib/modules.
#
# /bin and /sbin stay busybox's, so the host's absolute symlinks into them
# (Debian's /usr/sbin/ip -> /bin/ip) would find busybox's applets: the host
# tools the tests use are linked, resolved as the host resolves them, in
# /hostbin, which comes first in PATH.  Tests call /hostbin/<tool>.
host_tools="python3 ip tc ss nstat"

# host_path PATH: where PATH of the host is in the guest (under /host),
# following absolute symlinks as the host would.
host_path() {
	p=$1 n=0
	while [ -L "/host$p" ] && [ $n -lt 40 ]; do
		t=$(readlink "/host$p")
		case "$t" in
		/*) p=$t ;;
		*) p=${p%/*}/$t ;;
		esac
		n=$((n + 1))
	done
	echo "/host$p"
}

host_userspace() {
	rmdir /usr/bin /usr/sbin /usr || return 1
	ln -s /host/usr /usr
	ln -s "$(host_path /lib64)" /lib64
	for d in /host/lib/*-linux-gnu; do
		[ -d "$d" ] && ln -s "$d" "/lib/${d##*/}"
	done
	for f in ld.so.cache ld.so.conf ld.so.conf.d iproute2; do
		[ -e "/host/etc/$f" ] && ln -s "/host/etc/$f" "/etc/$f"
	done
	mkdir -p /hostbin
	for t in $host_tools; do
		for d in /usr/sbin /usr/bin /sbin /bin; do
			p=$(host_path "$d/$t")
			if [ -f "$p" ] && [ -x "$p" ]; then
				ln -s "$p" "/hostbin/$t"
				break
			fi
		done
	done
	for t in python3 ip tc; do
		"/hostbin/$t" -V > /dev/null 2>&1 ||
			say "MSGMUX-WARN the host's $t does not run in the guest"
	done
}
if grep -q " /host 9p " /proc/mounts; then
	host_userspace || say "MSGMUX-WARN cannot use the host's /usr"
fi
export PATH=/hostbin:$PATH

modprobe msgmux || say "MSGMUX-WARN modprobe msgmux failed"

# Leftover processes of a test (daemons, stuck children) would hold its
# output open or disturb the next test: kill everything but init.
kill_leftovers() {
	kill -9 -1 2>/dev/null
	sleep 0.2
}

run_one() {
	name=$1
	shift
	say "MSGMUX-BEGIN $name"
	start=$(date +%s)
	cd /tmp
	timeout -s KILL "$test_timeout" "$@" > /tmp/out.$$ 2>&1 < /dev/null
	rc=$?
	kill_leftovers
	cat /tmp/out.$$ > $out
	rm -f /tmp/out.$$
	say "MSGMUX-END $name rc=$rc secs=$(( $(date +%s) - start ))"
}

# run_live NAME COMMAND...: as run_one, but the output goes to the host as
# it comes, for a long run that shows its progress (the benchmark).
run_live() {
	name=$1
	shift
	say "MSGMUX-BEGIN $name"
	start=$(date +%s)
	cd /tmp
	timeout -s KILL "$test_timeout" "$@" > $out 2>&1 < /dev/null
	rc=$?
	kill_leftovers
	say "MSGMUX-END $name rc=$rc secs=$(( $(date +%s) - start ))"
}

case "$mode" in
check)
	for t in $(cat /tests/list); do
		run_one "$t" "/tests/$t"
	done
	;;
demo)
	run_one demo /demo/demo.sh
	;;
bench)
	run_live bench /demo/bench.sh
	;;
*)
	say "MSGMUX-WARN unknown mode '$mode'"
	;;
esac

# A debug kernel's verdict after the run: two kmemleak scans (a leak is
# reported only once two scans have found it unreferenced), its report in
# the log the host judges, and whether lockdep is still on (it turns
# itself off after its first report).
kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	echo scan > $kmemleak && echo scan > $kmemleak
	leaks=$(grep -c '^unreferenced object' $kmemleak)
	say "MSGMUX-KMEMLEAK scans=2 leaks=$leaks"
fi
if [ -r /proc/lockdep_stats ]; then
	say "MSGMUX-LOCKDEP $(sed -n 's/^ *debug_locks: *\([0-9]*\).*/debug_locks=\1/p' /proc/lockdep_stats)"
fi

say "MSGMUX-DMESG-BEGIN"
[ -r $kmemleak ] && cat $kmemleak > $out
dmesg > $out
say "MSGMUX-DMESG-END"
say "MSGMUX-DONE"
sync
poweroff -f
