// Package statusrec records the status code a handler answered, for the
// request log and the audit of writes, which both wrap handlers.
package statusrec

import "net/http"

// Recorder is a ResponseWriter that remembers the first status written;
// Status is 0 until the handler writes anything.
type Recorder struct {
	http.ResponseWriter
	Status int
}

func (s *Recorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *Recorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *Recorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
