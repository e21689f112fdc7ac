package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Tokens is a token endpoint's answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// TokenError is the token endpoint's refusal (RFC 6749 §5.2), such as
// invalid_client for a wrong secret.
type TokenError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("identity: token endpoint: %d %s: %s", e.Status, e.Code, e.Description)
}

// AuthorizeError is the authorization endpoint's refusal, as sent to the
// client's redirect URI: access_denied for a login name not in Users.
type AuthorizeError struct {
	Code        string
	Description string
}

func (e *AuthorizeError) Error() string {
	return fmt.Sprintf("identity: authorization refused: %s: %s", e.Code, e.Description)
}

// ClientToken gets an access token for a client_credentials client, for the
// audience (resource = Resource()). Its sub is the client ID.
func (p *Provider) ClientToken(ctx context.Context, clientID string) (string, error) {
	c, ok := p.clients[clientID]
	if !ok {
		return "", fmt.Errorf("identity: no client %q", clientID)
	}
	t, err := p.token(ctx, c, url.Values{
		"grant_type": {"client_credentials"},
		"resource":   {p.resource},
	})
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// UserToken gets the access token of the person with this login name by
// the real authorization-code flow of an authorization-code client; see
// UserTokens.
func (p *Provider) UserToken(ctx context.Context, clientID, login string) (string, error) {
	t, err := p.UserTokens(ctx, clientID, login)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// UserTokens signs the person with this login name in by the real
// authorization-code flow, driven over HTTP as a browser would with a
// cookie jar, the way Temporal's UI server starts it (scope "openid profile
// email", no resource, no PKCE): the authorization endpoint, the login form
// (fields prompt=login, login, password; the password is ignored), the
// consent form (prompt=consent), the redirect to the client's first redirect
// URI (read, not followed) and the code's exchange at the token endpoint.
// A login name not in Users ends in an *AuthorizeError (access_denied).
func (p *Provider) UserTokens(ctx context.Context, clientID, login string) (*Tokens, error) {
	c, ok := p.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("identity: no client %q", clientID)
	}
	if len(c.RedirectURIs) == 0 {
		return nil, fmt.Errorf("identity: client %q has no redirect URI: it is a client_credentials client", clientID)
	}
	redirectURI := c.RedirectURIs[0]
	code, err := p.authorize(ctx, c, redirectURI, login)
	if err != nil {
		return nil, err
	}
	return p.token(ctx, c, url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {redirectURI},
	})
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*\saction="([^"]*)"`)
	formPrompt  = regexp.MustCompile(`<input type="hidden" name="prompt" value="([^"]*)"`)
	htmlTags    = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`)
	blankSpaces = regexp.MustCompile(`\s+`)
)

// authorize drives the browser's part of the flow and returns the code.
func (p *Provider) authorize(ctx context.Context, c Client, redirectURI, login string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	browser := &http.Client{
		Transport:     p.http.Transport,
		Timeout:       p.http.Timeout,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	state, nonce := randomString(), randomString()
	q := url.Values{
		"client_id":     {c.ID},
		"response_type": {"code"},
		"redirect_uri":  {redirectURI},
		"scope":         {"openid profile email"},
		"state":         {state},
		"nonce":         {nonce},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.disc.AuthorizationEndpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	issuer, _ := url.Parse(p.issuer)
	loggedIn, consented := false, false
	for step := 0; step < 16; step++ {
		resp, err := browser.Do(req)
		if err != nil {
			return "", fmt.Errorf("identity: sign-in: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return "", fmt.Errorf("identity: sign-in: %s: %w", req.URL, err)
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return "", fmt.Errorf("identity: sign-in: %s answered %s without a Location", req.URL, resp.Status)
			}
			if sameEndpoint(loc, redirectURI) {
				return codeFrom(loc, state)
			}
			if loc.Scheme != issuer.Scheme || loc.Host != issuer.Host {
				return "", fmt.Errorf("identity: sign-in: redirected away from the provider, to %s", loc.Redacted())
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return "", err
			}
		case resp.StatusCode == http.StatusOK:
			action, prompt := formAction.FindSubmatch(body), formPrompt.FindSubmatch(body)
			if action == nil || prompt == nil {
				return "", fmt.Errorf("identity: sign-in: %s is no login or consent form: %s", req.URL, pageText(body))
			}
			target, err := req.URL.Parse(html.UnescapeString(string(action[1])))
			if err != nil {
				return "", fmt.Errorf("identity: sign-in: form action: %w", err)
			}
			form := url.Values{"prompt": {string(prompt[1])}}
			switch string(prompt[1]) {
			case "login":
				if loggedIn {
					return "", fmt.Errorf("identity: sign-in: the login form came back after signing in as %q", login)
				}
				loggedIn = true
				form.Set("login", login)
				form.Set("password", "any")
			case "consent":
				if consented {
					return "", errors.New("identity: sign-in: the consent form came back after consenting")
				}
				consented = true
			default:
				return "", fmt.Errorf("identity: sign-in: unknown prompt %q", prompt[1])
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode())); err != nil {
				return "", err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			return "", fmt.Errorf("identity: sign-in: %s answered %s: %s", req.URL.Redacted(), resp.Status, pageText(body))
		}
	}
	return "", errors.New("identity: sign-in: too many steps")
}

// token calls the token endpoint with client_secret_basic.
func (p *Provider) token(ctx context.Context, c Client, form url.Values) (*Tokens, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.disc.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: both form-urlencoded before the Basic encoding.
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("identity: token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("identity: token endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		if json.Unmarshal(body, te) != nil || te.Code == "" {
			te.Code, te.Description = "unexpected_response", pageText(body)
		}
		return nil, te
	}
	var t Tokens
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("identity: token endpoint: %w", err)
	}
	if t.AccessToken == "" {
		return nil, errors.New("identity: token endpoint: no access_token in its answer")
	}
	return &t, nil
}

// codeFrom reads the code, or the refusal, from the redirect to the client.
func codeFrom(loc *url.URL, state string) (string, error) {
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", &AuthorizeError{Code: e, Description: q.Get("error_description")}
	}
	if q.Get("state") != state {
		return "", fmt.Errorf("identity: sign-in: state mismatch in the redirect")
	}
	code := q.Get("code")
	if code == "" {
		return "", fmt.Errorf("identity: sign-in: no code in the redirect")
	}
	return code, nil
}

func sameEndpoint(loc *url.URL, redirectURI string) bool {
	want, err := url.Parse(redirectURI)
	if err != nil {
		return false
	}
	return loc.Scheme == want.Scheme && loc.Host == want.Host && loc.Path == want.Path
}

func pageText(body []byte) string {
	s := html.UnescapeString(htmlTags.ReplaceAllString(string(body), " "))
	s = strings.TrimSpace(blankSpaces.ReplaceAllString(s, " "))
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
