//go:build race

package share_test

// raceEnabled is true under the race detector, which slows SHA-256-bound
// tests about fivefold.
const raceEnabled = true
