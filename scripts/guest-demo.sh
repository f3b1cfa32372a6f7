#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make demo` shows inside the VM.  The host judges the demo by this
# script's exit status (and the kernel log): any failed step, example or
# check makes it exit non-zero.
set -e
echo "== kernel $(uname -r)"
echo "== lsmod | grep msgmux"
lsmod | grep msgmux
echo "== dmesg | grep msgmux:"
dmesg | grep msgmux:
echo "== family (from sysfs): $(msgmuxctl family)"
echo "== msgmux-hello"
msgmux-hello

# The echo examples, over loopback: each example's exit status is
# collected and the script goes on, so that every output is shown.
set +e
failed=0
out=/tmp/demo
mkdir -p $out

fail() {
	echo "!! FAILED: $*"
	failed=1
}

# alive PID: running (an exited child stays a zombie until waited for).
alive() {
	! grep -qs '^State:.*Z' "/proc/$1/status" && [ -e "/proc/$1" ]
}

# wait_for PID FILE TEXT: until program PID has printed TEXT to FILE.
wait_for() {
	n=0
	until grep -q "$3" "$2"; do
		if ! alive "$1"; then
			grep -q "$3" "$2" && return 0
			fail "$2: exited before printing '$3'"
			return 1
		fi
		n=$((n + 1))
		if [ $n -gt 600 ]; then
			fail "$2: no '$3' within 60 s"
			return 1
		fi
		sleep 0.1
	done
}

# no_connections: until /proc/net/msgmux lists no connection (10 s at most).
no_connections() {
	n=0
	while grep -q '^conn ' /proc/net/msgmux; do
		n=$((n + 1))
		if [ $n -gt 100 ]; then
			fail "connections still listed 10 s after the clients closed"
			msgmuxctl show
			return 1
		fi
		sleep 0.1
	done
}

# finish PID FILE: stop an example with SIGTERM, show what it printed; a
# non-zero exit status fails the demo.
finish() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	rc=$?
	sed 's/^/    /' "$2"
	[ $rc -eq 0 ] || fail "$2: exit status $rc"
}

# echo_demo TYPE PORT CLIENTS SERVER-OPTIONS CLIENT-OPTIONS WHAT-PROC-SHOWS
echo_demo() {
	type=$1 port=$2 nclients=$3 sopts=$4 copts=$5 legend=$6

	echo "== msgmux-echo-server -t $type -p $port $sopts &"
	msgmux-echo-server -t "$type" -p "$port" $sopts > $out/server 2>&1 &
	server=$!
	if ! wait_for $server $out/server listening; then
		finish $server $out/server
		return
	fi

	clients=
	i=1
	while [ $i -le "$nclients" ]; do
		echo "== msgmux-echo-client -t $type -p $port $copts -H &"
			msgmux-echo-client -t "$type" -p "$port" $copts -H \
			> $out/client$i 2>&1 &
		clients="$clients $!"
		i=$((i + 1))
	done
	i=1
	for pid in $clients; do
		wait_for "$pid" $out/client$i echoed
		i=$((i + 1))
	done

	echo "== /proc/net/msgmux: the server and $nclients clients, connected"
	echo "   ($legend)"
	msgmuxctl show

	# -H: the clients close when told; then the server's side goes.
	i=1
	for pid in $clients; do
		echo "-- client $i"
		finish "$pid" $out/client$i
		i=$((i + 1))
	done
	no_connections
	echo "-- server"
	finish $server $out/server
}

echo_demo seqpacket 7000 2 "" "-n 200" \
	"the server's listener has a mux of its own, so has each socket it accepted and each client: one connection each"
echo_demo dgram 7001 4 "-w 3" "-c 3 -n 300" \
	"one server mux: the listener, 3 workers, the 12 connections it accepted; a mux per client with its 3 connections"

echo "== /proc/net/msgmux at the end"
msgmuxctl show
[ $failed -eq 0 ] && echo "== demo: all examples passed"
exit $failed
