#!/bin/sh
# Rebuilds Token.bin/abi and Loop.bin/abi with solcjs 0.8.28:
#   npm install solc@0.8.28   (in a scratch directory, put its node_modules/.bin on PATH)
#   sh build.sh
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
solcjs --version
solcjs --bin --abi --optimize --optimize-runs 200 -o "$out" Token.sol Loop.sol
cp "$out/Token_sol_Token.bin" Token.bin
cp "$out/Token_sol_Token.abi" Token.abi
cp "$out/Loop_sol_Loop.bin" Loop.bin
cp "$out/Loop_sol_Loop.abi" Loop.abi
rm -r "$out"
