package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pattern is a CloudWatch Logs filter pattern, as Live Tail and metric
// filters take it, for log lines held in memory:
//
//   - terms: `ERROR` (every plain term must appear), `"exact phrase"`,
//     `?ERROR ?WARN` (at least one of the ? terms), `-DEBUG` or `-"a phrase"`
//     (must not appear), `%regex%` (RE2). Terms are case-sensitive, as in
//     CloudWatch.
//   - JSON: `{ $.level = "ERROR" }`, `{ $.latency > 500 && $.user.id != "u-1" }`,
//     `||`, parentheses, `=` and `!=` on strings (with `*` wildcards) and
//     numbers, `<`, `<=`, `>`, `>=` on numbers, `IS NULL`, `IS TRUE`,
//     `IS FALSE`, `NOT EXISTS`, array indexes `$.items[0].sku`. It matches
//     lines whose message is a JSON object, or (unlike CloudWatch, which
//     needs the whole message to be JSON) carries one after the Lambda text
//     format's time, request ID and level.
//
// Space-delimited patterns (`[ip, user, ...]`) are refused with an error.
type Pattern struct {
	terms []term // term patterns
	json  node   // a JSON pattern, or nil
}

type termKind uint8

const (
	termAll termKind = iota // must appear
	termAny                 // ?: one of them must appear
	termNot                 // -: must not appear
)

type term struct {
	kind   termKind
	text   string
	quoted bool
	re     *regexp.Regexp
}

const maxPatternLen = 1024

// ParsePattern parses a filter pattern; the empty pattern matches every line.
func ParsePattern(s string) (Pattern, error) {
	if len(s) > maxPatternLen {
		return Pattern{}, fmt.Errorf("pattern: longer than %d bytes", maxPatternLen)
	}
	if !utf8.ValidString(s) {
		return Pattern{}, errors.New("pattern: not valid UTF-8")
	}
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "{"):
		p := &jsonParser{s: t, i: 1}
		n, err := p.or(0)
		if err != nil {
			return Pattern{}, err
		}
		p.space()
		if !p.eat("}") {
			return Pattern{}, p.errf("expected } or && or ||")
		}
		p.space()
		if p.i < len(p.s) {
			return Pattern{}, p.errf("unexpected text after }")
		}
		return Pattern{json: n}, nil
	case strings.HasPrefix(t, "["):
		return Pattern{}, errors.New("pattern: space-delimited patterns ([...]) are not supported here")
	}
	var out Pattern
	for i := 0; i < len(t); {
		if t[i] == ' ' || t[i] == '\t' {
			i++
			continue
		}
		tm := term{kind: termAll}
		switch t[i] {
		case '?':
			tm.kind = termAny
			i++
		case '-':
			tm.kind = termNot
			i++
		}
		if i >= len(t) || t[i] == ' ' || t[i] == '\t' {
			return Pattern{}, fmt.Errorf("pattern: a term is missing after %q", t[i-1:i])
		}
		switch t[i] {
		case '"':
			text, n, err := quoted(t[i:])
			if err != nil {
				return Pattern{}, err
			}
			tm.text, tm.quoted = text, true
			i += n
		case '%':
			end := strings.IndexByte(t[i+1:], '%')
			if end < 0 {
				return Pattern{}, errors.New("pattern: a %regex% is not closed")
			}
			expr := t[i+1 : i+1+end]
			re, err := regexp.Compile(expr)
			if err != nil || expr == "" {
				return Pattern{}, fmt.Errorf("pattern: bad regex %q", expr)
			}
			tm.text, tm.re = expr, re
			i += end + 2
		default:
			j := i
			for j < len(t) && t[j] != ' ' && t[j] != '\t' && t[j] != '"' {
				j++
			}
			tm.text = t[i:j]
			i = j
		}
		out.terms = append(out.terms, tm)
	}
	return out, nil
}

// quoted reads a double-quoted string at the start of s (\" and \\ escape)
// and returns it and the bytes read.
func quoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("pattern: a quoted phrase is not closed")
}

// Empty reports whether the pattern matches every line.
func (p Pattern) Empty() bool { return len(p.terms) == 0 && p.json == nil }

// Match reports whether a raw log message matches.
func (p Pattern) Match(msg string) bool { return p.match(msg, true) }

// match is Match; prefilter refuses JSON lines that lack a literal the
// pattern needs before parsing them (tests compare it with the slow way).
func (p Pattern) match(msg string, prefilter bool) bool {
	if p.json != nil {
		t := jsonPart(msg)
		if t == "" || prefilter && strings.IndexByte(t, '\\') < 0 && !p.json.maybe(t) {
			return false
		}
		var v any
		if json.Unmarshal([]byte(t), &v) != nil {
			return false
		}
		return p.json.eval(v)
	}
	anyWanted, anyHit := false, false
	for i := range p.terms {
		tm := &p.terms[i]
		var hit bool
		if tm.re != nil {
			hit = tm.re.MatchString(msg)
		} else {
			hit = strings.Contains(msg, tm.text)
		}
		switch tm.kind {
		case termAll:
			if !hit {
				return false
			}
		case termNot:
			if hit {
				return false
			}
		case termAny:
			anyWanted = true
			anyHit = anyHit || hit
		}
	}
	return !anyWanted || anyHit
}

// jsonPart is the JSON object a log message is, or carries after the Lambda
// text format's time, request ID and level ("2026-…Z\treq\tINFO\t{…}"), or "".
func jsonPart(msg string) string {
	t := strings.TrimSpace(msg)
	if strings.HasPrefix(t, "{") {
		return t
	}
	if f := strings.SplitN(t, "\t", 4); len(f) == 4 {
		if j := strings.TrimSpace(f[3]); strings.HasPrefix(j, "{") {
			return j
		}
	}
	return ""
}

// String returns the pattern in a canonical form that parses back to it.
func (p Pattern) String() string {
	if p.json != nil {
		return "{ " + p.json.String() + " }"
	}
	var b strings.Builder
	for i, tm := range p.terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch tm.kind {
		case termAny:
			b.WriteByte('?')
		case termNot:
			b.WriteByte('-')
		}
		switch {
		case tm.re != nil:
			b.WriteString("%" + tm.text + "%")
		case tm.quoted || tm.text == "" || strings.ContainsAny(tm.text, " \t\"%?-{["):
			b.WriteString(quote(tm.text))
		default:
			b.WriteString(tm.text)
		}
	}
	return b.String()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// ---- JSON patterns ----

type node interface {
	eval(v any) bool
	// maybe reports whether a raw JSON text without backslashes can match:
	// false only when a literal the pattern needs is missing, so most lines
	// are refused without being parsed.
	maybe(raw string) bool
	String() string
}

type (
	andNode struct{ a, b node }
	orNode  struct{ a, b node }
)

func (n andNode) eval(v any) bool       { return n.a.eval(v) && n.b.eval(v) }
func (n orNode) eval(v any) bool        { return n.a.eval(v) || n.b.eval(v) }
func (n andNode) maybe(raw string) bool { return n.a.maybe(raw) && n.b.maybe(raw) }
func (n orNode) maybe(raw string) bool  { return n.a.maybe(raw) || n.b.maybe(raw) }
func (n andNode) String() string        { return "(" + n.a.String() + " && " + n.b.String() + ")" }
func (n orNode) String() string         { return "(" + n.a.String() + " || " + n.b.String() + ")" }

// step is one part of a selector: a field name or an array index.
type step struct {
	field string
	index int // when field is ""
}

type cmpNode struct {
	path []step
	op   string // = != < <= > >= null true false notexists
	str  string
	num  float64
	isNm bool
	re   *regexp.Regexp // a %regex% value, or the * wildcard pattern of str
}

func (n cmpNode) selector() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range n.path {
		if s.field != "" {
			b.WriteString("." + s.field)
		} else {
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	return b.String()
}

func (n cmpNode) String() string {
	sel := n.selector()
	switch n.op {
	case "null":
		return sel + " IS NULL"
	case "true":
		return sel + " IS TRUE"
	case "false":
		return sel + " IS FALSE"
	case "notexists":
		return sel + " NOT EXISTS"
	}
	switch {
	case n.isNm:
		return sel + " " + n.op + " " + strconv.FormatFloat(n.num, 'g', -1, 64)
	case n.re != nil && strings.HasPrefix(n.str, "%"):
		return sel + " " + n.op + " " + n.str
	}
	return sel + " " + n.op + " " + quote(n.str)
}

func (n cmpNode) maybe(raw string) bool {
	if n.op != "=" || n.isNm || n.re != nil || !literal(n.str) {
		return true
	}
	return strings.Contains(raw, n.str)
}

// literal reports whether s appears as itself in any JSON text holding it
// (no character JSON may escape) and is not a number (1e3 matches "1000").
func literal(s string) bool {
	word := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '/' {
			return false
		}
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			word = true
		}
	}
	return word
}

func (n cmpNode) eval(v any) bool {
	for _, s := range n.path {
		switch x := v.(type) {
		case map[string]any:
			if s.field == "" {
				return false
			}
			var ok bool
			if v, ok = x[s.field]; !ok {
				return n.op == "notexists"
			}
		case []any:
			if s.field != "" || s.index >= len(x) {
				return n.op == "notexists"
			}
			v = x[s.index]
		default:
			return n.op == "notexists"
		}
	}
	switch n.op {
	case "notexists":
		return false
	case "null":
		return v == nil
	case "true", "false":
		b, ok := v.(bool)
		return ok && b == (n.op == "true")
	}
	if n.isNm {
		f, ok := v.(float64)
		if !ok {
			return false
		}
		switch n.op {
		case "=":
			return f == n.num
		case "!=":
			return f != n.num
		case "<":
			return f < n.num
		case "<=":
			return f <= n.num
		case ">":
			return f > n.num
		case ">=":
			return f >= n.num
		}
		return false
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		return false
	}
	eq := s == n.str
	if n.re != nil {
		eq = n.re.MatchString(s)
	}
	if n.op == "!=" {
		return !eq
	}
	return eq
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) errf(format string, a ...any) error {
	return fmt.Errorf("pattern: at %d: %s", p.i+1, fmt.Sprintf(format, a...))
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *jsonParser) eat(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

// eatWord consumes a keyword (case-insensitive) followed by a non-letter.
func (p *jsonParser) eatWord(w string) bool {
	if len(p.s)-p.i < len(w) || !strings.EqualFold(p.s[p.i:p.i+len(w)], w) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && isIdent(p.s[j]) {
		return false
	}
	p.i += len(w)
	return true
}

const maxDepth = 32

func (p *jsonParser) or(depth int) (node, error) {
	a, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if !p.eat("||") {
			return a, nil
		}
		b, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		a = orNode{a, b}
	}
}

func (p *jsonParser) and(depth int) (node, error) {
	a, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if !p.eat("&&") {
			return a, nil
		}
		b, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		a = andNode{a, b}
	}
}

func (p *jsonParser) unary(depth int) (node, error) {
	if depth > maxDepth {
		return nil, p.errf("nested too deep")
	}
	p.space()
	if p.eat("(") {
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(")") {
			return nil, p.errf("expected )")
		}
		return n, nil
	}
	return p.comparison()
}

func isIdent(c byte) bool {
	return c == '_' || c == '-' || c == '@' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *jsonParser) comparison() (node, error) {
	if !p.eat("$") {
		return nil, p.errf("expected a selector such as $.level")
	}
	var n cmpNode
	for {
		if p.eat(".") {
			j := p.i
			for p.i < len(p.s) && isIdent(p.s[p.i]) {
				p.i++
			}
			if j == p.i {
				return nil, p.errf("expected a field name after .")
			}
			n.path = append(n.path, step{field: p.s[j:p.i]})
			continue
		}
		if p.eat("[") {
			j := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			idx, err := strconv.Atoi(p.s[j:p.i])
			if err != nil || idx > 1<<20 || !p.eat("]") {
				return nil, p.errf("expected an array index such as [0]")
			}
			n.path = append(n.path, step{index: idx})
			continue
		}
		break
	}
	if len(n.path) == 0 {
		return nil, p.errf("expected a field after $")
	}
	p.space()
	switch {
	case p.eatWord("IS"):
		p.space()
		switch {
		case p.eatWord("NULL"):
			n.op = "null"
		case p.eatWord("TRUE"):
			n.op = "true"
		case p.eatWord("FALSE"):
			n.op = "false"
		default:
			return nil, p.errf("expected NULL, TRUE or FALSE after IS")
		}
		return n, nil
	case p.eatWord("NOT"):
		p.space()
		if !p.eatWord("EXISTS") {
			return nil, p.errf("expected EXISTS after NOT")
		}
		n.op = "notexists"
		return n, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if p.eat(op) {
			n.op = op
			break
		}
	}
	if n.op == "" {
		return nil, p.errf("expected =, !=, <, <=, >, >=, IS or NOT EXISTS")
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errf("expected a value")
	}
	switch c := p.s[p.i]; c {
	case '"':
		s, k, err := quoted(p.s[p.i:])
		if err != nil {
			return nil, err
		}
		p.i += k
		n.str = s
	case '%':
		end := strings.IndexByte(p.s[p.i+1:], '%')
		if end <= 0 {
			return nil, p.errf("a %%regex%% is not closed")
		}
		expr := p.s[p.i+1 : p.i+1+end]
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, p.errf("bad regex %q", expr)
		}
		n.str, n.re = "%"+expr+"%", re
		p.i += end + 2
		if n.op != "=" && n.op != "!=" {
			return nil, p.errf("a regex takes = or !=")
		}
		return n, nil
	default:
		j := p.i
		for p.i < len(p.s) && (isIdent(p.s[p.i]) || p.s[p.i] == '.' || p.s[p.i] == '+' || p.s[p.i] == '*' || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		word := p.s[j:p.i]
		if word == "" {
			return nil, p.errf("expected a value")
		}
		if f, err := strconv.ParseFloat(word, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			n.num, n.isNm = f, true
		} else {
			n.str = word
		}
	}
	if !n.isNm {
		if n.op != "=" && n.op != "!=" {
			return nil, p.errf("%s takes a number", n.op)
		}
		if strings.Contains(n.str, "*") {
			parts := strings.Split(n.str, "*")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			re, err := regexp.Compile("^" + strings.Join(parts, ".*") + "$")
			if err != nil {
				return nil, p.errf("bad wildcard %q", n.str)
			}
			n.re = re
		}
	}
	return n, nil
}
