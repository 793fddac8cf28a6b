#!/usr/bin/env bash
# Short correctness run of crypto_bench: 20 generated P12 files.
#   usage: run-short.sh MT_GEN_BULK CRYPTO_BENCH
set -euo pipefail
GEN=${1:?usage: run-short.sh MT_GEN_BULK CRYPTO_BENCH}
BENCH=${2:?usage: run-short.sh MT_GEN_BULK CRYPTO_BENCH}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$GEN" --out "$TMP/p12" --count 20 --keys 4 --domain bench.example ||
  { echo "FAIL: mt-gen-bulk --out $TMP/p12 --count 20" >&2; exit 1; }
"$BENCH" --p12-dir "$TMP/p12" --count 20 --domain bench.example ||
  { echo "FAIL: crypto_bench --p12-dir $TMP/p12 --count 20" >&2; exit 1; }
