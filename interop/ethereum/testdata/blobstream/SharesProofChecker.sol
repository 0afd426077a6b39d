// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

// SharesProofChecker is mesh-node's own test wrapper (interop/ethereum): it
// exposes the DAVerifier library's verifySharesToDataRootTupleRoot, which is
// internal, as an external view function a test can call.

import "src/IDAOracle.sol";
import "src/lib/verifier/DAVerifier.sol";

contract SharesProofChecker {
    function verifySharesToDataRootTupleRoot(IDAOracle bridge, SharesProof memory proof)
        external
        view
        returns (bool, DAVerifier.ErrorCodes)
    {
        return DAVerifier.verifySharesToDataRootTupleRoot(bridge, proof);
    }
}
