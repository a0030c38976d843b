package graph

// ask reads the first page of the Flows list as the console does: words,
// and a status field term when status is not empty, progressively. It
// says whether the answer is partial. (The filter benchmarks call it; the
// baseline they are compared with has its own.)
func ask(g *Graph, filter, status string) (FlowPage, bool) {
	q := FlowQuery{Filter: filter, Limit: 50, Progressive: true}
	if status != "" {
		q.Fields = []FieldTerm{{Key: "status", Value: status}}
	}
	p := g.Flows(q)
	return p, p.Partial
}
