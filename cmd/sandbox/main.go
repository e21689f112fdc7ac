// Command sandbox stands in for every upstream carebridge talks to, behaving
// as their documents say, failures included, so that carebridge runs and is
// tested with no network and no credentials.
//
//	sandbox [-addr 127.0.0.1:8099]   serve the upstreams (below)
//	sandbox send-case [flags]        play CareValidate: a scripted case's life
//	sandbox send-example [flags]     play CareValidate: the reference's example event
//
// One listener, one path prefix per upstream:
//
//	/activepieces/api/v1/webhooks/{flowId}/sync   Activepieces sync webhook
//	/realtime/api/v2/subjects                     Realtime CTMS
//	/alleviate/participant-by-form-name           Alleviate
//	/akute/v1/...                                 Akute (and its signed webhooks to the starter)
//
// and under each prefix the fault and recording controls of internal/fake
// (for example POST /alleviate/_sandbox/faults {"status":503,"times":2}).
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/carebridge/carebridge/fakes/activepiecestest"
	"github.com/carebridge/carebridge/fakes/akutetest"
	"github.com/carebridge/carebridge/fakes/alleviatetest"
	"github.com/carebridge/carebridge/fakes/realtimetest"
	"github.com/carebridge/carebridge/internal/config"
)

// The sandbox's credentials; the sandbox is local and holds no real data.
const (
	defaultAlleviateKey     = "sandbox-alleviate-key"
	defaultAkuteKey         = "sandbox-akute-key"
	defaultAkuteWebhookKey  = "sandbox-akute-webhook-secret"
	defaultCareValidateHead = "X-CareValidate-Auth"
	defaultCareValidateKey  = "sandbox-carevalidate-secret"
	flowID                  = "sandbox-flow"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "send-case", "send-example":
			os.Exit(send(os.Args[1], os.Args[2:]))
		}
	}
	serve()
}

func serve() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address (port 0 picks a free port)")
	tokenTTL := flag.Duration("token-ttl", 10*time.Minute, "lifetime of the JWTs the Activepieces fake issues")
	latency := flag.Duration("latency", 0, "delay added to every upstream answer")
	alleviateKey := flag.String("alleviate-key", defaultAlleviateKey, "the X-API-Key the Alleviate fake accepts")
	akuteKey := flag.String("akute-key", defaultAkuteKey, "the X-API-Key the Akute fake accepts")
	akuteWebhookURL := flag.String("akute-webhook-url", "http://127.0.0.1:8080/webhooks/akute", "where the Akute fake sends its webhooks (empty: none)")
	akuteWebhookSecret := flag.String("akute-webhook-secret", defaultAkuteWebhookKey, "the secret the Akute fake signs its webhooks with")
	flag.Parse()
	logger := config.Logger("sandbox")

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ap := activepiecestest.New(key, *tokenTTL)
	ak := akutetest.New(*akuteKey)
	ak.EnableWebhooks(*akuteWebhookURL, []byte(*akuteWebhookSecret))
	upstreams := []struct {
		prefix string
		h      interface {
			http.Handler
			SetLatency(time.Duration)
		}
	}{
		{"/activepieces", ap},
		{"/realtime", realtimetest.New(ap.Valid, realtimetest.Seed)},
		{"/alleviate", alleviatetest.New(*alleviateKey)},
		{"/akute/v1", ak},
	}
	mux := http.NewServeMux()
	for _, u := range upstreams {
		u.h.SetLatency(*latency)
		mux.Handle(u.prefix+"/", http.StripPrefix(u.prefix, u.h))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		config.Exit("sandbox", err)
	}
	base := "http://" + ln.Addr().String()
	// What a worker and a starter need, on stdout for scripts, then READY.
	for _, kv := range [][2]string{
		{"ACTIVEPIECES_WEBHOOK_URL", base + "/activepieces/api/v1/webhooks/" + flowID + "/sync"},
		{"REALTIME_BASE_URL", base + "/realtime"},
		{"ALLEVIATE_BASE_URL", base + "/alleviate"},
		{"ALLEVIATE_API_KEY", *alleviateKey},
		{"AKUTE_BASE_URL", base + "/akute/v1"},
		{"AKUTE_API_KEY", *akuteKey},
		{"AKUTE_WEBHOOK_SECRET", *akuteWebhookSecret},
		{"CAREVALIDATE_AUTH_HEADER", defaultCareValidateHead},
		{"CAREVALIDATE_AUTH_SECRET", defaultCareValidateKey},
	} {
		fmt.Printf("%s=%s\n", kv[0], kv[1])
	}
	fmt.Println("READY")
	logger.Info("sandbox listening", slog.String("addr", ln.Addr().String()))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}
