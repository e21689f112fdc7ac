// Package codec encrypts every payload carebridge puts into Temporal with
// AES-256-GCM, so that patient data is stored (and shown in the Web UI) as
// ciphertext except to those who hold a key.
//
// Keys come as "id:base64key,id2:base64key2": the first encrypts, every one
// decrypts, so a new key is rolled in first and old runs stay readable.
// Each encrypted payload names its key id in its metadata.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload metadata the codec writes.
const (
	MetadataEncoding = "binary/encrypted"
	metadataKeyID    = "encryption-key-id"
	metadataCipher   = "encryption-cipher"
	cipherName       = "AES-256-GCM"
	// metadataPlain marks a payload Decode passed through because nobody
	// encrypted it: anyone who reached Temporal can write one (a signal sent
	// with the CLI in clear), so carebridge's workflows do not believe it.
	metadataPlain = "carebridge-plaintext"
)

// Believed reports whether a decoded payload came from carebridge: it was
// encrypted under one of the keys, not passed through in clear.
func Believed(p *commonpb.Payload) bool { return p.GetMetadata()[metadataPlain] == nil }

// Codec is a converter.PayloadCodec.
type Codec struct {
	encryptID string
	keys      map[string]cipher.AEAD
}

// ParseKeys reads CAREBRIDGE_CODEC_KEYS. It never echoes a key in an error.
func ParseKeys(spec string) (*Codec, error) {
	c := &Codec{keys: map[string]cipher.AEAD{}}
	for i, pair := range strings.Split(spec, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, b64, ok := strings.Cut(pair, ":")
		if !ok || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("codec key %d: want id:base64key", i+1)
		}
		id = strings.TrimSpace(id)
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("codec key %q: want 32 bytes, base64-encoded", id)
		}
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		if _, dup := c.keys[id]; dup {
			return nil, fmt.Errorf("codec key %q is given twice", id)
		}
		c.keys[id] = aead
		if c.encryptID == "" {
			c.encryptID = id
		}
	}
	if c.encryptID == "" {
		return nil, errors.New("no codec key given")
	}
	return c, nil
}

// NewKey returns a fresh key as "id:base64key".
func NewKey(id string) string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return id + ":" + base64.StdEncoding.EncodeToString(key)
}

// Encode encrypts each payload (the whole payload, metadata included) under
// the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	return c.seal(payloads, "")
}

// seal encrypts payloads; with a workflow id, each names it in clear
// (workflowid.go) and the id is authenticated with the ciphertext, so that a
// payload whose stamp was removed or changed does not decrypt.
func (c *Codec) seal(payloads []*commonpb.Payload, workflowID string) ([]*commonpb.Payload, error) {
	aead := c.keys[c.encryptID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncoding),
				metadataKeyID:              []byte(c.encryptID),
				metadataCipher:             []byte(cipherName),
			},
			Data: aead.Seal(nonce, nonce, plain, associatedData(c.encryptID, workflowID)),
		}
		if workflowID != "" {
			out[i].Metadata[metadataWorkflowID] = []byte(workflowID)
		}
	}
	return out, nil
}

// associatedData is what a payload's ciphertext authenticates besides its
// content: the key id, and the workflow id it names, if any.
func associatedData(keyID, workflowID string) []byte {
	if workflowID == "" {
		return []byte(keyID)
	}
	return []byte(keyID + "\x00" + workflowID) // NUL: in no key id
}

// Decode decrypts payloads this codec (or an earlier key of it) encrypted and
// passes any other payload through, marked so that Believed refuses it.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncoding {
			plain := proto.Clone(p).(*commonpb.Payload)
			if plain.Metadata == nil {
				plain.Metadata = map[string][]byte{}
			}
			plain.Metadata[metadataPlain] = []byte("true")
			out[i] = plain
			continue
		}
		id := string(p.GetMetadata()[metadataKeyID])
		aead, ok := c.keys[id]
		if !ok {
			return nil, fmt.Errorf("payload encrypted with key %q, which is not configured", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("encrypted payload is truncated")
		}
		ad := associatedData(id, string(p.GetMetadata()[metadataWorkflowID]))
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], ad)
		if err != nil {
			return nil, fmt.Errorf("payload under key %q does not decrypt", id)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, err
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter encrypts through c everything the default converter writes.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter moves failures' messages and stack traces into their
// encoded attributes, so that they are encrypted too.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return sealedFailures{temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})}
}

// sealedFailures keeps failure messages encrypted in history. The SDK's
// converter decodes a failure in place: the failure it was handed keeps the
// decoded message beside the encrypted one, and the SDK records that very
// failure for a local activity (its marker), so the message reached history
// in clear. Decoding a copy leaves what is recorded sealed.
type sealedFailures struct{ converter.FailureConverter }

func (s sealedFailures) FailureToError(f *failurepb.Failure) error {
	if f == nil {
		return nil
	}
	return s.FailureConverter.FailureToError(proto.Clone(f).(*failurepb.Failure))
}
