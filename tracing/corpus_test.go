package tracing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is testdata/corpus at the repository root: a copy of the shared
// sample corpus, with its sources in corpus/SOURCES.md.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "testdata", "corpus", sub)
	if _, err := os.Stat(c); err != nil {
		t.Fatalf("sample corpus not found: %v", err)
	}
	return c
}

func corpusFiles(t testing.TB, sub string, exts ...string) []string {
	t.Helper()
	var out []string
	root := corpusDir(t, sub)
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		for _, e := range exts {
			if strings.HasSuffix(path, e) {
				out = append(out, path)
			}
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no %v files under %s", exts, root)
	}
	return out
}
