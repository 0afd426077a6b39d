//go:build race

package main

// raceEnabled is true under the race detector, which makes the devnet
// several times slower and larger.
const raceEnabled = true
