package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/tracer"
)

// benchTracer traces a local 5-hop chain (4 redirects and the landing) from
// o.conns goroutines for o.duration and reports hops per second.
func benchTracer(o options, report io.Writer) error {
	chain := httptest.NewServer(testutil.RedirectChain(4))
	defer chain.Close()
	trc := tracer.New(tracer.Config{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	defer trc.CloseIdleConnections()
	var results []float64
	var badVerdicts atomic.Int64
	for range o.runs {
		var hops atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), o.duration)
		var wg sync.WaitGroup
		start := time.Now()
		for range o.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					c := trc.Trace(context.Background(), tracer.Request{URL: chain.URL + "/hop/1"})
					if c.Verdict != "healthy" {
						badVerdicts.Add(1)
					}
					hops.Add(int64(len(c.Chain)))
				}
			}()
		}
		wg.Wait()
		cancel()
		results = append(results, float64(hops.Load())/time.Since(start).Seconds())
	}
	fmt.Fprintf(report, "### Tracer (in process, local 5-hop chain, %d concurrent traces, chain server in the same process)\n\n", o.conns)
	fmt.Fprintf(report, "| hops/s (median) | runs | non-healthy verdicts |\n|---|---|---|\n| %.0f | %s | %d |\n\n", median(results), floats(results), badVerdicts.Load())
	return nil
}
