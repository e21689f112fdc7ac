package codec

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/carebridge/carebridge/internal/audit"
)

const phi = "john.doe@example.com"

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func TestRoundTripAndCiphertext(t *testing.T) {
	c, err := ParseKeys(NewKey("k1"))
	require.NoError(t, err)
	enc, err := c.Encode([]*commonpb.Payload{payload(t, map[string]string{"email": phi})})
	require.NoError(t, err)
	assert.NotContains(t, string(enc[0].Data), phi)
	assert.Equal(t, "k1", string(enc[0].Metadata[metadataKeyID]))
	assert.Equal(t, MetadataEncoding, string(enc[0].Metadata[converter.MetadataEncoding]))

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	var out map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &out))
	assert.Equal(t, phi, out["email"])

	plain := payload(t, "not encrypted")
	passed, err := c.Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	var text string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(passed[0], &text))
	assert.Equal(t, "not encrypted", text, "a payload nobody encrypted still reads")
	assert.False(t, Believed(passed[0]), "but is not believed: anyone who reached Temporal could write it")
	assert.True(t, Believed(dec[0]), "an encrypted one is")
	assert.Nil(t, plain.GetMetadata()["carebridge-plaintext"], "the input is not changed")
}

func TestRotation(t *testing.T) {
	old := NewKey("2026-01")
	oldCodec, _ := ParseKeys(old)
	enc, err := oldCodec.Encode([]*commonpb.Payload{payload(t, phi)})
	require.NoError(t, err)

	rotated, err := ParseKeys(NewKey("2026-11") + "," + old)
	require.NoError(t, err)
	_, err = rotated.Decode(enc)
	require.NoError(t, err, "runs under the old key still decode")
	fresh, _ := rotated.Encode([]*commonpb.Payload{payload(t, phi)})
	assert.Equal(t, "2026-11", string(fresh[0].Metadata[metadataKeyID]), "the first key encrypts")

	withoutOld, _ := ParseKeys(NewKey("2026-11"))
	_, err = withoutOld.Decode(enc)
	assert.ErrorContains(t, err, `key "2026-01", which is not configured`)
}

func TestTamperingIsDetected(t *testing.T) {
	c, _ := ParseKeys(NewKey("k"))
	enc, _ := c.Encode([]*commonpb.Payload{payload(t, phi)})
	enc[0].Data[len(enc[0].Data)-1] ^= 1
	_, err := c.Decode(enc)
	assert.Error(t, err)
}

func TestParseKeysErrorsNeverEchoKeys(t *testing.T) {
	for spec, want := range map[string]string{
		"":           "no codec key given",
		"nocolon":    "want id:base64key",
		"k:c2hvcnQ=": `codec key "k": want 32 bytes`,
		"k:!!!":      `codec key "k": want 32 bytes`,
		NewKey("a") + "," + strings.Replace(NewKey("b"), "b:", "a:", 1): `codec key "a" is given twice`,
	} {
		_, err := ParseKeys(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "c2hvcnQ=")
	}
}

func TestHandler(t *testing.T) {
	c, _ := ParseKeys(NewKey("k"))
	enc, _ := c.Encode([]*commonpb.Payload{payload(t, phi)})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	srv := httptest.NewServer(Handler(c, Access{ReadToken: "s3cret", WriteToken: "wr1te"}, []string{"http://127.0.0.1:8233"}))
	defer srv.Close()

	do := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, _ := do("/decode", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = do("/decode", "wrong")
	assert.Equal(t, http.StatusUnauthorized, status)
	for _, path := range []string{"/decode", "/default/decode"} {
		status, out := do(path, "s3cret")
		require.Equal(t, http.StatusOK, status, out)
		var decoded commonpb.Payloads
		require.NoError(t, protojson.Unmarshal([]byte(out), &decoded))
		var got string
		require.NoError(t, json.Unmarshal(decoded.Payloads[0].Data, &got))
		assert.Equal(t, phi, got)
	}

	status, _ = do("/decode", "wr1te")
	assert.Equal(t, http.StatusOK, status, "a writer reads too")
	status, _ = do("/default/encode", "s3cret")
	assert.Equal(t, http.StatusForbidden, status, "a reader does not write: what it encodes the workflows would believe")
	status, _ = do("/default/encode", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = do("/default/encode", "wr1te")
	assert.Equal(t, http.StatusOK, status)

	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8233")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "http://127.0.0.1:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	req.Header.Set("Origin", "http://evil.example")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

// A failure decoded (a local activity's, which the SDK then records in its
// marker) keeps its message encrypted: history holds only "Encoded failure".
func TestDecodingAFailureLeavesItSealed(t *testing.T) {
	c, err := ParseKeys(NewKey("k1"))
	require.NoError(t, err)
	fc := c.FailureConverter()
	f := fc.ErrorToFailure(temporal.NewNonRetryableApplicationError("no patient john.doe@example.com", "PatientNotFound", nil))
	require.Equal(t, "Encoded failure", f.GetMessage())
	decoded := fc.FailureToError(f)
	assert.Contains(t, decoded.Error(), "john.doe@example.com", "who holds the key reads it")
	assert.Equal(t, "Encoded failure", f.GetMessage(), "the failure decoded, as recorded, is still sealed")
	assert.NotContains(t, f.String(), "john.doe")
}

// Without a write token nobody encodes; without any token (development) the
// endpoint is open.
func TestHandlerAccess(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/default/encode", nil)
	r.Header.Set("Authorization", "Bearer read")
	_, status, _ := Access{ReadToken: "read"}.who(r, true)
	assert.Equal(t, http.StatusForbidden, status)
	who, status, _ := Access{}.who(r, true)
	assert.Zero(t, status)
	assert.Equal(t, "anonymous", who)
}

// Every decode and encode is on the audit trail, refused ones too, with
// who asked and the workflow the payloads belong to (stamped at encoding by
// the serialization context the SDK passes); the trail's chain verifies.
func TestHandlerAuditsWhoDecodedWhichWorkflow(t *testing.T) {
	c, _ := ParseKeys(NewKey("k"))
	stampedCodec := c.WithSerializationContext(converter.WorkflowSerializationContext{Namespace: "default", WorkflowID: "case-42"})
	enc, err := stampedCodec.Encode([]*commonpb.Payload{payload(t, phi)})
	require.NoError(t, err)
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	dir := t.TempDir()
	trail, err := audit.Open(dir, audit.Options{})
	require.NoError(t, err)
	defer trail.Close()
	srv := httptest.NewServer(Handler(c, Access{ReadToken: "s3cret", Audit: trail}, nil))
	defer srv.Close()
	for _, token := range []string{"s3cret", "wrong"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/default/decode", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	var out bytes.Buffer
	n, err := audit.Export(dir, time.Time{}, &out)
	require.NoError(t, err)
	require.Equal(t, 2, n, out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var first, second audit.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &second))
	assert.Equal(t, "codec-read-token", first.Principal)
	assert.Equal(t, "payload.decode", first.Action)
	assert.Equal(t, "case-42", first.WorkflowID)
	assert.Equal(t, audit.OutcomeOK, first.Outcome)
	assert.Equal(t, audit.OutcomeDenied, second.Outcome)
	assert.NotContains(t, out.String(), "john", "no patient data on the trail")
	_, err = audit.Verify(dir)
	require.NoError(t, err)
}

// A payload a workflow's serialization context stamped still decodes, and
// the stamp is only the workflow id, in clear, beside the ciphertext.
func TestStampedPayloadsDecode(t *testing.T) {
	c, _ := ParseKeys(NewKey("k"))
	dc := converter.WithDataConverterSerializationContext(c.DataConverter(),
		converter.ActivitySerializationContext{Namespace: "default", WorkflowID: "send-7"})
	p, err := dc.ToPayload(phi)
	require.NoError(t, err)
	assert.Equal(t, "send-7", string(p.GetMetadata()[metadataWorkflowID]))
	assert.NotContains(t, string(p.GetData()), "john")
	var got string
	require.NoError(t, c.DataConverter().FromPayload(p, &got))
	assert.Equal(t, phi, got)

	// The stamp is authenticated: stripped or changed, nothing decrypts, so
	// a decode's record cannot be made to name another workflow.
	for name, change := range map[string]func(*commonpb.Payload){
		"stripped": func(p *commonpb.Payload) { delete(p.Metadata, metadataWorkflowID) },
		"changed":  func(p *commonpb.Payload) { p.Metadata[metadataWorkflowID] = []byte("send-8") },
	} {
		forged := proto.Clone(p).(*commonpb.Payload)
		change(forged)
		_, err := c.Decode([]*commonpb.Payload{forged})
		assert.Error(t, err, "a %s stamp does not decrypt", name)
	}
}
