#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one test kernel in QEMU (TCG) with msgmux's initramfs, show its
# progress, and judge the run from what the guest reported on its second
# serial port and from the whole kernel log -- never from QEMU's exit code.
#
# Usage: scripts/vm.sh SERIES MODE   (SERIES 6.1|6.12|debug,
#                                     MODE check|demo|bench)
# Environment: VM_TIMEOUT (seconds for the whole VM, default 900; bench
#              4200),
#              TEST_TIMEOUT (seconds per test binary, default 300; bench
#              3600),
#              VM_CPUS (default 2), VM_MEM (default 2048 MiB),
#              VM_TCG_THREAD=single to run the vCPUs in one host thread
#              (default multi; see Documentation/testing.rst),
#              BOOT_TIMEOUT (seconds for the guest to reach /init,
#              default 180; a guest that does not is booted once more),
#              HOSTFS=0 to not share the host's root read-only at /host,
#              MSGMUX_STRESS_{SEED,SECS,OPS,THREADS,DRAIN} for stress_test
#              (the debug kernel runs it longer by default),
#              BENCH_ARGS (bench: msgmux-bench's arguments),
#              BENCH_TRACE (bench: "group:event:key ..." tracepoints
#              to count during the run, by the value of field key),
#              BENCH_PERF=1 (bench: profile the run with the host's perf).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=$1
mode=$2
kv=$(kver "$series")
root=$(kroot "$kv")
dir=$BUILD/$kv
mkdir -p "$dir"

"$MSGMUX_TOP/scripts/initramfs.sh" "$kv" "$dir/initramfs.cpio"

console=$dir/console.log
results=$dir/results.log

append="console=ttyS0,115200 panic=-1 panic_on_warn=1 oops=panic"
append+=" rcupdate.rcu_cpu_stall_timeout=120"
if [ "$mode" = bench ]; then
	# Figures, not checks.  No slab debugging: it takes SLUB off its fast
	# paths and poisons every object, which would weigh on every skb.  A
	# TSC clock: TCG's vCPUs fail the TSC synchronisation check, and the
	# HPET it falls back to makes every timestamp (clock_gettime(), TCP's
	# and the skbs') an emulated MMIO read; QEMU's TSC is one clock for
	# all vCPUs.  A quiet console: printk to a serial port is slow.
	append+=" loglevel=4 tsc=reliable"
	: "${TEST_TIMEOUT:=3600}" "${VM_TIMEOUT:=4200}"
else
	append+=" slub_debug=FZPU loglevel=7"
fi
debug=()
if [ "$series" = debug ]; then
	# KASAN, lockdep and kmemleak under TCG: several times slower.
	append+=" watchdog_thresh=60"
	: "${TEST_TIMEOUT:=1200}" "${VM_TIMEOUT:=3600}"
	: "${MSGMUX_STRESS_SECS:=120}" "${MSGMUX_STRESS_OPS:=1000000}"
	debug=(--debug)
fi
append+=" msgmuxtest=$mode msgmuxtimeout=${TEST_TIMEOUT:-300}"
# The stress test's settings: unknown NAME=value parameters of the kernel
# command line are in /init's environment, and so in the tests'.
for v in MSGMUX_STRESS_SEED MSGMUX_STRESS_SECS MSGMUX_STRESS_OPS \
	 MSGMUX_STRESS_THREADS MSGMUX_STRESS_DRAIN; do
	if [ -n "${!v:-}" ]; then
		append+=" $v=${!v}"
	fi
done

qemu_args=(
	-machine q35 -accel "tcg,thread=${VM_TCG_THREAD:-multi}" -cpu max
	-smp "${VM_CPUS:-2}" -m "${VM_MEM:-2048}"
	-kernel "$root/boot/vmlinuz-$kv" -initrd "$dir/initramfs.cpio"
	-append "$append"
	-display none -monitor none -nic none -no-reboot
	-serial "file:$console" -serial "file:$results"
)
if [ "${HOSTFS:-1}" = 1 ]; then
	qemu_args+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
fi

# How busy the host is: figures taken beside other VMs are noisy.
host_load() {
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)," \
	     "$(pgrep -c -f '^([^ ]*/)?qemu-system-x86_64 ' || true) QEMU" \
	     "processes, $(nproc) CPUs"
}
[ "$mode" = bench ] && load_before=$(host_load)

# boot_vm: run the guest once, showing its progress.  Sets qemu_rc.  A
# guest that has not reported MSGMUX-BOOT (its /init running, before
# msgmux is loaded) within BOOT_TIMEOUT seconds is stopped.
boot_vm() {
	local qemu follower watchdog

	: > "$console"
	: > "$results"
	log "kernel $kv: booting QEMU ($mode)"
	start=$(date +%s)
	timeout -k 10 "${VM_TIMEOUT:-900}" qemu-system-x86_64 "${qemu_args[@]}" &
	qemu=$!
	python3 "$MSGMUX_TOP/scripts/verdict.py" --follow "$results" \
		--pid "$qemu" --label "$series" --start "$start" &
	follower=$!
	(
		for ((i = 0; i < ${BOOT_TIMEOUT:-180}; i++)); do
			grep -q '^MSGMUX-BOOT ' "$results" && exit 0
			kill -0 "$qemu" 2>/dev/null || exit 0
			sleep 1
		done
		log "kernel $kv: no boot after ${BOOT_TIMEOUT:-180}s, stopping QEMU"
		kill "$qemu"
	) &
	watchdog=$!
	qemu_rc=0
	wait "$qemu" || qemu_rc=$?
	wait "$follower" || true
	kill "$watchdog" 2>/dev/null || true
	wait "$watchdog" 2>/dev/null || true
	[ "$qemu_rc" = 124 ] && log "kernel $kv: QEMU killed after ${VM_TIMEOUT:-900}s"
	return 0
}

# A guest that dies before its /init runs has not loaded msgmux: its
# kernel, or the emulator, failed (multi-threaded TCG can crash a guest
# whose boot patches code the other vCPU runs, see
# Documentation/testing.rst).  Boot it once more, and keep the first
# console log.  Anything after MSGMUX-BOOT is judged as it is.
boot_vm
if ! grep -q '^MSGMUX-BOOT ' "$results"; then
	cp "$console" "$dir/console.noboot.log"
	log "kernel $kv: the guest died before /init ran, before msgmux" \
	    "was loaded (console: $dir/console.noboot.log); booting again"
	boot_vm
fi

extract=()
if [ "$mode" = bench ]; then
	rm -f "$dir"/bench.txt "$dir"/bench.csv "$dir"/bench.json
	extract=(--extract "$dir")
fi
rc=0
python3 "$MSGMUX_TOP/scripts/verdict.py" --judge "$results" \
	--console "$console" --label "$series" --mode "$mode" \
	--summary "$dir/summary" "${debug[@]}" "${extract[@]}" || rc=$?

if [ "$mode" = bench ] && [ -s "$dir/bench.txt" ]; then
	printf '\nHost while the VM ran: before: %s; after: %s.\n' \
		"$load_before" "$(host_load)" >> "$dir/bench.txt"
	log "kernel $kv: results in $dir/bench.{txt,csv,json}"
fi
exit $rc
