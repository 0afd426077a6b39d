package main

import (
	"os"
	"strings"
)

// Nodes that build or fetch whole squares (core, bridge, full, and the
// devnet, which runs all of them) run with GODEBUG=madvdontneed=0: the Go
// runtime then returns freed heap pages to the kernel with MADV_FREE,
// which the kernel takes back only when it needs the memory, rather than
// MADV_DONTNEED, after which the next touch of each 4 KiB page faults in
// a zeroed one. Each block allocates and drops squares of up to 128 MiB
// (k = 256); with MADV_DONTNEED a good part of them came back as fresh
// pages, at about 2.5 ms a MiB on the benchmark VM. Two pairs of 100 s
// devnet runs under a 4 MB blob load (docs/benchmarks.md) carried 14.1 and
// 13.7 MB/s without it and 15.5 and 15.1 MB/s with it. The price is that
// the process's RSS counts freed pages until the kernel reclaims them:
// light nodes, whose resident set is a limit users watch, keep the
// default. A GODEBUG that already sets madvdontneed is left as it is.

// lazyFreeEnv returns the environment a command line args (without the
// program name) should run with, and whether it differs from environ:
// GODEBUG with madvdontneed=0 added for the commands above.
func lazyFreeEnv(args, environ []string) ([]string, bool) {
	var words []string
	for _, a := range args {
		if a == "--" || len(words) == 2 {
			break
		}
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	switch {
	case len(words) >= 1 && words[0] == "devnet":
	case len(words) == 2 && words[1] == "start" && (words[0] == "core" || words[0] == "bridge" || words[0] == "full"):
	default:
		return environ, false
	}
	out := make([]string, 0, len(environ)+1)
	godebug := "madvdontneed=0"
	for _, kv := range environ {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		for f := range strings.SplitSeq(v, ",") {
			if strings.HasPrefix(f, "madvdontneed=") {
				return environ, false
			}
		}
		if v != "" {
			godebug = v + "," + godebug
		}
	}
	return append(out, "GODEBUG="+godebug), true
}

// lazyFree re-executes the process with lazyFreeEnv's environment when it
// differs, since the runtime reads madvdontneed only at start. It returns
// only if there is nothing to do or the exec failed; the node then runs
// with the default.
func lazyFree() error {
	env, ok := lazyFreeEnv(os.Args[1:], os.Environ())
	if !ok {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return execve(exe, os.Args, env)
}
