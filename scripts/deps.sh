#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install (as root) or check (otherwise) everything msgmux's build and test
# harness needs, from Debian's archive only:
#   - host tools: qemu-system-x86, busybox-static, sparse, a compiler;
#   - python3 (with its standard library) and iproute2 (ip, tc with netem),
#     which the tests also run inside the VM from the host's root shared
#     at /host (see guest-init.sh): Debian's /usr/bin/python3, whatever
#     python3 comes first in the host's PATH;
#   - for each test kernel (6.1 from bookworm, 6.12 from bookworm-backports):
#     the headers package (installed) and the image package (downloaded and
#     unpacked into $MSGMUX_CACHE, never installed on the host);
#   - linux-source-6.12, for kselftest_harness.h and checkpatch.pl.
#
# Usage: scripts/deps.sh [6.1|6.12 ...]     (default: both kernels)
#
# Prints, per kernel, "KVER=<uname -r> ROOT=<unpacked image>" on stdout's
# last lines so callers can pick them up; scripts/kernel.sh is the reader.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12)

host_pkgs=(qemu-system-x86 busybox-static sparse gcc make libc6-dev
	   xz-utils zstd kmod cpio bc flex bison libelf-dev libssl-dev
	   python3 iproute2 perl)

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		die "missing packages; run as root or: apt-get install -y $*"
	fi
}

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	log "apt-get update"
	# Unrelated third-party sources may be unreachable; Debian's are what
	# matter, and a missing package is reported by the install below.
	apt-get update -qq >/dev/null 2>&1 || apt-get update -qq || true
	apt_updated=1
}

ensure_backports() {
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		need_root "(bookworm-backports source)"
		log "adding bookworm-backports to apt sources"
		echo 'deb http://deb.debian.org/debian bookworm-backports main' \
			> /etc/apt/sources.list.d/msgmux-backports.list
		apt_updated=
	fi
}

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed' || echo "$p"
	done
}

install_pkgs() {
	local miss
	miss=$(missing_pkgs "$@")
	[ -n "$miss" ] || return 0
	need_root $miss
	apt_update
	log "apt-get install $(echo $miss)"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $miss >/dev/null
}

# Resolve the concrete kernel version behind Debian's linux-image-amd64 for
# a release: 6.1 is bookworm's default, 6.12 comes from bookworm-backports.
resolve_abi() {
	local series=$1 suite_opt=() dep
	[ "$series" = 6.12 ] && suite_opt=(-t bookworm-backports)
	dep=$(apt-cache "${suite_opt[@]}" depends linux-image-amd64 2>/dev/null |
	      sed -n 's/^ *Depends: linux-image-\(.*\)$/\1/p' | head -n1)
	case "$dep" in
	"$series".*) echo "$dep" ;;
	*) return 1 ;;
	esac
}

# The version last resolved is remembered so that later runs (and machines
# without network) need no apt-cache look-up.
kernel_abi() {
	local series=$1 abi stamp="$MSGMUX_CACHE/kernels/$1.abi"
	if [ -s "$stamp" ] && [ -d "$MSGMUX_CACHE/kernels/$(cat "$stamp")" ]; then
		cat "$stamp"
		return 0
	fi
	[ "$series" = 6.12 ] && ensure_backports
	apt_update
	abi=$(resolve_abi "$series") || die "cannot resolve a Debian $series kernel"
	mkdir -p "$MSGMUX_CACHE/kernels"
	echo "$abi" > "$stamp"
	echo "$abi"
}

fetch_image() {
	local abi=$1 dir="$MSGMUX_CACHE/kernels/$1" tmp
	[ -f "$dir/.complete" ] && return 0
	need_root "linux-image-$abi (download)"
	log "downloading and unpacking linux-image-$abi"
	tmp=$(mktemp -d)
	# apt downloads as the _apt user where it can write.
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -qq "linux-image-$abi" >/dev/null)
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$dir"
	rm -rf "$tmp"
	depmod -b "$dir" "$abi"
	touch "$dir/.complete"
}

install_headers() {
	local abi=$1
	[ -d "/lib/modules/$abi/build" ] && [ -d "/usr/src/linux-headers-$abi" ] && return 0
	case "$abi" in
	6.12.*) ensure_backports ;;
	esac
	install_pkgs "linux-headers-$abi"
}

mkdir -p "$MSGMUX_CACHE"
install_pkgs "${host_pkgs[@]}"
install_pkgs linux-source-6.12
for k in "${kernels[@]}"; do
	abi=$(kernel_abi "$k")
	install_headers "$abi"
	fetch_image "$abi"
	echo "KERNEL=$k KVER=$abi ROOT=$MSGMUX_CACHE/kernels/$abi"
done
