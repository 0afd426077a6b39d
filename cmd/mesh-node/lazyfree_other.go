//go:build !linux

package main

// execve does nothing off Linux, where madvdontneed has no effect.
func execve(string, []string, []string) error { return nil }
