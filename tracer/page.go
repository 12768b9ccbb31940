package tracer

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// isHTML reports whether a response with this Content-Type can hold a meta
// refresh or a script. A missing type is sniffed as HTML by browsers often
// enough to look.
func isHTML(contentType string) bool {
	if contentType == "" {
		return true
	}
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.Contains(strings.ToLower(contentType), "html")
	}
	return strings.Contains(media, "html")
}

// toUTF8 decodes body from the encoding its Content-Type or its own <meta
// charset> declares, so that URLs with non-ASCII characters in, say, an
// ISO-8859-1 page are requested as a browser would. It returns the page's
// encoding too, nil for UTF-8, for the queries of the URLs in it; invalid
// UTF-8 becomes U+FFFD, as in a browser.
func toUTF8(body []byte, contentType string) ([]byte, encoding.Encoding) {
	enc, name, _ := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" {
		if !utf8.Valid(body) {
			body = replaceInvalidUTF8(body)
		}
		return body, nil
	}
	// Every other encoding a page may declare reads ASCII as ASCII, apart
	// from UTF-16; skip the copy when there is nothing to decode.
	if !strings.HasPrefix(name, "utf-16") && !hasHighBit(body) {
		return body, enc
	}
	decoded, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body, nil
	}
	if strings.HasPrefix(name, "utf-16") {
		enc = nil // URLs in a UTF-16 page are encoded in UTF-8
	}
	return decoded, enc
}

// replaceInvalidUTF8 writes U+FFFD for every byte that is not part of a
// valid UTF-8 sequence.
func replaceInvalidUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[1:]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	return out
}

func hasHighBit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// decodedBody undoes a Content-Encoding the transport did not: a deflate
// (zlib or raw, both seen in the wild) or gzip body sent although only gzip
// was asked for and the transport has already undone that.
func decodedBody(resp *http.Response) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
	case "deflate":
		br := bufio.NewReader(resp.Body)
		head, err := br.Peek(2)
		if err == nil && head[0]&0x0f == 8 && (uint(head[0])<<8|uint(head[1]))%31 == 0 {
			return zlib.NewReader(br)
		}
		return flate.NewReader(br), nil
	case "gzip", "x-gzip":
		return gzip.NewReader(resp.Body)
	}
	return resp.Body, nil
}
