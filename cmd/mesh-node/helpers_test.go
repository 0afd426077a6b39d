package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// run executes the command line args in-process, with env as the
// environment, and returns its standard output.
func run(ctx context.Context, env map[string]string, args ...string) (string, error) {
	root := newRootCmd(func(k string) string { return env[k] })
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// mustRun is run that fails the test on an error.
func mustRun(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(ctx, nil, args...)
	if err != nil {
		t.Fatalf("mesh-node %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// wantErr runs args and checks that they fail with an error containing want.
func wantErr(ctx context.Context, t *testing.T, want string, args ...string) {
	t.Helper()
	_, err := run(ctx, nil, args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("mesh-node %s: got error %v, want one containing %q", strings.Join(args, " "), err, want)
	}
}

// field returns the value of "name: value" in text output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	t.Fatalf("no %q in output:\n%s", name, out)
	return ""
}
