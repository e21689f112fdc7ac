package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Control drives a running fake's control API over HTTP, as the tests and
// the benchmark do against the sandbox program.
type Control struct {
	URL string // the fake's root, e.g. http://127.0.0.1:8099/alleviate
}

var controlClient = &http.Client{Timeout: 10 * time.Second}

// Inject queues a fault.
func (c Control) Inject(f Fault) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return c.call(http.MethodPost, "/_sandbox/faults", body, nil)
}

// Requests lists what the fake received.
func (c Control) Requests() ([]Request, error) {
	var out []Request
	err := c.call(http.MethodGet, "/_sandbox/requests", nil, &out)
	return out, err
}

// Reset clears the fake's faults and its record.
func (c Control) Reset() error {
	if err := c.call(http.MethodDelete, "/_sandbox/faults", nil, nil); err != nil {
		return err
	}
	return c.call(http.MethodDelete, "/_sandbox/requests", nil, nil)
}

// SetLatency adds a delay to every answer.
func (c Control) SetLatency(d time.Duration) error {
	body, _ := json.Marshal(map[string]string{"latency": d.String()})
	return c.call(http.MethodPut, "/_sandbox/latency", body, nil)
}

// Get reads one of the fake's own sandbox routes, such as /_sandbox/leads.
func (c Control) Get(path string, out any) error {
	return c.call(http.MethodGet, path, nil, out)
}

func (c Control) call(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("sandbox %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
