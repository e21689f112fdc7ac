package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
)

// The listeners' hardening, through the real starter: headers that would
// cost hashing are refused before any, bodies of unauthenticated senders
// are not read, and a client that trickles is cut off.

// akuteFlood is the attack the Akute header's bounds stop: a fresh t and
// 10,000 v1 values (one byte of hex each, so that the header, about 60 KB,
// fits the listener's 64 KiB and reaches the handler) over a 0.9 MB body.
// Before, each v1 cost an HMAC of the body: 10,000 of 0.9 MB.
func akuteFlood() (header string, body []byte) {
	return "t=" + strconv.FormatInt(time.Now().Unix(), 10) + strings.Repeat(",v1=00", 10_000),
		bytes.Repeat([]byte("x"), 900_000)
}

// postFlood sends one flood and returns its status and answer.
func postFlood(c *http.Client, header string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, stack.StarterURL+"/webhooks/akute", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set(akutewebhook.Header, header)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

func TestAkuteSignatureFloodIsRefusedBeforeAnyHMAC(t *testing.T) {
	// Generous: the refusal needs no hashing and no body; before, one such
	// request took seconds of a core.
	c := &http.Client{Timeout: 30 * time.Second}
	header, body := akuteFlood()
	status, answer, err := postFlood(c, header, body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status, "%s", answer)
	assert.Contains(t, string(answer), `"type":"malformed_header"`, "refused by the header's bound, before any HMAC")

	// The same values at a MAC's length make a 690 KB header: the listener
	// refuses it before the handler.
	long := "t=" + strconv.FormatInt(time.Now().Unix(), 10) + strings.Repeat(",v1="+strings.Repeat("ab", 32), 10_000)
	status, _, err = postFlood(c, long, body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, status)
}

// /healthz answers while 20 floods run at once, again and again.
func TestHealthzAnswersUnderAFlood(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var floods, refused atomic.Int64
	var mu sync.Mutex
	var problems []string
	for range 20 {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			header, body := akuteFlood()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, answer, err := postFlood(c, header, body)
				floods.Add(1)
				if err == nil && status == http.StatusUnauthorized {
					refused.Add(1)
					continue
				}
				mu.Lock()
				problems = append(problems, fmt.Sprintf("HTTP %d %s %v", status, answer, err))
				mu.Unlock()
			}
		})
	}
	// Some floods in flight first, so that /healthz competes with them.
	require.Eventually(t, func() bool { return floods.Load() >= 20 }, time.Minute, 10*time.Millisecond, "the floods were answered")
	health := &http.Client{Timeout: 5 * time.Second}
	for range 10 {
		resp, err := health.Get(stack.StarterURL + "/healthz")
		require.NoError(t, err, "/healthz answers while the floods run")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	close(stop)
	wg.Wait()
	assert.Empty(t, problems, "every flood is refused 401")
	t.Logf("%d floods, all refused; /healthz answered 10 times meanwhile", refused.Load())
}

// countingBody hands the client its body from a pipe and counts what the
// client took, so the test knows how much was sent when the answer came.
type countingBody struct {
	pr   *io.PipeReader
	pw   *io.PipeWriter
	sent atomic.Int64
	done chan struct{}
}

func newCountingBody(size int) *countingBody {
	b := &countingBody{done: make(chan struct{})}
	b.pr, b.pw = io.Pipe()
	go func() {
		defer close(b.done)
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		for left := size; left > 0; left -= len(chunk) {
			n, err := b.pw.Write(chunk[:min(len(chunk), left)])
			b.sent.Add(int64(n))
			if err != nil {
				return
			}
		}
		b.pw.Close()
	}()
	return b
}

// stop ends the writer (the client stops taking the body once it has its
// answer and the server has closed).
func (b *countingBody) stop() {
	b.pr.CloseWithError(errors.New("the test has its answer"))
	<-b.done
}

func TestUnauthenticatedCareValidateBodyIsNotRead(t *testing.T) {
	const size = 20_000_000 // under the route's 20 MiB: before, all of it was read, then refused
	body := newCountingBody(size)
	defer body.stop()
	req, err := http.NewRequest(http.MethodPost, stack.StarterURL+"/webhooks/carevalidate", body.pr)
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CareValidate-Auth", "a guess")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	require.NoError(t, err)
	sent := body.sent.Load()
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"code":"unauthorized","message":"the delivery could not be authenticated"}}`, string(answer))
	assert.Less(t, sent, int64(size/2), "answered while the client had sent only a part of its body")
	t.Logf("answered 401 after %d of %d bytes (what the sockets' buffers took)", sent, size)
}

// trickle opens a raw connection, writes head, then one byte of rest every
// two seconds, and returns the first line the server answered, if any, and
// when it closed the connection. The deadline is generous; the listener's
// bounds end it long before (before, a trickle held its connection for
// 150 s and more).
func trickle(t *testing.T, head, rest string) (answer string, after time.Duration) {
	t.Helper()
	u, err := url.Parse(stack.StarterURL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)

	ended := make(chan struct{})
	go func() {
		for i := 0; i < len(rest); i++ {
			select {
			case <-ended:
				return
			case <-time.After(2 * time.Second): // the fault itself: a byte every two seconds
			}
			if _, err := conn.Write([]byte{rest[i]}); err != nil {
				return
			}
		}
	}()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(120*time.Second)))
	r := bufio.NewReader(conn)
	line, _ := r.ReadString('\n')
	_, err = io.Copy(io.Discard, r) // to the end: the server closes
	close(ended)
	var timeout net.Error
	require.False(t, errors.As(err, &timeout) && timeout.Timeout(), "the connection still open after %s", time.Since(start))
	return line, time.Since(start)
}

func TestTrickledRequestsAreCutOff(t *testing.T) {
	t.Run("body", func(t *testing.T) {
		t.Parallel()
		// A header that passes every check made before the body (a fresh t,
		// one v1), then a body that never finishes.
		head := "POST /webhooks/akute HTTP/1.1\r\nHost: carebridge\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n" +
			akutewebhook.Header + ": t=" + strconv.FormatInt(time.Now().Unix(), 10) + ",v1=" + strings.Repeat("ab", 32) + "\r\n\r\n"
		answer, after := trickle(t, head, strings.Repeat("x", 1000))
		t.Logf("after %s: %q", after.Round(time.Second), answer)
		// The handler's read fails at the read timeout (30 s): its 400, then
		// the connection closes (trickle gives up at 120 s).
		assertCutOff(t, answer)
	})
	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		answer, after := trickle(t, "POST /webhooks/akute HTTP/1.1\r\n", "Host: carebridge\r\nX-Slow: "+strings.Repeat("y", 1000))
		t.Logf("after %s: %q", after.Round(time.Second), answer)
		// At the header timeout (10 s) net/http answers 400 and closes.
		assert.Regexp(t, `^HTTP/1\.1 (400|408) `, answer, "net/http answers a header cut off")
	})
}

// assertCutOff: a trickle ends with a 400 or a 408 and the connection
// closed, or with the connection closed without an answer.
func assertCutOff(t *testing.T, answer string) {
	t.Helper()
	if answer != "" {
		assert.Regexp(t, `^HTTP/1\.1 (400|408) `, answer)
	}
}
