//go:build race

package otlp

// raceOn: the race detector slows the heavy tests tenfold; they send less.
const raceOn = true
