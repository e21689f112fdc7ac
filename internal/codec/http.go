package codec

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/carebridge/carebridge/internal/audit"
	"github.com/carebridge/carebridge/internal/auth"
)

// handlerBodyLimit bounds one encode or decode request (a history page).
const handlerBodyLimit = 16 << 20

// Access says who may use the codec endpoint: a reader decodes (sees
// patient data), a writer also encodes, which makes a payload carebridge's
// workflows believe (a replayed signal). Nothing set: open, for development.
type Access struct {
	ReadToken  string // CAREBRIDGE_CODEC_AUTH_TOKEN: a machine's (the CLI's --codec-auth)
	WriteToken string // CAREBRIDGE_CODEC_WRITE_TOKEN; empty with a read token: nobody encodes
	// People are the OpenID Connect provider's tokens, which the Web UI
	// passes (passAccessToken) and the CLI's --codec-auth can carry: a
	// decode needs <Namespace>:read, an encode <Namespace>:write.
	People    *auth.Verifier
	Namespace string
	// Audit records every decode and encode, and who asked; a request whose
	// record cannot be kept is refused (nil: none kept, development only).
	Audit *audit.Log
	Log   *slog.Logger
}

// open reports whether the endpoint decrypts for anyone (development).
func (a Access) open() bool { return a.ReadToken == "" && a.WriteToken == "" && a.People == nil }

// Handler serves Temporal's remote codec protocol (POST …/encode and
// …/decode, with or without a namespace in the path) for the Web UI and
// `temporal --codec-endpoint`. With access set, a decode needs a reader's
// bearer token and an encode a writer's; everyone else keeps seeing
// ciphertext and cannot write a payload the workflows believe. Browsers
// from origins are allowed cross-origin, with the headers the Web UI sends.
func Handler(c *Codec, access Access, origins []string) http.Handler {
	if access.Log == nil {
		access.Log = slog.New(slog.DiscardHandler)
	}
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
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Authorization-Extras, X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		encode := strings.HasSuffix(r.URL.Path, "/encode")
		if !encode && !strings.HasSuffix(r.URL.Path, "/decode") {
			writeError(w, http.StatusNotFound, "the codec endpoint serves …/encode and …/decode")
			return
		}
		who, status, answer := access.who(r, encode)
		if status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge codec"`)
			}
			access.record(r, who, encode, nil, "denied")
			writeError(w, status, answer)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, handlerBodyLimit)
		body, workflows, err := readPayloads(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := access.record(r, who, encode, workflows, "ok"); err != nil {
			access.Log.Error("codec: the audit trail refused a record; the request is refused", slog.String("error", err.Error()))
			writeError(w, http.StatusServiceUnavailable, "the access could not be audited; try again")
			return
		}
		r.Body = body
		inner.ServeHTTP(w, r)
	})
}

// who is the caller's principal, or the status and message that refuse r.
func (a Access) who(r *http.Request, encode bool) (string, int, string) {
	if a.open() {
		return "anonymous", 0, ""
	}
	token, ok := auth.FromRequest(r)
	if !ok {
		return "", http.StatusUnauthorized, "a bearer token is required"
	}
	writer := a.WriteToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.WriteToken)) == 1
	reader := a.ReadToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.ReadToken)) == 1
	switch {
	case writer:
		return "codec-write-token", 0, ""
	case reader && encode:
		return "codec-read-token", http.StatusForbidden, "encoding needs the codec's write token"
	case reader:
		return "codec-read-token", 0, ""
	case a.People == nil:
		return "", http.StatusUnauthorized, "a codec bearer token is required"
	}
	need, verb := auth.RoleRead, "decoding"
	if encode {
		need, verb = auth.RoleWrite, "encoding"
	}
	p, refusal := a.People.Check(r, a.Namespace, need)
	if refusal != nil {
		return p.Subject, refusal.Status, verb + ": " + refusal.Message
	}
	return p.Subject, 0, ""
}

// record appends the request to the audit trail, before it is served: who
// asked to decode or encode, for which workflows (the ids the payloads name,
// workflowid.go).
func (a Access) record(r *http.Request, who string, encode bool, workflows []string, outcome string) error {
	if a.Audit == nil {
		return nil
	}
	action := "payload.decode"
	if encode {
		action = "payload.encode"
	}
	e := audit.Entry{Principal: orAnonymous(who), Via: "codec", Action: action, Outcome: outcome}
	if len(workflows) == 1 {
		e.WorkflowID = workflows[0]
	} else if len(workflows) > 1 {
		e.Detail = fmt.Sprintf("%d workflows", len(workflows))
	}
	_, err := a.Audit.Append(r.Context(), e)
	if err != nil && outcome != "ok" {
		a.Log.Error("codec: the audit trail refused the record of a refusal", slog.String("error", err.Error()))
		return nil
	}
	return err
}

func orAnonymous(who string) string {
	if who == "" {
		return "anonymous"
	}
	return who
}

// readPayloads reads the request's payloads (the remote codec's JSON) and
// the workflow ids their metadata names, and gives the body back for the
// SDK's handler to read again.
func readPayloads(r *http.Request) (io.ReadCloser, []string, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, fmt.Errorf("the request is larger than %d bytes", handlerBodyLimit)
		}
		return nil, nil, errors.New("the body is not the remote codec's JSON: {\"payloads\": [...]}")
	}
	var in struct {
		Payloads []json.RawMessage `json:"payloads"`
	}
	_ = json.Unmarshal(raw, &in)
	seen := map[string]bool{}
	var ids []string
	for _, pj := range in.Payloads {
		var p commonpb.Payload
		if err := protojson.Unmarshal(pj, &p); err != nil {
			continue // the SDK's handler answers a malformed payload
		}
		if id := string(p.GetMetadata()[metadataWorkflowID]); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return io.NopCloser(bytes.NewReader(raw)), ids, nil
}

// writeError answers with carebridge's JSON error shape.
func writeError(w http.ResponseWriter, status int, message string) {
	codes := map[int]string{http.StatusUnauthorized: "unauthorized", http.StatusForbidden: "forbidden", http.StatusNotFound: "not_found",
		http.StatusBadRequest: "invalid_request", http.StatusServiceUnavailable: "unavailable"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": codes[status], "message": message}})
}
