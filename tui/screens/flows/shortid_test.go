package flows

import "testing"

func TestShortID(t *testing.T) {
	for in, want := range map[string]string{
		"clickstream/shardId-000000000000:49000000017963106210060000000000000000000000000000113000": "clickstream/0:…000000113000",
		"clickstream/shardId-000000000011:49000000017963106210060001000000000000000000000000081001": "clickstream/11:…000000081001",
		"99cd6979-2cf5-4c70-9bef-5cb3e3f6e3d4":                                                      "99cd6979-2cf5-4c70-9bef-5cb3e3f6e3d4",
		"a/shardId-x":                                                                               "a/shardId-x",
	} {
		if got := shortID(in); got != want {
			t.Errorf("shortID(%q) = %q, want %q", in, got, want)
		}
	}
}
