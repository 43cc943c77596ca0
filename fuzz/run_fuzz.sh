#!/usr/bin/env bash
# Builds the importer's libFuzzer target with clang in build-fuzz/ (only that target) and runs it
# for a bounded time on the seed corpus: the zoo's exports, written by the regular build's
# build/libscout, and ONNX's conformance models (libonnx-testdata). New inputs that libFuzzer
# finds go to build-fuzz/corpus/; a crash leaves its input in build-fuzz/ and fails the script.
#
#   fuzz/run_fuzz.sh [SECONDS (default 60)] [more libFuzzer flags, e.g. -runs=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
[ -x build/libscout ] || { echo "run_fuzz.sh: build/libscout is missing: build the project first" >&2; exit 1; }

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIBSCOUT_FUZZ=ON -DLIBSCOUT_BUILD_TESTS=OFF -DLIBSCOUT_BUILD_BENCHMARKS=OFF -DLIBSCOUT_CUDA=OFF >/dev/null
cmake --build build-fuzz --target fuzz_onnx_import

seeds=build-fuzz/seeds
mkdir -p "$seeds" build-fuzz/corpus
for model in squeezenet1.1 squeezenet1.0 mobilenet_v1 mobilenet_v2 resnet18; do
  [ -e "$seeds/$model.onnx" ] || build/libscout export "$model" --out "$seeds/$model.onnx" >/dev/null
done
data=${LIBSCOUT_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
if [ -d "$data" ]; then
  find "$data" -name model.onnx | while read -r f; do
    cp "$f" "$seeds/$(printf '%s' "$f" | md5sum | cut -c1-16).onnx"
  done
else
  echo "run_fuzz.sh: no ONNX conformance data at $data (package libonnx-testdata): zoo seeds only" >&2
fi
# Inputs are cut to 64 KiB (the zoo's exports hold their graph before their weights).
cd build-fuzz
./fuzz_onnx_import corpus seeds -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "$@"
