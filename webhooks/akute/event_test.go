package akute

import (
	"testing"

	"github.com/carebridge/carebridge/workflows"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeTaskShapes(t *testing.T) {
	for name, body := range map[string]string{
		"data envelope": `{"event":"task.updated","id":"evt-1","data":{"id":"task-9","status":"complete","tags":["carebridge","case:ADA-TOSXM"]}}`,
		"task key":      `{"type":"task.updated","id":"evt-1","task":{"task_id":"task-9","status":"complete","tags":["case:ADA-TOSXM"]}}`,
		"flat":          `{"event":"task_update","id":"evt-1","task_id":"task-9","task":"Review","status":"complete","tags":["case:ADA-TOSXM"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ev := Decode([]byte(body))
			require.Equal(t, KindTask, ev.Kind)
			assert.Equal(t, "task-9", ev.Task.TaskID)
			assert.True(t, ev.Task.Completed())
			assert.Equal(t, "ADA-TOSXM", ev.Task.CaseShortID())
			assert.Equal(t, "akute-evt-1", ev.Key)
		})
	}
}

func TestDecodeMedication(t *testing.T) {
	ev := Decode([]byte(`{"event":"medication.pharmacy_received","data":{"patient_id":"pat-1","display_name":"Saxenda 0.6mg","rx_status":"pharmacy verified","prescription_id":123}}`))
	require.Equal(t, KindMedication, ev.Kind)
	assert.Equal(t, "pat-1", ev.Medication.PatientID)
	assert.Equal(t, "123", ev.Medication.PrescriptionID)
	assert.Contains(t, ev.Key, "akute-sha-", "no id: the body's digest")
}

func TestDecodeUnknown(t *testing.T) {
	for _, body := range []string{`not json`, `[]`, `{"event":"patient.updated","data":{"id":"p"}}`,
		`{"event":"task.updated","data":{"status":"complete"}}`, `{"event":"medication","data":{}}`} {
		ev := Decode([]byte(body))
		assert.Equal(t, KindUnknown, ev.Kind, body)
		assert.NotEmpty(t, ev.Key)
	}
	a := Decode([]byte(`{"x": 1}`))
	b := Decode([]byte(`{"x":1}`))
	assert.Equal(t, a.Key, b.Key, "the same body, however spaced, is the same delivery")
}

func TestTaskStatus(t *testing.T) {
	assert.False(t, workflows.TaskUpdate{Status: "in-progress"}.Completed())
	assert.Equal(t, "", workflows.TaskUpdate{Tags: []string{"carebridge"}}.CaseShortID())
}
