// Package identity runs a real OpenID Connect provider for tests and local
// development: dev/oidc, a small wrapper around the OpenID-certified
// oidc-provider for Node.js, on a loopback port.
//
// Every access token it issues is an RS256 JWT for Options.Audience with a
// "permissions" claim in Temporal's form ("default:read", "default:write",
// "temporal-system:admin"): a client's own Permissions for client_credentials
// tokens (whose sub is the client ID), the signed-in user's Permissions for
// tokens got by the authorization-code flow (whose sub is the login name).
//
// People sign in with oidc-provider's development login form: the login name
// picks the user in Options.Users (the password is ignored), consent is given
// on their behalf. A login name not in Users is refused at the form: the
// flow ends at the client's redirect URI with error=access_denied.
//
// Start needs node on PATH, and npm the first time (it runs `npm ci` in
// dev/oidc when its node_modules is missing or stale).
package identity

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// User is a person who can sign in, by the login name that keys
// Options.Users.
type User struct {
	Name        string   // display name, the ID token's "name" (the login name when empty)
	Permissions []string // the "permissions" claim of their access tokens
}

// Client is an OAuth client of the provider. With RedirectURIs it is a
// confidential authorization-code client (grant types authorization_code and
// refresh_token; like Temporal's UI server, it need not use PKCE); without,
// a client_credentials client whose tokens carry Permissions.
type Client struct {
	ID, Secret   string
	Permissions  []string
	RedirectURIs []string
}

// Options configures Start.
type Options struct {
	// Dir is where the provider's config (with its private signing key and
	// client secrets), and its log go: a test's TempDir. Empty: a new
	// temporary directory, removed by Stop.
	Dir string
	// Audience is the "aud" of every access token. Required.
	Audience string
	// TLSCertFile and TLSKeyFile (PEM), when set, make the provider serve
	// HTTPS; the issuer is then https://127.0.0.1:PORT.
	TLSCertFile, TLSKeyFile string
	// CAFile (PEM) is what HTTPClient trusts for the provider's certificate,
	// on top of the system's roots. Empty with TLS: TLSCertFile itself.
	CAFile string
	// Users are the people who can sign in, by login name.
	Users map[string]User
	// Clients are the OAuth clients. At least one.
	Clients []Client
	// Log gets the provider's output (nil: discarded). It also goes to
	// Dir/oidc-provider.log.
	Log io.Writer

	// AccessTokenTTL is how long access tokens live (zero: 10 minutes).
	AccessTokenTTL time.Duration
	// Port is the loopback port to listen on (zero: a free one below 32768).
	Port int
	// ProviderDir is dev/oidc (empty: found from this package's source file
	// or by walking up from the working directory to the module root).
	ProviderDir string
}

// readyTimeout bounds how long Start waits for a started provider to answer
// its discovery document.
const readyTimeout = 60 * time.Second

// ephemeralPorts is where Linux's default ephemeral port range begins; ports
// picked below it are not handed out to outgoing connections in the
// meantime.
const ephemeralPorts = 32768

// Provider is a running OpenID Connect provider.
type Provider struct {
	opts     Options
	dir      string
	tempDir  bool
	issuer   string
	resource string
	disc     discovery
	key      jose.JSONWebKey // private, with KeyID
	clients  map[string]Client
	http     *http.Client
	logFile  *os.File

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	tail  *tailBuffer

	stopOnce sync.Once
}

type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// providerConfig is what dev/oidc/provider.mjs reads.
type providerConfig struct {
	Issuer           string                  `json:"issuer"`
	Port             int                     `json:"port"`
	Host             string                  `json:"host"`
	TLS              *providerTLS            `json:"tls,omitempty"`
	JWKS             map[string]any          `json:"jwks"`
	Audience         string                  `json:"audience"`
	Resource         string                  `json:"resource"`
	AccessTokenTTL   int                     `json:"accessTokenTTL"`
	Clients          []providerClient        `json:"clients"`
	Users            map[string]providerUser `json:"users"`
	ExitOnStdinClose bool                    `json:"exitOnStdinClose"`
	CookieKeys       []string                `json:"cookieKeys"`
}

type providerTLS struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

type providerClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	Permissions  []string `json:"permissions"`
}

type providerUser struct {
	Name        string   `json:"name,omitempty"`
	Permissions []string `json:"permissions"`
}

// Start runs the provider and returns once it answers its discovery
// document. ctx bounds the start (npm ci included), not the provider's life:
// Stop ends it (and it ends by itself when this process does).
func Start(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Audience == "" {
		return nil, errors.New("identity: Options.Audience is required")
	}
	if len(opts.Clients) == 0 {
		return nil, errors.New("identity: Options.Clients lists no client")
	}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("identity: set both TLSCertFile and TLSKeyFile, or neither")
	}
	clients := make(map[string]Client, len(opts.Clients))
	for _, c := range opts.Clients {
		if c.ID == "" || c.Secret == "" {
			return nil, fmt.Errorf("identity: client %q needs an ID and a Secret", c.ID)
		}
		if _, dup := clients[c.ID]; dup {
			return nil, fmt.Errorf("identity: client %q is listed twice", c.ID)
		}
		clients[c.ID] = c
	}

	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("identity: node (Node.js 20 or later) is not on PATH; it runs the OIDC provider in dev/oidc")
	}
	provDir := opts.ProviderDir
	if provDir == "" {
		if provDir, err = findProviderDir(); err != nil {
			return nil, err
		}
	}
	if err := ensureModules(ctx, provDir, opts.Log); err != nil {
		return nil, err
	}

	p := &Provider{opts: opts, dir: opts.Dir, clients: clients}
	if p.dir == "" {
		if p.dir, err = os.MkdirTemp("", "carebridge-oidc-"); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		p.tempDir = true
	} else if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	started := false
	defer func() {
		if !started {
			p.cleanup()
		}
	}()

	if p.http, err = newHTTPClient(opts); err != nil {
		return nil, err
	}
	if p.key, err = newSigningKey(); err != nil {
		return nil, err
	}
	if p.logFile, err = os.OpenFile(filepath.Join(p.dir, "oidc-provider.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}

	// The port is free when picked, not when node binds it: on the rare
	// race, pick another.
	for attempt := 1; ; attempt++ {
		err = p.start(ctx, node, provDir)
		if err == nil {
			break
		}
		if opts.Port != 0 || attempt == 3 || !strings.Contains(p.tail.String(), "EADDRINUSE") {
			return nil, err
		}
	}
	started = true
	return p, nil
}

func (p *Provider) start(ctx context.Context, node, provDir string) error {
	port := p.opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	scheme := "http"
	if p.opts.TLSCertFile != "" {
		scheme = "https"
	}
	p.issuer = fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
	p.resource = resourceFor(p.opts.Audience)

	cfgPath, err := p.writeConfig(port)
	if err != nil {
		return err
	}

	p.tail = &tailBuffer{max: 16 << 10}
	out := io.MultiWriter(p.logFile, p.tail)
	if p.opts.Log != nil {
		out = io.MultiWriter(p.logFile, p.tail, p.opts.Log)
	}
	cmd := exec.Command(node, filepath.Join(provDir, "provider.mjs"), cfgPath)
	cmd.Dir = provDir
	cmd.Stdout = out
	cmd.Stderr = out
	stdin, err := cmd.StdinPipe() // closed when this process ends: the provider then exits
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("identity: starting node: %w", err)
	}
	p.cmd, p.stdin, p.done = cmd, stdin, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	if err := p.waitReady(ctx); err != nil {
		p.kill()
		return err
	}
	return nil
}

func (p *Provider) writeConfig(port int) (string, error) {
	jwk, err := json.Marshal(p.key)
	if err != nil {
		return "", fmt.Errorf("identity: encoding the signing key: %w", err)
	}
	var key map[string]any
	if err := json.Unmarshal(jwk, &key); err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	ttl := int(p.opts.AccessTokenTTL / time.Second)
	if ttl <= 0 {
		ttl = 600
	}
	cookieKey := make([]byte, 32)
	_, _ = rand.Read(cookieKey)
	cfg := providerConfig{
		Issuer:           p.issuer,
		Port:             port,
		Host:             "127.0.0.1",
		JWKS:             map[string]any{"keys": []any{key}},
		Audience:         p.opts.Audience,
		Resource:         p.resource,
		AccessTokenTTL:   ttl,
		Users:            map[string]providerUser{},
		ExitOnStdinClose: true,
		CookieKeys:       []string{base64.RawURLEncoding.EncodeToString(cookieKey)},
	}
	if p.opts.TLSCertFile != "" {
		cert, err1 := filepath.Abs(p.opts.TLSCertFile)
		key, err2 := filepath.Abs(p.opts.TLSKeyFile)
		if err := errors.Join(err1, err2); err != nil {
			return "", fmt.Errorf("identity: %w", err)
		}
		cfg.TLS = &providerTLS{Cert: cert, Key: key}
	}
	for _, c := range p.opts.Clients {
		pc := providerClient{ClientID: c.ID, ClientSecret: c.Secret, Permissions: nonNil(c.Permissions)}
		if len(c.RedirectURIs) > 0 {
			pc.GrantTypes = []string{"authorization_code", "refresh_token"}
			pc.RedirectURIs = c.RedirectURIs
		} else {
			pc.GrantTypes = []string{"client_credentials"}
		}
		cfg.Clients = append(cfg.Clients, pc)
	}
	for login, u := range p.opts.Users {
		cfg.Users[login] = providerUser{Name: u.Name, Permissions: nonNil(u.Permissions)}
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	path := filepath.Join(p.dir, "oidc-provider.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	return path, nil
}

// waitReady polls the discovery document until it answers 200, the process
// exits, ctx ends or readyTimeout passes.
func (p *Provider) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	where := p.issuer + "/.well-known/openid-configuration"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		d, err := p.fetchDiscovery(ctx, where)
		if err == nil {
			if d.Issuer != p.issuer {
				return fmt.Errorf("identity: provider says its issuer is %q, expected %q", d.Issuer, p.issuer)
			}
			p.disc = d
			return nil
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("identity: the OIDC provider exited at start (%v); its output:\n%s", p.cmd.ProcessState, p.tail.String())
		case <-ctx.Done():
			return fmt.Errorf("identity: the OIDC provider did not answer %s in time (%v; last: %v); its output:\n%s", where, ctx.Err(), last, p.tail.String())
		case <-tick.C:
		}
	}
}

func (p *Provider) fetchDiscovery(ctx context.Context, where string) (discovery, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d discovery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return d, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("%s: %s", where, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return d, fmt.Errorf("%s: %w", where, err)
	}
	return d, nil
}

// Issuer is the provider's issuer URL, http(s)://127.0.0.1:PORT.
func (p *Provider) Issuer() string { return p.issuer }

// JWKSURL is where the provider publishes its public signing keys.
func (p *Provider) JWKSURL() string { return p.disc.JWKSURI }

// TokenURL is the provider's token endpoint.
func (p *Provider) TokenURL() string { return p.disc.TokenEndpoint }

// AuthURL is the provider's authorization endpoint.
func (p *Provider) AuthURL() string { return p.disc.AuthorizationEndpoint }

// Resource is the resource indicator (RFC 8707) that stands for the audience:
// the audience itself when it is an absolute URI, else
// "urn:audience:<audience>". Requests that send none get it too.
func (p *Provider) Resource() string { return p.resource }

// KeyID is the kid of the provider's signing key.
func (p *Provider) KeyID() string { return p.key.KeyID }

// Dir is where the provider's config and log are.
func (p *Provider) Dir() string { return p.dir }

// HTTPClient is an HTTP client that trusts the provider's TLS certificate
// (Options.CAFile) when it serves HTTPS.
func (p *Provider) HTTPClient() *http.Client { return p.http }

// Mint signs claims, exactly as given (no defaults are added), as a JWT with
// the provider's own key and kid: for tokens the provider would not issue,
// such as expired ones.
func (p *Provider) Mint(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("identity: mint: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return "", fmt.Errorf("identity: mint: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("identity: mint: %w", err)
	}
	return jws.CompactSerialize()
}

// Stop kills the provider and waits for it to exit. It is safe to call more
// than once.
func (p *Provider) Stop() {
	p.stopOnce.Do(p.cleanup)
}

func (p *Provider) cleanup() {
	p.kill()
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
	if p.tempDir {
		_ = os.RemoveAll(p.dir)
	}
}

func (p *Provider) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.stdin.Close()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// resourceFor is the resource indicator for audience, given to provider.mjs
// (oidc-provider accepts only absolute URIs there).
func resourceFor(audience string) string {
	if u, err := url.Parse(audience); err == nil && u.Scheme != "" && u.Opaque+u.Host+u.Path != "" {
		return audience
	}
	return "urn:audience:" + audience
}

// newSigningKey is a fresh RSA-2048 key with its RFC 7638 thumbprint as kid.
func newSigningKey() (jose.JSONWebKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("identity: generating the signing key: %w", err)
	}
	key := jose.JSONWebKey{Key: priv, Algorithm: string(jose.RS256), Use: "sig"}
	pub := key.Public()
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("identity: %w", err)
	}
	key.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	return key, nil
}

func newHTTPClient(opts Options) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	caFile := opts.CAFile
	if caFile == "" {
		caFile = opts.TLSCertFile
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("identity: reading the CA: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("identity: %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// freePort is a loopback port free now, below the kernel's ephemeral range.
func freePort() (int, error) {
	for range 200 {
		n, err := rand.Int(rand.Reader, big.NewInt(ephemeralPorts-20000))
		if err != nil {
			return 0, err
		}
		port := 20000 + int(n.Int64())
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = ln.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("identity: no free loopback port below %d", ephemeralPorts)
}

// findProviderDir finds dev/oidc beside this package's source, else by
// walking up from the working directory to the module's go.mod.
func findProviderDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "oidc")
		if isProviderDir(dir) {
			return filepath.Clean(dir), nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(data, []byte("module github.com/carebridge/carebridge\n")) {
			if d := filepath.Join(dir, "dev", "oidc"); isProviderDir(d) {
				return d, nil
			}
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", fmt.Errorf("identity: cannot find dev/oidc/provider.mjs from %s; set Options.ProviderDir", wd)
}

func isProviderDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "provider.mjs"))
	return err == nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
