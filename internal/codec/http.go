package codec

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// handlerBodyLimit bounds one encode or decode request (a history page).
const handlerBodyLimit = 16 << 20

// Handler serves Temporal's remote codec protocol (POST …/encode and
// …/decode, with or without a namespace in the path) for the Web UI and
// `temporal --codec-endpoint`. With a token set, only requests carrying
// "Authorization: Bearer <token>" are answered; everyone else keeps seeing
// ciphertext. Browsers from origins are allowed cross-origin.
func Handler(c *Codec, token string, origins []string) http.Handler {
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
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge codec"`)
				http.Error(w, `{"error":{"code":"unauthorized","message":"a codec bearer token is required"}}`, http.StatusUnauthorized)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, handlerBodyLimit)
		inner.ServeHTTP(w, r)
	})
}
