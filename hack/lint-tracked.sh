#!/usr/bin/env bash
# Fails when a file tracked by git is an executable binary (ELF, Mach-O, PE/COFF) or larger than
# 1 MiB: built things belong in ignored folders (bin/, the cache), not in commits.
# Usage: hack/lint-tracked.sh [REPO_DIR]   (default: the current directory)
# MAX_TRACKED_BYTES overrides the size limit (bytes).
set -euo pipefail
cd "${1:-.}"
max=${MAX_TRACKED_BYTES:-1048576}

# kind_of FILE prints the executable format of FILE, or nothing.
kind_of() {
	local magic
	magic=$(od -An -tx1 -N4 -- "$1" 2>/dev/null | tr -d ' \n')
	case "$magic" in
	7f454c46) echo ELF ;;
	feedface | feedfacf | cefaedfe | cffaedfe) echo Mach-O ;;
	cafebabe | bebafeca) echo "Mach-O universal (or Java class)" ;;
	4d5a*)
		# MZ: a PE image when the header offset at 0x3c points at "PE\0\0".
		local off
		off=$(od -An -tu4 -j60 -N4 -- "$1" 2>/dev/null | tr -d ' \n')
		if [ -n "$off" ] && [ "$(od -An -tx1 -j"$off" -N4 -- "$1" 2>/dev/null | tr -d ' \n')" = 50450000 ]; then
			echo PE
		fi
		;;
	esac
}

bad=0
while IFS= read -r -d '' f; do
	# Deleted in the work tree but still in the index, or a submodule: nothing to read.
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	size=$(wc -c <"$f")
	if [ "$size" -gt "$max" ]; then
		echo "$f: $size bytes, over the $max-byte limit for tracked files"
		bad=1
	fi
	if k=$(kind_of "$f") && [ -n "$k" ]; then
		echo "$f: $k executable: build output belongs in bin/ (ignored), not in git"
		bad=1
	fi
done < <(git ls-files -z)
if [ "$bad" -ne 0 ]; then
	echo "lint-tracked: remove these with \`git rm --cached FILE\` and ignore them in .gitignore" >&2
	exit 1
fi
