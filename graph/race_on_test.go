//go:build race

package graph

// raceOn says the race detector is on: tests that fill big graphs fill less.
const raceOn = true
