#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict over the module, the uapi header and msgmux-bench
# (userspace, written in kernel style).  Findings
# listed in scripts/checkpatch.allow (file, type and the flagged line's
# text, each with its reason) are accepted; anything else fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$MSGMUX_TOP"
cp=$BUILD/ksrc/scripts/checkpatch.pl
[ -x "$cp" ] || "$MSGMUX_TOP/scripts/ksrc.sh"
mapfile -t files < <(git ls-files 'kmod/*.c' 'kmod/*.h' 'include/uapi/*.h' \
	'user/bench/*.c' 'user/bench/*.h')

out=$("$cp" --strict --no-tree --show-types --terse \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f "${files[@]}" || true)

bad=0
while IFS= read -r line; do
	[[ "$line" =~ ^([^:]+):([0-9]+):\ [A-Z]+:([A-Z_]+): ]] || continue
	f=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]} type=${BASH_REMATCH[3]}
	text=$(sed -n "${n}p" "$f")
	allowed=0
	while IFS=$'\t' read -r af at atext; do
		[[ -z "$af" || "$af" == \#* ]] && continue
		if [ "$af" = "$f" ] && [ "$at" = "$type" ] &&
		   [[ "$text" == *"$atext"* ]]; then
			allowed=1
			break
		fi
	done < scripts/checkpatch.allow
	if [ "$allowed" = 0 ]; then
		echo "$line"
		bad=1
	fi
done <<< "$out"

if [ "$bad" = 1 ]; then
	echo "checkpatch: findings above (see scripts/checkpatch.allow)"
	exit 1
fi
echo "checkpatch --strict: clean (${#files[@]} files; allow-listed: $(grep -vc '^#' scripts/checkpatch.allow))"
