package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
)

// baseline is the design of alleviate-send.txt, as a plain HTTP handler:
// three calls in a row, a new token for every request, nothing durable. It
// uses the same clients as carebridge, so the comparison is of designs.
type baseline struct {
	activepieces *activepieces.Client
	realtime     *realtime.Client
	alleviate    *alleviate.Client
}

func (b *baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var lead struct {
		FormName string `json:"form_name"`
		Phone    string `json:"phone"`
		Name     string `json:"name"`
		Email    string `json:"email"`
		Instance string `json:"instance_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&lead); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	token, err := b.activepieces.FetchToken(r.Context())
	if err != nil {
		http.Error(w, "activepieces failed", http.StatusBadGateway)
		return
	}
	subjects, err := b.realtime.FindSubjects(r.Context(), token.Value, lead.Instance, lead.Email)
	if err != nil {
		http.Error(w, "realtime failed", http.StatusBadGateway)
		return
	}
	if len(subjects) == 0 {
		http.Error(w, "patient not found", http.StatusNotFound)
		return
	}
	answer, err := b.alleviate.PostLead(r.Context(), alleviate.Lead{
		FormName: lead.FormName, Phone: lead.Phone, Name: lead.Name, PatientID: subjects[0].SubjectID, Email: lead.Email,
	})
	if err != nil {
		http.Error(w, "alleviate failed", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", answer.ContentType)
	w.WriteHeader(answer.StatusCode)
	_, _ = io.WriteString(w, answer.Body)
}

// baselineEnv, set in a program's environment, makes MaybeServeBaseline
// serve the baseline instead: the benchmark runs it as a process of its own
// so that its CPU is measured apart from the load generator's.
const baselineEnv = "CAREBRIDGE_BENCH_BASELINE"

// MaybeServeBaseline serves the baseline and never returns when the
// program was started as the benchmark's baseline (cmd/bench and the
// package's tests call it first); otherwise it returns at once.
func MaybeServeBaseline() {
	if os.Getenv(baselineEnv) == "" {
		return
	}
	b := &baseline{
		activepieces: activepieces.New(activepieces.Config{WebhookURL: os.Getenv("ACTIVEPIECES_WEBHOOK_URL")}),
		realtime:     realtime.New(realtime.Config{BaseURL: os.Getenv("REALTIME_BASE_URL")}),
		alleviate:    alleviate.New(alleviate.Config{BaseURL: os.Getenv("ALLEVIATE_BASE_URL"), APIKey: os.Getenv("ALLEVIATE_API_KEY")}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
	os.Exit(1)
}

// startBaseline runs this program again as the baseline, against the
// upstreams in env, and returns its process and URL.
func startBaseline(env map[string]string) (*exec.Cmd, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), baselineEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("the baseline did not start: %w", err)
	}
	return cmd, "http://" + strings.TrimSpace(addr), nil
}
