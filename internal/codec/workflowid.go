package codec

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// metadataWorkflowID names, in clear beside the ciphertext, the workflow a
// payload belongs to, so that the codec endpoint's audit record says whose
// data a person decrypted (the Web UI's requests carry payloads only). The
// ciphertext authenticates it (associatedData): a reader who strips or
// changes it gets no plaintext. A workflow id is no patient data: it is in
// every history event's clear anyway.
const metadataWorkflowID = "carebridge-workflow-id"

// WithSerializationContext is the SDK's hook (the data converter passes it
// on to its codecs): every payload of a workflow, its activities, and the
// starts and signals a client sends it is stamped with the workflow's id.
func (c *Codec) WithSerializationContext(sc converter.SerializationContext) converter.PayloadCodec {
	var id string
	switch sc := sc.(type) {
	case converter.WorkflowSerializationContext:
		id = sc.WorkflowID
	case converter.ActivitySerializationContext:
		id = sc.WorkflowID
	}
	if id == "" {
		return c
	}
	return stamped{Codec: c, workflowID: id}
}

// stamped is the codec for one workflow's payloads.
type stamped struct {
	*Codec
	workflowID string
}

func (s stamped) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	return s.seal(payloads, s.workflowID)
}

var _ converter.PayloadCodecWithSerializationContext = (*Codec)(nil)
