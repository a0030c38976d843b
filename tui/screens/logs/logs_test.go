package logs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/logs"
	"github.com/flowtop/flowtop/tui/widget"
)

func newScreen(f logs.Feed, arg any) screen.Screen { return logs.New(screentest.Env(true), f, arg) }

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "logs", func() screen.Screen { return newScreen(fake.NewFeed(), nil) })
	screentest.Goldens(t, "logs-wrap-paused", func() screen.Screen { return newScreen(fake.NewFeed(), nil) }, "w", "k", "k", "k", "t")
	screentest.Goldens(t, "logs-wrap-follow", func() screen.Screen { return newScreen(fake.NewFeed(), nil) }, "w")
	screentest.Goldens(t, "logs-one-function", func() screen.Screen { return newScreen(fake.NewFeed(), "send-email") })
	screentest.Goldens(t, "logs-empty", func() screen.Screen {
		f := fake.NewFeed()
		f.LogLines = []graph.LogEntry{}
		return newScreen(f, "charge-card")
	})
}

// view is the screen without styles.
func view(s screen.Screen) string { return ansi.Strip(s.View()) }

// cursorText is the text of the row in reverse video.
func cursorText(s screen.Screen) string {
	for _, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "\x1b[7m") {
			return strings.TrimSpace(ansi.Strip(l))
		}
	}
	return ""
}

func info(s screen.Screen) string { return s.(screen.Informer).Info() }

func TestFollowOnlyAtTheTailAndCountNew(t *testing.T) {
	f := fake.NewFeed()
	all := fake.FakeLogLines(200)
	f.LogLines = all[:99]
	s := newScreen(f, nil)
	s.SetSize(100, 10)
	s, _ = screentest.Load(t, s)
	if !strings.HasPrefix(info(s), "following · 99 lines") || !strings.Contains(cursorText(s), "REPORT RequestId: 00000010") {
		t.Fatalf("open: %q cursor %q\n%s", info(s), cursorText(s), view(s))
	}
	// At the tail, new lines scroll in and the cursor stays on the newest.
	f.LogLines = all[:110]
	s, _ = screentest.Load(t, s)
	if !strings.HasPrefix(info(s), "following · 110 lines") || !strings.Contains(cursorText(s), "INFO") {
		t.Fatalf("follow: %q cursor %q\n%s", info(s), cursorText(s), view(s))
	}
	// Up leaves the tail: the view stands still and counts what arrives.
	s, _ = screentest.Press(t, s, "k", "k")
	was, wasView := cursorText(s), view(s)
	f.LogLines = all[:125]
	s, _ = screentest.Load(t, s)
	if cursorText(s) != was || !strings.HasPrefix(info(s), "paused · 15 new") {
		t.Errorf("paused: %q cursor %q, was %q", info(s), cursorText(s), was)
	}
	lines := strings.Split(view(s), "\n")
	if !strings.Contains(lines[len(lines)-1], "15 new line(s) below") || strings.Join(lines[:len(lines)-1], "\n") == wasView {
		t.Errorf("no new-lines bar, or the view did not keep its place:\n%s", view(s))
	}
	// G follows again; f pauses at the tail and follows again.
	s, _ = screentest.Press(t, s, "G")
	if !strings.HasPrefix(info(s), "following") || !strings.Contains(cursorText(s), "END RequestId: 00000013") {
		t.Errorf("G: %q cursor %q", info(s), cursorText(s))
	}
	s, out := screentest.Press(t, s, "f")
	f.LogLines = all[:130]
	s, _ = screentest.Load(t, s)
	if len(out) != 1 || !strings.HasPrefix(info(s), "paused · 5 new") {
		t.Errorf("f: %q %v", info(s), out)
	}
	s, _ = screentest.Press(t, s, "f")
	if !strings.HasPrefix(info(s), "following · 130 lines") {
		t.Errorf("f again: %q", info(s))
	}
	// j down to the tail follows again.
	s, _ = screentest.Press(t, s, "k", "j")
	if !strings.HasPrefix(info(s), "following") {
		t.Errorf("j to the tail: %q", info(s))
	}
}

func TestHeldLinesAreBoundedAndLostOnesCounted(t *testing.T) {
	f := fake.NewFeed()
	all := fake.FakeLogLines(500)
	f.LogLines = all[:100]
	s := logs.New(screentest.Env(true), f, nil)
	s.SetMaxHeld(50)
	s.SetSize(100, 10)
	sc, _ := screentest.Load(t, s)
	if !strings.HasPrefix(info(sc), "following · 50 lines") {
		t.Errorf("first read: %q", info(sc))
	}
	f.LogLines = all
	sc, _ = screentest.Load(t, sc)
	if got := info(sc); !strings.HasPrefix(got, "following · 50 lines · 350 missed") {
		t.Errorf("after 400 more: %q", got)
	}
	sc, _ = screentest.Press(t, sc, "g")
	if !strings.Contains(view(sc), "00000050") || strings.Contains(view(sc), "00000049") {
		t.Errorf("the oldest held line is not line 451:\n%s", view(sc))
	}
}

func TestFilterPatterns(t *testing.T) {
	s := newScreen(fake.NewFeed(), nil)
	s.SetSize(160, 40)
	s, _ = screentest.Load(t, s)
	f := s.(screen.Filterer)
	count := func() int {
		n := 0
		for _, l := range strings.Split(view(s), "\n") {
			if strings.TrimSpace(l) != "" {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		pattern, info string
		rows          int
		has, hasNot   string
	}{
		{"ERROR", "26 of 120 lines", 26, "TypeError", "charging"},
		{`"insufficient funds"`, "13 of 120 lines", 13, "CardDeclined", "TypeError"},
		{"ERROR -TypeError", "13 of 120 lines", 13, "CardDeclined", "TypeError"},
		{`{ $.level = "ERROR" }`, "13 of 120 lines", 13, `"msg":"CardDeclined`, "TypeError"},
		{`{ $.order.amount > 40 && $.msg = "Card*" }`, "13 of 120 lines", 13, "CardDeclined", "WARN"},
		{`{ $.level = "ERR`, "13 of 120 lines · pattern: a quoted phrase is not closed", 13, "CardDeclined", "WARN"}, // half typed: the last good one stays
		{"?WARN ?DEBUG", "27 of 120 lines", 27, "retrying the card network", "ERROR"},
		{"zqxw", "0 of 120 lines", 1, "no line matches zqxw", "INFO"},
	} {
		f.SetFilter(tc.pattern)
		v := view(s)
		if got := info(s); !strings.Contains(got, tc.info) {
			t.Errorf("%s: info %q, want %q", tc.pattern, got, tc.info)
		}
		if n := count(); n != min(tc.rows, 40) || !strings.Contains(v, tc.has) || strings.Contains(v, tc.hasNot) {
			t.Errorf("%s: %d rows (want %d), has %q, not %q:\n%s", tc.pattern, n, tc.rows, tc.has, tc.hasNot, v)
		}
	}
	f.SetFilter("")
	if !strings.HasPrefix(info(s), "following · 120 lines") {
		t.Errorf("cleared: %q", info(s))
	}
}

func TestEnterOpensTheLinesEvent(t *testing.T) {
	s := newScreen(fake.NewFeed(), nil)
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	_, out := screentest.Press(t, s, "k", "k", "enter")
	want := screen.Open{To: logs.EventID, Arg: "00000013-1111-4000-8000-000000000000"}
	if len(out) != 1 || out[0] != want {
		t.Errorf("enter: %#v, want %#v", out, want)
	}
}

func TestSaveWritesWhatIsHeldFiltered(t *testing.T) {
	dir := t.TempDir()
	m := logs.New(screentest.Env(true), fake.NewFeed(), nil)
	m.SetSaveDir(dir)
	m.SetSize(120, 20)
	s, _ := screentest.Load(t, m)
	s.(screen.Filterer).SetFilter("ERROR")
	ctrlS := tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	s, cmd := s.Update(ctrlS)
	s, out := screentest.Run(t, s, cmd)
	path := filepath.Join(dir, "flowtop-logs-20261123-100000.log")
	if len(out) != 1 || out[0] != (screen.Flash{Text: "saved 26 lines to " + path, Level: screen.LevelOK}) {
		t.Fatalf("ctrl+s: %#v", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if n := strings.Count(got, "\n") - strings.Count(got, "\n\t"); n != 26 || strings.Contains(got, "charging order") || strings.Contains(got, "\x1b") {
		t.Errorf("%d lines:\n%s", n, got)
	}
	first := strings.SplitN(got, "\n", 2)[0]
	if want := "2026-11-23T09:58:04Z charge-card 00000000-1111-4000-8000-000000000000 ERROR {\"level\":\"ERROR\""; !strings.HasPrefix(first, want) {
		t.Errorf("first line %q, want it to start %q", first, want)
	}
	// A second save the same second does not overwrite the first.
	_, cmd = s.Update(ctrlS)
	_, out = screentest.Run(t, s, cmd)
	if len(out) != 1 || !strings.Contains(out[0].(screen.Flash).Text, "-1.log") {
		t.Errorf("second save: %#v", out)
	}
	// A directory that cannot take it says so.
	m2 := logs.New(screentest.Env(true), fake.NewFeed(), nil)
	m2.SetSaveDir(filepath.Join(dir, "no", "such"))
	s2, _ := screentest.Load(t, m2)
	_, cmd = s2.Update(ctrlS)
	_, out = screentest.Run(t, s2, cmd)
	if len(out) != 1 || out[0].(screen.Flash).Level != screen.LevelError {
		t.Errorf("bad dir: %#v", out)
	}
}

func TestTextIsSanitisedAndLevelsReadWithoutColour(t *testing.T) {
	s := newScreen(fake.NewFeed(), nil)
	s.SetSize(200, 40)
	s, _ = screentest.Load(t, s)
	v := s.View()
	if strings.Contains(v, "\x1b]0;") || strings.Contains(v, "\x07") || !strings.Contains(v, `\x1b[31mred`) {
		t.Errorf("escape sequences reached the terminal:\n%q", v)
	}
	for _, w := range []string{" ERROR ", " WARN ", " DEBUG ", " REPORT ", " START ", " ⏎ "} {
		if !strings.Contains(ansi.Strip(v), w) {
			t.Errorf("no %q in the plain view", w)
		}
	}
	// With colour, error lines are red.
	env := screentest.Env(true)
	env.St = widget.NewStyles(false)
	c := logs.New(env, fake.NewFeed(), nil)
	c.SetSize(200, 40)
	cs, _ := screentest.Load(t, c)
	if !strings.Contains(cs.View(), "\x1b[91m") && !strings.Contains(cs.View(), "\x1b[38;5;9m") {
		t.Errorf("no red in the coloured view:\n%q", cs.View())
	}
}

// BenchmarkFrame is one frame of the logs screen holding 100,000 lines of a
// real graph while 10 invocations (40 lines) arrive per frame: the Refresh
// read, its Update, and View, at 160x43. Target: ≤ 5 ms.
func BenchmarkFrame(b *testing.B) {
	for _, tc := range []struct {
		name string
		keys []string
		pat  string
	}{
		{"follow", nil, ""},
		{"follow-filter", nil, "ERROR -timeout"},
		{"follow-json-filter", nil, `{ $.level = "ERROR" }`},
		{"paused-wrap", []string{"w", "k", "k", "k"}, ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := graph.New(graph.Config{MaxEvents: 200_000})
			n := 0
			ingest := func(invs int) {
				batch := make(tracing.Batch, 0, invs*4)
				for i := 0; i < invs; i++ {
					batch = append(batch, invocationLines(n)...)
					n++
				}
				g.Ingest(batch)
			}
			for i := 0; i < 25; i++ {
				ingest(1000)
			}
			m := logs.New(screentest.Env(false), g, nil)
			m.SetSize(160, 43)
			var s screen.Screen = m
			s, _ = s.Update(load(s))
			if !strings.Contains(info(s), "100,000 lines") {
				b.Fatalf("holds %q", info(s))
			}
			s.(screen.Filterer).SetFilter(tc.pat)
			for _, k := range tc.keys {
				s, _ = s.Update(screentest.Key(k))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ingest(10)
				b.StartTimer()
				s, _ = s.Update(load(s))
				_ = s.View()
			}
		})
	}
}

func load(s screen.Screen) tea.Msg { return s.Refresh(1)() }

// invocationLines are one invocation's START, app line (JSON for every
// third), END and REPORT, as the cwlogs collector sends them.
func invocationLines(i int) tracing.Batch {
	req := fmt.Sprintf("%08x-1111-4000-8000-000000000000", i)
	at := time.Unix(1_800_000_000, 0).Add(time.Duration(i) * time.Millisecond)
	fn := []string{"charge-card", "send-email", "ship-order"}[i%3]
	comp := tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	line := func(kind tracing.LogKind, level, msg string) tracing.Observation {
		return tracing.Observation{
			Kind: tracing.ObsLog, Time: at, Component: comp, Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}},
			Log: &tracing.LogRecord{Kind: kind, Level: level, RequestID: req, Message: msg},
		}
	}
	app := line(tracing.LogApp, "INFO", "2026-11-23T10:00:00.000Z\t"+req+"\tINFO\tcharging order o-17 for 42.00 EUR")
	if i%3 == 0 {
		app = line(tracing.LogApp, "ERROR", `{"level":"ERROR","msg":"CardDeclined: insufficient funds","order":{"id":"o-17"}}`)
	}
	report := line(tracing.LogReport, "", "REPORT RequestId: "+req+"\tDuration: 180.20 ms")
	report.Kind = tracing.ObsInvocation
	report.Invocation = &tracing.Invocation{Function: fn, RequestID: req, Duration: 180 * time.Millisecond, MemorySizeMB: 512, MaxMemoryUsedMB: 100, Status: tracing.InvocationSuccess}
	return tracing.Batch{line(tracing.LogStart, "", "START RequestId: "+req), app, line(tracing.LogEnd, "", "END RequestId: "+req), report}
}

// BenchmarkRefilter is a new pattern applied to 100,000 held lines (every
// key typed after `/` does this).
func BenchmarkRefilter(b *testing.B) {
	g := graph.New(graph.Config{MaxEvents: 200_000})
	batch := make(tracing.Batch, 0, 100_000)
	for i := 0; i < 25_000; i++ {
		batch = append(batch, invocationLines(i)...)
	}
	g.Ingest(batch)
	m := logs.New(screentest.Env(false), g, nil)
	m.SetSize(160, 43)
	var s screen.Screen = m
	s, _ = s.Update(load(s))
	for _, pat := range []string{"ERROR -timeout", `"insufficient funds"`, `{ $.level = "ERROR" }`} {
		b.Run(pat, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				s.(screen.Filterer).SetFilter(pat)
				s.(screen.Filterer).SetFilter("")
			}
		})
	}
}

func TestOneReadIsOrderedByTime(t *testing.T) {
	f := fake.NewFeed()
	f.LogLines = []graph.LogEntry{
		{Seq: 1, Time: fake.Now, Function: "orders-api", RequestID: "r-1", Kind: tracing.LogApp, Message: "second"},
		{Seq: 2, Time: fake.Now.Add(-time.Second), Function: "reserve-stock", RequestID: "r-2", Kind: tracing.LogApp, Message: "first"},
	}
	s := newScreen(f, nil)
	s.SetSize(80, 5)
	s, _ = screentest.Load(t, s)
	if v := view(s); strings.Index(v, "first") > strings.Index(v, "second") || !strings.Contains(cursorText(s), "second") {
		t.Errorf("not in time order, or the cursor is not on the newest:\n%s", v)
	}
	// Read again: nothing is added twice.
	s, _ = screentest.Load(t, s)
	if !strings.HasPrefix(info(s), "following · 2 lines") {
		t.Errorf("read twice: %q", info(s))
	}
}

func TestWrapWhileFollowingFillsToTheBottom(t *testing.T) {
	s := newScreen(fake.NewFeed(), nil)
	s.SetSize(60, 12)
	s, _ = screentest.Load(t, s)
	s, _ = screentest.Press(t, s, "w")
	lines := strings.Split(view(s), "\n")
	if len(lines) != 12 || !strings.Contains(lines[10], "DEBUG") || !strings.Contains(lines[11], "resolved") {
		t.Errorf("the tail is not at the bottom (cursor %q):\n%s", cursorText(s), view(s))
	}
	if strings.TrimSpace(lines[0]) == "" {
		t.Errorf("a gap at the top:\n%s", view(s))
	}
}
