//go:build pprof

package main

// Built only with -tags pprof (the load harness's -profile does): serves
// net/http/pprof on the loopback address in BENCH_PPROF_ADDR, so that a CPU
// or allocation profile of the ingest path can be taken under load. Release
// builds never carry it.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("BENCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr}
	// The listener lives as long as the process: it is a profiling build.
	go func() { _ = srv.ListenAndServe() }()
}
