// SPDX-License-Identifier: MIT
// A contract whose spin() never returns: it runs until its gas is gone.
// Written for mesh-node.
pragma solidity 0.8.28;

contract Loop {
    uint256 public count;

    function spin() external {
        while (true) {
            count += 1;
        }
    }
}
