package widget

import (
	"strings"
	"unicode/utf8"
)

// Query is what the user typed after `/`: words that match a row's name or
// any of its fields, and field terms such as "status:failed", "type:OrderPlaced"
// or "fn:charge-card" that match one field. Every term must match; a leading
// "!" keeps the rows that don't match instead.
type Query struct {
	Raw    string
	Invert bool
	Words  []string    // lowercased
	Fields []FieldTerm // lowercased
}

// FieldTerm is one "key:value" term.
type FieldTerm struct{ Key, Value string }

// fieldAliases maps what users type to the field names screens provide.
var fieldAliases = map[string]string{
	"status": "status", "st": "status", "state": "status",
	"type": "type", "t": "type",
	"fn": "fn", "func": "fn", "function": "fn",
	"queue": "queue", "q": "queue",
	"error": "error", "err": "error",
	"source": "source", "src": "source",
	"kind":   "kind",
	"arch":   "arch",
	"region": "region", "account": "account", "acct": "account",
}

// ParseQuery parses a filter.
func ParseQuery(s string) Query {
	q := Query{Raw: s}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "!") {
		q.Invert, s = true, strings.TrimSpace(s[1:])
	}
	for _, w := range strings.Fields(strings.ToLower(s)) {
		if k, v, ok := strings.Cut(w, ":"); ok && v != "" {
			if name, known := fieldAliases[k]; known {
				q.Fields = append(q.Fields, FieldTerm{Key: name, Value: v})
				continue
			}
		}
		q.Words = append(q.Words, w)
	}
	return q
}

// Empty reports whether the query keeps every row.
func (q Query) Empty() bool { return len(q.Words) == 0 && len(q.Fields) == 0 }

// Match reports whether a row with this name and these fields is kept.
// field returns a field's value, "" when the row has no such field.
func (q Query) Match(name string, field func(key string) string) bool {
	if q.Empty() {
		return true
	}
	return q.match(name, field) != q.Invert
}

func (q Query) match(name string, field func(string) string) bool {
	lname := strings.ToLower(name)
	for _, t := range q.Fields {
		if !strings.Contains(strings.ToLower(field(t.Key)), t.Value) {
			return false
		}
	}
	for _, w := range q.Words {
		if strings.Contains(lname, w) || subsequence(lname, w) {
			continue
		}
		hit := false
		for _, k := range []string{"status", "type", "fn", "queue", "error", "source", "kind"} {
			if strings.Contains(strings.ToLower(field(k)), w) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// subsequence reports whether every rune of pat appears in s in order: the
// fuzzy match the old filter gave names ("chcard" finds "charge-card").
func subsequence(s, pat string) bool {
	if utf8.RuneCountInString(pat) < 3 {
		return false
	}
	for _, r := range pat {
		i := strings.IndexRune(s, r)
		if i < 0 {
			return false
		}
		s = s[i+utf8.RuneLen(r):]
	}
	return true
}
