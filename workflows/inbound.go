package workflows

import (
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/internal/codec"
)

// receiveOwn takes the next signal from ch into valuePtr, and reports
// whether there was one and whether carebridge wrote it. The worker's codec
// decrypts what carebridge encrypted and passes anything else through,
// marked: a payload sent in clear (a signal with the CLI's --input, by
// anyone who reached Temporal) is refused, never applied to a patient's
// record. A payload under a key the worker lacks never arrives: the SDK
// drops it, with an error in the worker's log.
func receiveOwn(ch workflow.ReceiveChannel, valuePtr any) (received, believed bool) {
	var raw converter.RawValue
	if !ch.ReceiveAsync(&raw) {
		return false, false
	}
	if !codec.Believed(raw.Payload()) {
		return true, false
	}
	// The codec has decrypted it: what is left is the default converter's.
	return true, converter.GetDefaultDataConverter().FromPayload(raw.Payload(), valuePtr) == nil
}
