#!/usr/bin/env bash
# Runs the libFuzzer binary a fixed number of inputs from the seed corpus
# (a directory per call), new inputs going to a scratch directory:
#   run-libfuzzer.sh BINARY CORPUS RUNS
# A crash, a sanitizer report or a leak fails the run (libFuzzer's exit code);
# the input that did it stays beside the binary.
set -euo pipefail
binary=$1 corpus=$2 runs=$3
[ -x "$binary" ] || { echo "run-libfuzzer.sh: not built: $binary" >&2; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mt-libfuzzer-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch # the target's store: gone with it, however libFuzzer exits
# a crashing input is kept beside the binary (crash-*, leak-*, timeout-*)
artifacts=$(dirname "$binary")/
mkdir "$scratch/new"
mapfile -t dirs < <(find "$corpus" -mindepth 1 -maxdepth 1 -type d | sort)
"$binary" -runs="$runs" -seed=1 -max_len=4096 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$artifacts" \
    "$scratch/new" "${dirs[@]}"
