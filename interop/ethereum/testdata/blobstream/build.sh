#!/bin/sh
# build.sh rebuilds the artifacts of this directory (<Name>.abi.json and
# <Name>.bin for Blobstream, ERC1967Proxy and SharesProofChecker) from a
# git clone of github.com/celestiaorg/blobstream-contracts with its history:
#
#   sh build.sh /path/to/blobstream-contracts
#
# It takes each source file at the commit README.md lists (git show), installs
# solc-js and OpenZeppelin from npm at the versions below into a temporary
# directory, and compiles with compile.js. Needs git, node and npm.
set -eu
checkout=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# path in blobstream-contracts, commit it is taken at (README.md's table).
while read -r path commit; do
	mkdir -p "$work/contracts/$(dirname "$path")"
	git -C "$checkout" show "$commit:$path" >"$work/contracts/$path"
done <<'FILES'
src/Blobstream.sol 4ca133f04608885b661beeb3042fe6cc344a1e44
src/Constants.sol 01e669f965676720e70439337ef4cee615f71d48
src/DataRootTuple.sol 010951feb0e6a1e7df2ab9d7811771190eedb501
src/IDAOracle.sol 082bd59d9ee43fca84c8ebcee031a19b42769e21
src/lib/verifier/DAVerifier.sol f62ca0eb54c8432b09fcd6b79cb284a22679d449
src/lib/tree/Constants.sol 5c100fb9cec48ec7a1a57721c725762e4306f66d
src/lib/tree/Types.sol 61c6d637ce1987974f1ac78e5432baa72c04649d
src/lib/tree/Utils.sol 57c8c01b0f23f3c70ebeeb3387457c9c6ff3be0a
src/lib/tree/binary/BinaryMerkleProof.sol 01e669f965676720e70439337ef4cee615f71d48
src/lib/tree/binary/BinaryMerkleMultiproof.sol 0009210d4a9ab83ba1f0efca2c52a3bfaec806c6
src/lib/tree/binary/BinaryMerkleTree.sol e412e189f6362759ef7b2b0fe0eb508780aca64d
src/lib/tree/binary/TreeHasher.sol 630569afdbffe71414fba03befb0428fa2fe0149
src/lib/tree/namespace/NamespaceMerkleMultiproof.sol bdf40c97a95f5e7653fb7f1fab8763174de72135
src/lib/tree/namespace/NamespaceMerkleProof.sol 5c100fb9cec48ec7a1a57721c725762e4306f66d
src/lib/tree/namespace/NamespaceMerkleTree.sol e412e189f6362759ef7b2b0fe0eb508780aca64d
src/lib/tree/namespace/NamespaceNode.sol 630569afdbffe71414fba03befb0428fa2fe0149
src/lib/tree/namespace/TreeHasher.sol 5c100fb9cec48ec7a1a57721c725762e4306f66d
FILES

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent \
	solc@0.8.22 \
	oz4@npm:@openzeppelin/contracts@4.9.6 \
	@openzeppelin/contracts@5.0.2 \
	@openzeppelin/contracts-upgradeable@5.0.2
node "$here/compile.js" "$work/contracts" "$work/node_modules"
