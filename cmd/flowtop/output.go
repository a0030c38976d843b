package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// clean makes text from AWS safe for a terminal, on one line.
func clean(s string) string { return tracing.Sanitize(s, false) }

// newJSONEncoder is json.NewEncoder for output people read: C1 controls,
// bidi and zero-width characters are written as \u escapes.
func newJSONEncoder(w io.Writer) *json.Encoder { return json.NewEncoder(tracing.NewJSONWriter(w)) }

// keyLine is keys as one line of text, sanitised.
func keyLine(keys []tracing.Key) string { return clean(strings.Join(keyStrings(keys), " ")) }

// csvCell is clean text that a spreadsheet will not run as a formula.
func csvCell(s string) string {
	s = clean(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// hopJSON is one hop in machine output; field names are stable for jq users.
type hopJSON struct {
	Index      int      `json:"index"`
	Parent     int      `json:"parent"`
	Kind       string   `json:"kind"`
	Component  string   `json:"component"`
	Type       string   `json:"component_type"`
	Account    string   `json:"account,omitempty"` // set when several accounts are watched (cross-account)
	Time       string   `json:"time"`
	LatencyMS  float64  `json:"latency_ms"`
	DurationMS float64  `json:"duration_ms"`
	Status     string   `json:"status"`
	Attempt    int      `json:"attempt,omitempty"`
	ColdStart  bool     `json:"cold_start,omitempty"`
	ErrorType  string   `json:"error_type,omitempty"`
	Keys       []string `json:"keys,omitempty"`
	Evidence   string   `json:"evidence,omitempty"`
	Confidence float64  `json:"confidence"`
	CostUSD    float64  `json:"cost_usd,omitempty"`
	Logs       []string `json:"logs,omitempty"`
	HTTPMethod string   `json:"http_method,omitempty"` // an API Gateway request hop
	Route      string   `json:"route,omitempty"`
	HTTPStatus int      `json:"http_status,omitempty"`
	Cloud      string   `json:"cloud,omitempty"` // a hop in another cloud
}

type lineageJSON struct {
	ID      string    `json:"id"`
	Type    string    `json:"type,omitempty"`
	Status  string    `json:"status"`
	Keys    []string  `json:"keys"`
	First   string    `json:"first"`
	Last    string    `json:"last"`
	CostUSD float64   `json:"cost_usd"`
	Hops    []hopJSON `json:"hops"`
	DLQ     []string  `json:"dlq,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func keyStrings(keys []tracing.Key) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Kind.String()+":"+strings.ReplaceAll(k.Value, "\n", "/"))
	}
	return out
}

func toHopJSON(i int, h graph.Hop) hopJSON {
	out := hopJSON{
		Index: i, Parent: h.Parent, Kind: h.Kind.String(), Component: h.Component.Name, Type: h.Component.Kind.String(), Account: h.Component.Account,
		Time: rfc3339(h.Time), LatencyMS: ms(h.Latency), DurationMS: ms(h.Duration), Status: h.Status.String(),
		Attempt: h.Attempt, ColdStart: h.ColdStart, ErrorType: h.ErrorType, Keys: keyStrings(h.Keys),
		Evidence: h.Evidence, Confidence: h.Confidence, CostUSD: h.CostUSD,
		HTTPMethod: h.HTTPMethod, Route: h.Route, HTTPStatus: h.HTTPStatus, Cloud: h.Cloud,
	}
	for _, l := range h.Logs {
		out.Logs = append(out.Logs, l.Message)
	}
	return out
}

func toLineageJSON(l graph.Lineage) lineageJSON {
	out := lineageJSON{
		ID: l.ID, Type: l.Type, Status: l.Status.String(), Keys: keyStrings(l.Keys),
		First: rfc3339(l.First), Last: rfc3339(l.Last), CostUSD: l.CostUSD, Hops: []hopJSON{},
	}
	for i, h := range l.Hops {
		out.Hops = append(out.Hops, toHopJSON(i, h))
	}
	for _, m := range l.DLQ {
		out.DLQ = append(out.DLQ, m.Queue+"/"+m.MessageID)
	}
	return out
}

// writeLineage prints one event's path as text, json, dot or mermaid.
func writeLineage(w io.Writer, l graph.Lineage, format string) error {
	switch format {
	case "json":
		enc := newJSONEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(toLineageJSON(l))
	case "dot":
		return writeDot(w, l)
	case "mermaid":
		return writeMermaid(w, l)
	case "text", "":
		return writeLineageText(w, l)
	}
	return usageErrorf("unknown output %q: use text, json, dot or mermaid", format)
}

func hopLabel(h graph.Hop) string {
	label := h.Component.Kind.String() + " " + clean(h.Component.Name)
	if h.Component.Account != "" {
		label += " @" + clean(h.Component.Account)
	}
	if h.Kind == graph.HopInvoke && h.Attempt > 1 {
		label += " (attempt " + strconv.Itoa(h.Attempt) + ")"
	}
	return label
}

func writeLineageText(w io.Writer, l graph.Lineage) error {
	fmt.Fprintf(w, "event %s", clean(l.ID))
	if l.Type != "" {
		fmt.Fprintf(w, "  %s", clean(l.Type))
	}
	fmt.Fprintf(w, "  status: %s  hops: %d  cost: $%.8f\n", l.Status, len(l.Hops), l.CostUSD)
	if !l.First.IsZero() {
		fmt.Fprintf(w, "first %s  last %s  (%s end to end)\n", rfc3339(l.First), rfc3339(l.Last), l.Last.Sub(l.First).Round(time.Millisecond))
	}
	fmt.Fprintln(w, "keys:", keyLine(l.Keys))
	for i, h := range l.Hops {
		indent := strings.Repeat("  ", h.Depth)
		arrow := "└─"
		if h.Parent < 0 {
			arrow = "●"
		}
		status := h.Status.String()
		if h.ErrorType != "" {
			status += " " + clean(h.ErrorType)
		}
		if h.ColdStart {
			status += " cold"
		}
		fmt.Fprintf(w, "%2d %s%s %-8s %-40s %s  +%s", i, indent, arrow, h.Kind, hopLabel(h), status, h.Latency.Round(time.Millisecond))
		if r := h.Request(); r != "" {
			fmt.Fprintf(w, "  %s", clean(r))
		}
		if h.Cloud != "" {
			fmt.Fprintf(w, "  in %s", clean(h.Cloud))
		}
		if h.Duration > 0 {
			fmt.Fprintf(w, "  took %s", h.Duration.Round(100*time.Microsecond))
		}
		if h.Evidence != "" {
			fmt.Fprintf(w, "  [%s, %.0f%%]", clean(h.Evidence), h.Confidence*100)
		}
		fmt.Fprintln(w)
		for _, lg := range h.Logs {
			fmt.Fprintf(w, "   %s   │ %s\n", indent, clean(lg.Message))
		}
	}
	for _, m := range l.DLQ {
		fmt.Fprintf(w, "dead-lettered in %s as %s (received %d times)", clean(m.Queue), clean(m.MessageID), m.ReceiveCount)
		if m.Error != "" {
			fmt.Fprintf(w, ", last error: %s", clean(m.Error))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// dotQuote quotes lines of text as one DOT string, the lines joined by DOT's
// own \n escape.
func dotQuote(lines ...string) string {
	for i, s := range lines {
		s = clean(s)
		s = strings.ReplaceAll(s, `\`, `\\`)
		lines[i] = strings.ReplaceAll(s, `"`, `\"`)
	}
	return `"` + strings.Join(lines, `\n`) + `"`
}

func writeDot(w io.Writer, l graph.Lineage) error {
	fmt.Fprintf(w, "digraph lineage {\n  rankdir=LR;\n  label=%s;\n  node [shape=box, style=rounded];\n", dotQuote("event "+l.ID+" ("+l.Status.String()+")"))
	for i, h := range l.Hops {
		attrs := ""
		switch h.Status {
		case graph.HopError, graph.HopTimeout:
			attrs = ", color=red"
		case graph.HopMissing:
			attrs = ", style=dashed"
		}
		fmt.Fprintf(w, "  h%d [label=%s%s];\n", i, dotQuote(hopLabel(h), h.Kind.String()+" · "+h.Status.String()), attrs)
	}
	for i, h := range l.Hops {
		if h.Parent >= 0 && h.Parent < len(l.Hops) {
			fmt.Fprintf(w, "  h%d -> h%d [label=%s];\n", h.Parent, i, dotQuote(h.Latency.Round(time.Millisecond).String()))
		}
	}
	_, err := fmt.Fprintln(w, "}")
	return err
}

// mermaidText keeps only characters that Mermaid labels accept.
func mermaidText(s string) string {
	s = clean(s)
	return strings.NewReplacer(`"`, "'", "[", "(", "]", ")", "{", "(", "}", ")", "|", "/", "<", "‹", ">", "›", "`", "'").Replace(s)
}

func writeMermaid(w io.Writer, l graph.Lineage) error {
	fmt.Fprintln(w, "flowchart LR")
	for i, h := range l.Hops {
		fmt.Fprintf(w, "  h%d[\"%s<br/>%s · %s\"]\n", i, mermaidText(hopLabel(h)), h.Kind, h.Status)
	}
	for i, h := range l.Hops {
		if h.Parent >= 0 && h.Parent < len(l.Hops) {
			arrow := "-->"
			if h.Status == graph.HopMissing {
				arrow = "-.->"
			}
			fmt.Fprintf(w, "  h%d %s|%s| h%d\n", h.Parent, arrow, h.Latency.Round(time.Millisecond), i)
		}
	}
	return nil
}

// costSorts are the columns `flowtop cost --sort` accepts.
var costSorts = map[string]func(a, b graph.FunctionStats) bool{
	"cost":        func(a, b graph.FunctionStats) bool { return a.CostUSD > b.CostUSD },
	"name":        func(a, b graph.FunctionStats) bool { return a.Name < b.Name },
	"invocations": func(a, b graph.FunctionStats) bool { return a.Invocations > b.Invocations },
	"errors":      func(a, b graph.FunctionStats) bool { return a.Errors > b.Errors },
	"p95":         func(a, b graph.FunctionStats) bool { return a.P95 > b.P95 },
	"p99":         func(a, b graph.FunctionStats) bool { return a.P99 > b.P99 },
	"cold":        func(a, b graph.FunctionStats) bool { return a.ColdStarts > b.ColdStarts },
}

func sortFunctions(fns []graph.FunctionStats, by string) error {
	less, ok := costSorts[by]
	if !ok {
		keys := make([]string, 0, len(costSorts))
		for k := range costSorts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return usageErrorf("unknown sort %q: use one of %s", by, strings.Join(keys, ", "))
	}
	sort.SliceStable(fns, func(i, j int) bool {
		if less(fns[i], fns[j]) != less(fns[j], fns[i]) {
			return less(fns[i], fns[j])
		}
		if fns[i].Name != fns[j].Name {
			return fns[i].Name < fns[j].Name
		}
		if fns[i].Account != fns[j].Account {
			return fns[i].Account < fns[j].Account
		}
		return fns[i].Region < fns[j].Region
	})
	return nil
}

var costHeader = []string{"function", "arch", "memory_mb", "invocations", "errors", "timeouts", "cold_starts", "p50_ms", "p95_ms", "p99_ms", "max_memory_used_mb", "gb_seconds", "cost_usd", "cost_per_month_usd"}

func costRecord(f graph.FunctionStats) []string {
	return []string{
		csvCell(f.Name), csvCell(f.Architecture), strconv.Itoa(f.MemoryMB),
		strconv.FormatUint(f.Invocations, 10), strconv.FormatUint(f.Errors, 10), strconv.FormatUint(f.Timeouts, 10), strconv.FormatUint(f.ColdStarts, 10),
		strconv.FormatFloat(ms(f.P50), 'f', 2, 64), strconv.FormatFloat(ms(f.P95), 'f', 2, 64), strconv.FormatFloat(ms(f.P99), 'f', 2, 64),
		strconv.Itoa(f.MaxMemoryUsedMB), strconv.FormatFloat(f.GBSeconds, 'f', 4, 64),
		strconv.FormatFloat(f.CostUSD, 'f', 8, 64), strconv.FormatFloat(f.CostPerMonthUSD, 'f', 4, 64),
	}
}

// costPlaces says whether the rows carry their place (several accounts or
// regions watched: a function is a row per place) and whether their
// accounts differ.
func costPlaces(fns []graph.FunctionStats) (placed, accounts bool) {
	seen := map[string]bool{}
	for _, f := range fns {
		if f.Account != "" || f.Region != "" {
			placed = true
			seen[f.Account] = true
		}
	}
	return placed, len(seen) > 1
}

// writeCost prints the functions table as table, json or csv. With several
// accounts or regions watched, each row says its place: a REGION column
// (account/region when accounts differ) in the table, region and account
// in CSV and JSON.
func writeCost(w io.Writer, fns []graph.FunctionStats, format string) error {
	placed, accounts := costPlaces(fns)
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		head := costHeader
		if placed {
			head = append(append([]string{}, head[0], "region", "account"), head[1:]...)
		}
		_ = cw.Write(head)
		for _, f := range fns {
			rec := costRecord(f)
			if placed {
				rec = append(append([]string{}, rec[0], csvCell(f.Region), csvCell(f.Account)), rec[1:]...)
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		rows := make([]map[string]any, 0, len(fns))
		for _, f := range fns {
			row := map[string]any{
				"function": f.Name, "arch": f.Architecture, "memory_mb": f.MemoryMB,
				"invocations": f.Invocations, "errors": f.Errors, "timeouts": f.Timeouts, "cold_starts": f.ColdStarts,
				"p50_ms": ms(f.P50), "p95_ms": ms(f.P95), "p99_ms": ms(f.P99),
				"max_memory_used_mb": f.MaxMemoryUsedMB, "gb_seconds": f.GBSeconds,
				"cost_usd": f.CostUSD, "cost_per_month_usd": f.CostPerMonthUSD,
			}
			if placed {
				row["region"], row["account"] = f.Region, f.Account
			}
			rows = append(rows, row)
		}
		enc := newJSONEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		region := func(graph.FunctionStats) string { return "" }
		if placed {
			fmt.Fprint(tw, "FUNCTION\tREGION\t")
			region = func(f graph.FunctionStats) string {
				if accounts {
					return clean(f.Account) + "/" + clean(f.Region) + "\t"
				}
				return clean(f.Region) + "\t"
			}
		} else {
			fmt.Fprint(tw, "FUNCTION\t")
		}
		fmt.Fprintln(tw, "ARCH\tMEM\tINVOKES\tERRORS\tTIMEOUTS\tCOLD\tP50\tP95\tP99\tMAX USED\tCOST\tPER MONTH\t")
		for _, f := range fns {
			fmt.Fprintf(tw, "%s\t%s%s\t%d MB\t%d\t%d\t%d\t%d\t%.1f ms\t%.1f ms\t%.1f ms\t%d MB\t$%.6f\t$%.2f\t\n",
				clean(f.Name), region(f), clean(f.Architecture), f.MemoryMB, f.Invocations, f.Errors, f.Timeouts, f.ColdStarts,
				ms(f.P50), ms(f.P95), ms(f.P99), f.MaxMemoryUsedMB, f.CostUSD, f.CostPerMonthUSD)
		}
		return tw.Flush()
	}
	return usageErrorf("unknown output %q: use table, json or csv", format)
}
