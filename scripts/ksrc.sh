#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extract the few files msgmux takes from Debian's linux-source-6.12 into
# build/ksrc/ (ignored by git, never committed): the kselftest harness
# headers, checkpatch.pl with its data files, and kernel-doc.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dst=$BUILD/ksrc
files=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	scripts/kernel-doc
)
[ -f "$dst/.complete" ] && exit 0

tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no /usr/src/linux-source-6.12.tar.*: run scripts/deps.sh"
log "extracting harness and checkpatch from $(basename "$tarball")"
rm -rf "$dst"
mkdir -p "$dst"
top=$(basename "$tarball" | sed 's/\.tar\..*//')
tar -xf "$tarball" -C "$dst" --strip-components=1 "${files[@]/#/$top/}"
touch "$dst/.complete"
