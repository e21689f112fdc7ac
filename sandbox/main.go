// Command sandbox serves local stand-ins for every upstream carebridge calls,
// behaving as their documents say, failures included, so that carebridge
// runs and is tested with no network and no credentials.
//
// One listener, one path prefix per upstream:
//
//	/activepieces/api/v1/webhooks/{flowId}/sync   Activepieces sync webhook
//	/realtime/api/v2/subjects                     Realtime CTMS
//	/alleviate/participant-by-form-name           Alleviate
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
	"strings"
	"time"

	"github.com/carebridge/carebridge/clients/activepieces/activepiecestest"
	"github.com/carebridge/carebridge/clients/alleviate/alleviatetest"
	"github.com/carebridge/carebridge/clients/realtime/realtimetest"
	"github.com/carebridge/carebridge/internal/config"
)

// The sandbox's credentials; the sandbox is local and holds no real data.
const (
	defaultAlleviateKey = "sandbox-alleviate-key"
	flowID              = "sandbox-flow"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address (port 0 picks a free port)")
	tokenTTL := flag.Duration("token-ttl", 10*time.Minute, "lifetime of the JWTs the Activepieces fake issues")
	latency := flag.Duration("latency", 0, "delay added to every upstream answer")
	alleviateKey := flag.String("alleviate-key", defaultAlleviateKey, "the X-API-Key the Alleviate fake accepts")
	flag.Parse()
	logger := config.Logger("sandbox")

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ap := activepiecestest.New(key, *tokenTTL)
	rt := realtimetest.New(ap.Valid, realtimetest.Seed)
	al := alleviatetest.New(*alleviateKey)

	mux := http.NewServeMux()
	mount := func(prefix string, h interface {
		http.Handler
		SetLatency(time.Duration)
	}) {
		h.SetLatency(*latency)
		mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	}
	mount("/activepieces", ap)
	mount("/realtime", rt)
	mount("/alleviate", al)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		config.Exit("sandbox", err)
	}
	base := "http://" + ln.Addr().String()
	// The lines a worker needs, on stdout, for scripts to read.
	fmt.Println(strings.Join([]string{
		"ACTIVEPIECES_WEBHOOK_URL=" + base + "/activepieces/api/v1/webhooks/" + flowID + "/sync",
		"REALTIME_BASE_URL=" + base + "/realtime",
		"ALLEVIATE_BASE_URL=" + base + "/alleviate",
		"ALLEVIATE_API_KEY=" + *alleviateKey,
	}, "\n"))
	logger.Info("sandbox listening", slog.String("addr", ln.Addr().String()))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}
