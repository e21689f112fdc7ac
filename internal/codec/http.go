package codec

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// handlerBodyLimit bounds one encode or decode request (a history page).
const handlerBodyLimit = 16 << 20

// Access says who may use the codec endpoint: a reader decodes (sees
// patient data), a writer also encodes, which makes a payload carebridge's
// workflows believe (a replayed signal). Both empty: open, for development.
type Access struct {
	ReadToken  string // CAREBRIDGE_CODEC_AUTH_TOKEN
	WriteToken string // CAREBRIDGE_CODEC_WRITE_TOKEN; empty with a read token: nobody encodes
}

// Handler serves Temporal's remote codec protocol (POST …/encode and
// …/decode, with or without a namespace in the path) for the Web UI and
// `temporal --codec-endpoint`. With tokens set, a decode needs
// "Authorization: Bearer <token>" of a reader or a writer, an encode a
// writer's; everyone else keeps seeing ciphertext and cannot write a payload
// the workflows believe. Browsers from origins are allowed cross-origin.
func Handler(c *Codec, access Access, origins []string) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	allowed := map[string]bool{}
	for _, o := range origins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			allowed[o] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); allowed[origin] {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if status, answer := access.refusal(r); status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge codec"`)
			}
			http.Error(w, answer, status)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, handlerBodyLimit)
		inner.ServeHTTP(w, r)
	})
}

// refusal is the status and body that refuse r, or 0 when it may go on.
func (a Access) refusal(r *http.Request) (int, string) {
	if a.ReadToken == "" && a.WriteToken == "" {
		return 0, ""
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	writer := a.WriteToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(a.WriteToken)) == 1
	reader := a.ReadToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(a.ReadToken)) == 1
	switch {
	case strings.HasSuffix(r.URL.Path, "/encode") && !writer && reader:
		return http.StatusForbidden, `{"error":{"code":"forbidden","message":"encoding needs the codec's write token"}}`
	case strings.HasSuffix(r.URL.Path, "/encode") && !writer, !writer && !reader:
		return http.StatusUnauthorized, `{"error":{"code":"unauthorized","message":"a codec bearer token is required"}}`
	}
	return 0, ""
}
