#!/usr/bin/env bash
# Builds the AssemblyScript examples to build/*.wasm (committed, so that tests and devnets need no npm).
# Usage: npm install && ./build.sh   (then: ./custos contract check contracts/assemblyscript/build/token.wasm)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
for source in examples/*.ts; do
  name=$(basename "$source" .ts)
  npx asc "$source" --config asconfig.json --outFile "build/$name.wasm" --textFile "build/$name.wat"
  echo "built build/$name.wasm ($(wc -c < "build/$name.wasm") bytes)"
done
