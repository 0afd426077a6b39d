package wasm

// Limits of deployment and execution. They are part of the consensus rules
// of a chain running contracts: changing one changes which modules deploy
// and what calls do.
const (
	// MaxCodeSize bounds a module as submitted in a transaction.
	MaxCodeSize = 256 << 10
	// MaxInstrumentedSize bounds a module after instrumentation (which adds
	// a charge to every basic block and a depth count to every call).
	MaxInstrumentedSize = 8 * MaxCodeSize
	// MaxMemoryPages is the memory limit of a contract in 64 KiB pages
	// (16 pages = 1 MiB), both declared and grown to.
	MaxMemoryPages = 16
	// MaxFunctions bounds the functions a module defines.
	MaxFunctions = 1024
	// MaxTypes bounds the type section.
	MaxTypes = 256
	// MaxParams bounds the parameters of a function type.
	MaxParams = 16
	// MaxLocals bounds the locals a function declares (besides parameters).
	MaxLocals = 1024
	// MaxGlobals bounds the globals a module defines.
	MaxGlobals = 256
	// MaxTableSize bounds the single table's entries (min and max).
	MaxTableSize = 1024
	// MaxExports bounds the exports; MaxNameLen each import and export name.
	MaxExports = 256
	MaxNameLen = 64
	// MaxSegments bounds the data and element segments.
	MaxSegments = 256
	// MaxCallDepth bounds nested calls (instrumentation counts them), well
	// below the call stack of both wazero engines, so deep recursion ends
	// the same way on both.
	MaxCallDepth = 1000
	// maxNesting bounds the block nesting depth of a function body.
	maxNesting = 256

	// MaxInput bounds a call's argument bytes, MaxOutput its result.
	MaxInput  = 64 << 10
	MaxOutput = 64 << 10
	// MaxCallerLen bounds the caller identity handed to a contract.
	MaxCallerLen = 64
	// MaxKeySize and MaxValueSize bound contract storage entries.
	MaxKeySize   = 256
	MaxValueSize = 16 << 10
	// MaxEvents bounds the events of one call, MaxEventSize each one.
	MaxEvents    = 64
	MaxEventSize = 4 << 10
	// MaxGasLimit bounds a call's gas limit, so the gas counter (a signed
	// 64-bit global) cannot wrap.
	MaxGasLimit = 1 << 60
)
