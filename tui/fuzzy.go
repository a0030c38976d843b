package tui

import (
	"strings"

	"github.com/sahilm/fuzzy"
)

// fuzzyFilter keeps the items whose name fuzzily matches pattern, best match
// first; a leading "!" keeps those that don't match instead.
func fuzzyFilter[T any](items []T, pattern string, name func(T) string) []T {
	invert := strings.HasPrefix(pattern, "!")
	pattern = strings.TrimPrefix(pattern, "!")
	if pattern == "" {
		return items
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = name(it)
	}
	matches := fuzzy.Find(pattern, names)
	if invert {
		hit := map[int]bool{}
		for _, mt := range matches {
			hit[mt.Index] = true
		}
		var out []T
		for i, it := range items {
			if !hit[i] {
				out = append(out, it)
			}
		}
		return out
	}
	out := make([]T, 0, len(matches))
	for _, mt := range matches {
		out = append(out, items[mt.Index])
	}
	return out
}
