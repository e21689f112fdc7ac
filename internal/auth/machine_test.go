package auth

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// tokenEndpoint is a provider's token endpoint, over TLS, for the client
// "worker" with the secret "s3cret": it checks each request as a client
// credentials grant and answers tokens "tok-1", "tok-2", … valid for
// expiresIn seconds.
type tokenEndpoint struct {
	srv       *httptest.Server
	calls     atomic.Int32
	expiresIn int
	audience  string // the resource and audience it expects; "" for none
	refuse    bool   // answer invalid_client
}

func newTokenEndpoint(t *testing.T, expiresIn int, audience string) *tokenEndpoint {
	e := &tokenEndpoint{expiresIn: expiresIn, audience: audience}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/token" {
			t.Errorf("%s %s, want POST /token", r.Method, r.URL.Path)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		id, secret, basic := r.BasicAuth()
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if e.refuse || id != "worker" || secret != "s3cret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		want := url.Values{"grant_type": {"client_credentials"}, "scope": {"temporal.api offline"}}
		if e.audience != "" {
			want["resource"], want["audience"] = []string{e.audience}, []string{e.audience}
		}
		if !basic {
			want["client_id"], want["client_secret"] = []string{id}, []string{secret}
		}
		if !maps.EqualFunc(r.PostForm, want, slices.Equal) {
			t.Errorf("form %v, want %v", r.PostForm, want)
		}
		writeJSON(w, map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": e.expiresIn})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) credentials() ClientCredentials {
	return ClientCredentials{
		TokenURL:     e.srv.URL + "/token",
		ClientID:     "worker",
		ClientSecret: "s3cret",
		Audience:     e.audience,
		Scopes:       []string{"temporal.api", "offline"},
		HTTPClient:   e.srv.Client(),
	}
}

func TestTokenSourceReusesToken(t *testing.T) {
	for _, audience := range []string{"temporal", ""} {
		e := newTokenEndpoint(t, 3600, audience)
		ts := e.credentials().TokenSource(context.Background())
		for range 2 {
			tok, err := ts.Token()
			if err != nil {
				t.Fatalf("audience %q: Token: %v", audience, err)
			}
			if tok.AccessToken != "tok-1" || tok.Type() != "Bearer" {
				t.Errorf("audience %q: token %q (%s), want tok-1 (Bearer)", audience, tok.AccessToken, tok.Type())
			}
		}
		if n := e.calls.Load(); n != 1 {
			t.Errorf("audience %q: %d token requests for two Token calls, want 1", audience, n)
		}
	}
}

// TestTokenSourceRefreshesEarly: a token within refreshMargin of its expiry
// is not handed out again.
func TestTokenSourceRefreshesEarly(t *testing.T) {
	e := newTokenEndpoint(t, int((refreshMargin - 10*time.Second).Seconds()), "temporal")
	ts := e.credentials().TokenSource(context.Background())
	for _, want := range []string{"tok-1", "tok-2"} {
		tok, err := ts.Token()
		if err != nil || tok.AccessToken != want {
			t.Fatalf("Token = %v, %v; want %s", tok, err, want)
		}
	}
}

// temporalFrontend is a gRPC server that records the authorization metadata
// of each call and answers it Unimplemented, which the SDK's client takes as
// an old server when it asks for the system's capabilities.
func temporalFrontend(t *testing.T) (string, <-chan []string) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan []string, 16)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		seen <- md.Get("authorization")
		return status.Error(codes.Unimplemented, "unknown method")
	}))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), seen
}

func dialTemporal(ctx context.Context, hostPort string, creds client.Credentials) (client.Client, error) {
	return client.DialContext(ctx, client.Options{
		HostPort:          hostPort,
		Credentials:       creds,
		ConnectionOptions: client.ConnectionOptions{TLSDisabled: true}, // the test's server is plain
		Logger:            log.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
}

func TestTemporalCredentials(t *testing.T) {
	e := newTokenEndpoint(t, 3600, "temporal")
	hostPort, seen := temporalFrontend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialTemporal(ctx, hostPort, e.credentials().TemporalCredentials(ctx))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
	select {
	case got := <-seen:
		if len(got) != 1 || got[0] != "Bearer tok-1" {
			t.Errorf("authorization %q, want [\"Bearer tok-1\"]", got)
		}
	default:
		t.Fatal("the server saw no call")
	}
}

// TestTemporalCredentialsNoToken: when the provider gives no token the call
// fails with its answer, and nothing reaches Temporal without credentials.
func TestTemporalCredentialsNoToken(t *testing.T) {
	e := newTokenEndpoint(t, 3600, "temporal")
	e.refuse = true
	hostPort, seen := temporalFrontend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialTemporal(ctx, hostPort, e.credentials().TemporalCredentials(ctx))
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded without a token")
	}
	if !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Dial: %v; want the provider's invalid_client, and no secret", err)
	}
	if len(seen) != 0 {
		t.Errorf("%d calls reached the server", len(seen))
	}
}
