// compile.js compiles Blobstream, ERC1967Proxy and SharesProofChecker with
// solc-js (standard JSON) and writes <Name>.abi.json and <Name>.bin here.
// Usage (build.sh calls it): node compile.js <blobstream-contracts checkout> <node_modules dir>
'use strict';
const fs = require('fs');
const path = require('path');

const [checkout, modules] = process.argv.slice(2);
const solc = require(path.join(modules, 'solc'));
const here = __dirname;

// Import prefixes as blobstream-contracts' remappings resolve them, pointed
// at the npm packages build.sh installs.
const prefixes = [
  ['openzeppelin-contracts-upgradeable/contracts/', path.join(modules, '@openzeppelin/contracts-upgradeable/')],
  ['openzeppelin-contracts/contracts/', path.join(modules, 'oz4/')],
  ['@openzeppelin/contracts/', path.join(modules, '@openzeppelin/contracts/')],
  ['src/', path.join(checkout, 'src/')],
];

function resolve(name) {
  for (const [p, dir] of prefixes) {
    if (name.startsWith(p)) return path.join(dir, name.slice(p.length));
  }
  return null;
}

function findImports(name) {
  const file = resolve(name);
  if (file === null || !fs.existsSync(file)) return { error: 'not found: ' + name };
  return { contents: fs.readFileSync(file, 'utf8') };
}

const input = {
  language: 'Solidity',
  sources: {
    'src/Blobstream.sol': { content: fs.readFileSync(path.join(checkout, 'src/Blobstream.sol'), 'utf8') },
    'SharesProofChecker.sol': { content: fs.readFileSync(path.join(here, 'SharesProofChecker.sol'), 'utf8') },
    'Proxy.sol': { content: '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.22;\nimport "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";\n' },
  },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    viaIR: true,
    evmVersion: 'paris',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of out.errors || []) {
  if (e.severity === 'error') failed = true;
  process.stderr.write(e.formattedMessage + '\n');
}
if (failed) process.exit(1);

const wanted = {
  Blobstream: 'src/Blobstream.sol',
  SharesProofChecker: 'SharesProofChecker.sol',
  ERC1967Proxy: '@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol',
};
for (const [name, file] of Object.entries(wanted)) {
  const c = out.contracts[file][name];
  fs.writeFileSync(path.join(here, name + '.abi.json'), JSON.stringify(c.abi, null, 1) + '\n');
  fs.writeFileSync(path.join(here, name + '.bin'), c.evm.bytecode.object + '\n');
}
console.log('solc', solc.version());
