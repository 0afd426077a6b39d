package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lazyFreeTestEnv, set in a test binary's environment, makes TestMain
// call lazyFree and print its pid and GODEBUG instead of running tests.
const lazyFreeTestEnv = "MESH_NODE_TEST_LAZYFREE"

func TestLazyFreeEnv(t *testing.T) {
	base := []string{"HOME=/h", "PATH=/bin"}
	for _, c := range []struct {
		args    []string
		environ []string
		want    string // GODEBUG wanted; "" for no change
	}{
		{[]string{"bridge", "start"}, base, "madvdontneed=0"},
		{[]string{"full", "start", "--home", "/x"}, base, "madvdontneed=0"},
		{[]string{"core", "start"}, base, "madvdontneed=0"},
		{[]string{"devnet", "--block-time", "1s"}, base, "madvdontneed=0"},
		{[]string{"--config", "c", "bridge", "start"}, base, ""}, // a flag's value reads as the command: left alone
		{[]string{"bridge", "start"}, append(base, "GODEBUG=gctrace=1"), "gctrace=1,madvdontneed=0"},
		{[]string{"bridge", "start"}, append(base, "GODEBUG="), "madvdontneed=0"},
		{[]string{"bridge", "start"}, append(base, "GODEBUG=madvdontneed=1"), ""},
		{[]string{"bridge", "start"}, append(base, "GODEBUG=x=1,madvdontneed=0"), ""},
		{[]string{"light", "start"}, base, ""},
		{[]string{"bridge", "init"}, base, ""},
		{[]string{"blob", "submit", "start"}, base, ""},
		{[]string{"--", "devnet"}, base, ""},
		{nil, base, ""},
	} {
		env, changed := lazyFreeEnv(c.args, c.environ)
		if c.want == "" {
			if changed || !slices.Equal(env, c.environ) {
				t.Errorf("%q with %q: changed to %q", c.args, c.environ, env)
			}
			continue
		}
		var godebug []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
				godebug = append(godebug, v)
			}
		}
		if !changed || len(godebug) != 1 || godebug[0] != c.want || !slices.Contains(env, "HOME=/h") || len(env) != 3 {
			t.Errorf("%q with %q: %q, changed %v; want GODEBUG=%s and the rest kept", c.args, c.environ, env, changed, c.want)
		}
	}
}

// The process runs itself again, same pid, with the setting; a light node
// does not.
func TestLazyFreeReexecutes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bridge", "start"}, "GODEBUG=madvdontneed=0"},
		{[]string{"light", "start"}, "GODEBUG="},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], c.args...)
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") }),
			lazyFreeTestEnv+"=1")
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		want := "pid " + strconv.Itoa(cmd.Process.Pid) + " " + c.want + "\n"
		if string(out) != want {
			t.Errorf("%q: printed %q, want %q", c.args, out, want)
		}
	}
}
