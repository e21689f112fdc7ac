package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"
)

// Production is the default. A program started without what production
// needs (credentials for the starter's API and codec endpoint, TLS on its
// listeners or the statement that a proxy in front terminates it, TLS to
// Temporal) stops at start, naming all of it in its one line. Only
// CAREBRIDGE_DEV=true lets a program run open and in plain HTTP, and then
// on loopback only. A plaintext connection to a Temporal that is not on
// loopback is refused in either mode.

// TLSTerminatedByProxy is CAREBRIDGE_TLS_TERMINATED's one value.
const TLSTerminatedByProxy = "proxy"

// TemporalPlaintextLoopback is CAREBRIDGE_TEMPORAL_PLAINTEXT's one value.
const TemporalPlaintextLoopback = "loopback"

// devHint ends the line of a program that lacks what production needs.
const devHint = "or CAREBRIDGE_DEV=true, to develop on loopback"

// What production needs, in the order a program names them.
const (
	needAPIKeys = iota
	needCodecToken
	needListenerTLS
	needTemporalTLS
	needAuditDir
)

var needText = map[int]string{
	needAPIKeys:     "CAREBRIDGE_API_KEYS or CAREBRIDGE_OIDC_ISSUER (or the deprecated CAREBRIDGE_API_TOKENS)",
	needCodecToken:  "CAREBRIDGE_CODEC_AUTH_TOKEN or CAREBRIDGE_OIDC_ISSUER",
	needAuditDir:    "CAREBRIDGE_AUDIT_DIR (the audit trail)",
	needListenerTLS: "CAREBRIDGE_TLS_CERT_FILE and CAREBRIDGE_TLS_KEY_FILE (or CAREBRIDGE_TLS_TERMINATED=proxy)",
	needTemporalTLS: "TLS to Temporal (TEMPORAL_TLS=true, or TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS; " +
		"or CAREBRIDGE_TEMPORAL_PLAINTEXT=loopback for a Temporal on this host's loopback)",
}

// need records what production lacks (Err names it, once).
func (e *Env) need(what int) {
	if !slices.Contains(e.needs, what) {
		e.needs = append(e.needs, what)
	}
}

// needsLine is the part of Err's line that says what production needs.
func (e *Env) needsLine() string {
	if len(e.needs) == 0 {
		return ""
	}
	needs := slices.Sorted(slices.Values(e.needs))
	texts := make([]string, len(needs))
	for i, n := range needs {
		texts[i] = needText[n]
	}
	list := texts[0]
	if len(texts) > 1 {
		list = strings.Join(texts[:len(texts)-1], ", ") + ", and " + texts[len(texts)-1]
	}
	return "production mode (the default) needs " + list + "; " + devHint
}

// Dev reports CAREBRIDGE_DEV: development mode.
func (e *Env) Dev() bool {
	if e.dev == nil {
		dev := e.Bool("CAREBRIDGE_DEV", false)
		e.dev = &dev
	}
	return *e.dev
}

// Mode names the mode in a program's start line.
func Mode(dev bool) string {
	if dev {
		return "development"
	}
	return "production"
}

// ListenerTLS is how a program's listeners speak TLS.
type ListenerTLS struct {
	// CertFile and KeyFile are the certificate (its chain after it) and
	// key, PEM; empty: the listeners speak plain HTTP.
	CertFile, KeyFile string
	// Terminated is "proxy" when a proxy in front terminates TLS: the
	// listeners speak plain HTTP, and production accepts it.
	Terminated string
}

// On reports whether the listeners serve TLS themselves.
func (t ListenerTLS) On() bool { return t.CertFile != "" && t.KeyFile != "" }

// String names it in a program's start line.
func (t ListenerTLS) String() string {
	switch {
	case t.On():
		return "on"
	case t.Terminated != "":
		return "terminated by a " + t.Terminated
	}
	return "off"
}

// ServerConfig is the listeners' tls.Config, with the certificate reloaded
// when its files change (reloads logged to log), or nil when the listeners
// speak plain HTTP.
func (t ListenerTLS) ServerConfig(log *slog.Logger) (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	cert, err := LoadCertificate(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	cert.SetLogger(log)
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.GetCertificate}, nil
}

// listenerTLS reads CAREBRIDGE_TLS_CERT_FILE, CAREBRIDGE_TLS_KEY_FILE and
// CAREBRIDGE_TLS_TERMINATED, and loads the pair once, so that a wrong path
// or a key that is not the certificate's stops the program at start.
func (e *Env) listenerTLS() ListenerTLS {
	t := ListenerTLS{
		CertFile:   e.String("CAREBRIDGE_TLS_CERT_FILE", ""),
		KeyFile:    e.String("CAREBRIDGE_TLS_KEY_FILE", ""),
		Terminated: e.String("CAREBRIDGE_TLS_TERMINATED", ""),
	}
	switch {
	case (t.CertFile == "") != (t.KeyFile == ""):
		e.problems = append(e.problems, "CAREBRIDGE_TLS_CERT_FILE and CAREBRIDGE_TLS_KEY_FILE go together: set both")
	case t.On():
		if _, err := LoadCertificate(t.CertFile, t.KeyFile); err != nil {
			e.problems = append(e.problems, "CAREBRIDGE_TLS_CERT_FILE, CAREBRIDGE_TLS_KEY_FILE: "+err.Error())
		}
	}
	switch {
	case t.Terminated != "" && t.Terminated != TLSTerminatedByProxy:
		e.problems = append(e.problems, fmt.Sprintf("CAREBRIDGE_TLS_TERMINATED=%q: the one value is %s (a proxy in front terminates TLS)",
			t.Terminated, TLSTerminatedByProxy))
	case t.Terminated != "" && t.On():
		e.problems = append(e.problems, "CAREBRIDGE_TLS_TERMINATED is set beside CAREBRIDGE_TLS_CERT_FILE: say one, the listeners serve TLS or a proxy does")
	}
	return t
}

// checkListeners applies the mode to a program's listeners (name: address):
// in development each must be on loopback; in production they need TLS, or
// the statement that a proxy terminates it.
func (e *Env) checkListeners(t ListenerTLS, listeners [][2]string) {
	if !e.Dev() {
		if !t.On() && t.Terminated == "" {
			e.need(needListenerTLS)
		}
		return
	}
	for _, l := range listeners {
		if !IsLoopback(l[1]) {
			e.problems = append(e.problems, fmt.Sprintf("%s=%s: development mode (CAREBRIDGE_DEV=true) listens on loopback only: use %s",
				l[0], l[1], loopbackOf(l[1])))
		}
	}
}

// checkTemporal refuses a plaintext connection to a Temporal that is not on
// loopback (in either mode), and in production a plaintext one at all unless
// CAREBRIDGE_TEMPORAL_PLAINTEXT=loopback says Temporal is this host's; and in
// production, TLS that verifies no server.
func (e *Env) checkTemporal(opts client.Options) {
	plaintext := e.String("CAREBRIDGE_TEMPORAL_PLAINTEXT", "")
	if plaintext != "" && plaintext != TemporalPlaintextLoopback {
		e.problems = append(e.problems, fmt.Sprintf("CAREBRIDGE_TEMPORAL_PLAINTEXT=%q: the one value is %s",
			plaintext, TemporalPlaintextLoopback))
	}
	conn := opts.ConnectionOptions
	switch {
	case conn.TLS != nil && !conn.TLSDisabled:
		if conn.TLS.InsecureSkipVerify && !e.Dev() {
			e.problems = append(e.problems, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=true accepts any server's certificate: "+
				"give Temporal's CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH) and name (TEMPORAL_TLS_SERVER_NAME) instead")
		}
	case !IsLoopback(opts.HostPort):
		e.problems = append(e.problems, fmt.Sprintf("Temporal at %s is not on loopback and would be reached without TLS: "+
			"set TEMPORAL_TLS=true, with TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS "+
			"(TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)", opts.HostPort))
	case !e.Dev() && plaintext != TemporalPlaintextLoopback:
		e.need(needTemporalTLS)
	}
}

// IsLoopback reports whether a host:port names this machine's loopback
// ("127.0.0.1:8080", "[::1]:8080", "localhost:8080"); ":8080" and
// "0.0.0.0:8080" are every interface, not loopback.
func IsLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(hostPort, "dns:///"))
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOf is addr moved to loopback, for a message.
func loopbackOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "127.0.0.1:<port>"
	}
	return net.JoinHostPort("127.0.0.1", port)
}
