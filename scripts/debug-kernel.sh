#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# msgmux's debug kernel: Debian's linux-source-6.12, `make tinyconfig`,
# plus scripts/debug/msgmux-debug.config (KASAN, lockdep, kmemleak...).
# Built once and cached outside the clone, keyed by a hash of the
# fragment, this script and the source package's version, so a second run
# finds it in seconds.  Installs it like the Debian kernels deps.sh
# unpacks (kroot: boot/vmlinuz-KVER, lib/modules/KVER, plus build/ for
# building msgmux against it) and records its version in
# $MSGMUX_CACHE/kernels/debug.abi, so `scripts/check.sh debug` finds it.
#
# Usage: scripts/debug-kernel.sh            (as root; deps.sh run first)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkg=linux-source-6.12
tarball=/usr/src/$pkg.tar.xz
frag=$MSGMUX_TOP/scripts/debug/msgmux-debug.config
[ -f "$tarball" ] || die "no $tarball: run scripts/deps.sh"

srcver=$(dpkg-query -W -f='${Version}' "$pkg")
key=$( (cat "$frag" "$0"; echo "$srcver") | sha256sum | cut -c1-12)
work=$MSGMUX_CACHE/debug/$key
tree=$work/$pkg
stamp=$MSGMUX_CACHE/kernels/debug.abi

if [ -s "$work/kernelrelease" ]; then
	kv=$(cat "$work/kernelrelease")
	if [ -f "$(kroot "$kv")/boot/vmlinuz-$kv" ]; then
		echo "$kv" > "$stamp"
		log "debug kernel $kv: cached ($work)"
		exit 0
	fi
fi

t0=$(date +%s)
log "debug kernel: building from $pkg $srcver (key $key); about 15 min on 2 cores"
rm -rf "$work"
mkdir -p "$work"
tar -xJf "$tarball" -C "$work"

kmake() { make -C "$tree" ARCH=x86_64 LOCALVERSION="-$key" "$@"; }
kmake -s tinyconfig > "$work/config.log"
(cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$frag") \
	>> "$work/config.log"
kmake -s olddefconfig >> "$work/config.log"

# Every option of the fragment must have survived (a missing dependency
# makes olddefconfig drop it silently).
missing=0
while read -r line; do
	case "$line" in
	CONFIG_*=*|"# CONFIG_"*" is not set") ;;
	*) continue ;;
	esac
	if ! grep -qxF "$line" "$tree/.config"; then
		echo "debug config: not in .config: $line" >&2
		missing=1
	fi
done < "$frag"
[ "$missing" = 0 ] || die "debug kernel config incomplete (see above)"

kmake -j"$(nproc)" bzImage modules > "$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	die "debug kernel build failed (log: $work/build.log)"
}
kv=$(kmake -s kernelrelease)
root=$(kroot "$kv")
rm -rf "$root"
mkdir -p "$root/boot"
kmake -s INSTALL_MOD_PATH="$root" modules_install >> "$work/build.log" 2>&1
rm -f "$root/lib/modules/$kv/build" "$root/lib/modules/$kv/source"
cp "$tree/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$kv"
ln -sfn "$tree" "$root/build"
depmod -b "$root" "$kv"
echo "$kv" > "$work/kernelrelease"
echo "$kv" > "$stamp"
log "debug kernel $kv: built in $(( $(date +%s) - t0 ))s"
