package realtime_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/clients/upstream"
	"github.com/carebridge/carebridge/fakes/realtimetest"
)

func serve(t *testing.T, status int, body string, seen *http.Request) *realtime.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			*seen = *r.Clone(context.Background())
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return realtime.New(realtime.Config{BaseURL: srv.URL})
}

func TestFindSubjectsRequest(t *testing.T) {
	var seen http.Request
	c := serve(t, 200, `[{"subjectId":139712}]`, &seen)
	_, err := c.FindSubjects(context.Background(), "the-jwt", "ect", "john.doe+vip@example.com")
	require.NoError(t, err)
	assert.Equal(t, "/api/v2/subjects", seen.URL.Path)
	assert.Equal(t, "ect", seen.URL.Query().Get("instanceName"))
	assert.Equal(t, "john.doe+vip@example.com", seen.URL.Query().Get("email"), "the + survives encoding")
	assert.Equal(t, "Bearer the-jwt", seen.Header.Get("Authorization"))
}

func TestFindSubjectsCustomAuthHeader(t *testing.T) {
	var seen http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = *r.Clone(context.Background())
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c := realtime.New(realtime.Config{BaseURL: srv.URL, AuthHeader: "X-Api-Key"})
	_, err := c.FindSubjects(context.Background(), "k", "ect", "a@b.co")
	require.NoError(t, err)
	assert.Equal(t, "k", seen.Header.Get("X-Api-Key"))
	assert.Empty(t, seen.Header.Get("Authorization"))
}

func TestFindSubjectsShapes(t *testing.T) {
	for name, body := range map[string]string{
		"array":          `[{"subjectId":139712,"email":"x"},{"subjectId":2}]`,
		"data":           `{"data":[{"subjectId":139712},{"subjectId":2}],"total":2}`,
		"items":          `{"items":[{"subjectId":"139712"},{"subjectId":2}]}`,
		"subjects":       `{"subjects":[{"subjectId":139712},{"subjectId":"2"}]}`,
		"results":        `{"results":[{"subjectId":139712},{"subjectId":2}]}`,
		"null then data": `{"items":null,"data":[{"subjectId":139712},{"subjectId":2}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			subjects, err := serve(t, 200, body, nil).FindSubjects(context.Background(), "t", "ect", "a@b.co")
			require.NoError(t, err)
			require.Len(t, subjects, 2)
			assert.EqualValues(t, 139712, subjects[0].SubjectID, "the first record comes first")
		})
	}
}

func TestFindSubjectsNone(t *testing.T) {
	for _, body := range []string{`[]`, `{"data":[]}`} {
		subjects, err := serve(t, 200, body, nil).FindSubjects(context.Background(), "t", "ect", "a@b.co")
		require.NoError(t, err)
		assert.Empty(t, subjects)
	}
}

func TestFindSubjectsMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"empty":          ``,
		"html":           `<html>oops</html>`,
		"no array":       `{"message":"ok"}`,
		"no subjectId":   `[{"id":1}]`,
		"zero id":        `[{"subjectId":0}]`,
		"fractional id":  `[{"subjectId":1.5}]`,
		"non-numeric id": `[{"subjectId":"abc"}]`,
		"not objects":    `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := serve(t, 200, body, nil).FindSubjects(context.Background(), "t", "ect", "a@b.co")
			assert.ErrorIs(t, err, realtime.ErrMalformed)
		})
	}
}

func TestFindSubjectsStatuses(t *testing.T) {
	_, err := serve(t, 401, `{"message":"Unauthorized"}`, nil).FindSubjects(context.Background(), "t", "ect", "a@b.co")
	assert.ErrorIs(t, err, realtime.ErrUnauthorized)

	for _, status := range []int{400, 403, 404, 429, 500, 502, 503} {
		_, err := serve(t, status, `{"message":"john.doe@example.com"}`, nil).FindSubjects(context.Background(), "t", "ect", "a@b.co")
		var se *upstream.StatusError
		require.ErrorAs(t, err, &se, "status %d", status)
		assert.Equal(t, status, se.StatusCode)
		assert.Equal(t, status == 429 || status >= 500, se.Temporary(), "status %d", status)
		assert.NotContains(t, err.Error(), "john.doe", "the body stays out of the message")
	}
}

func TestTransportErrorHidesTheEmail(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := realtime.New(realtime.Config{BaseURL: srv.URL})
	_, err := c.FindSubjects(context.Background(), "t", "ect", "john.doe@example.com")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "john.doe")
	assert.NotContains(t, err.Error(), "example.com")
}

func TestAgainstTheFake(t *testing.T) {
	f := realtimetest.New(func(tok string) bool { return tok == "good" }, realtimetest.Seed)
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := realtime.New(realtime.Config{BaseURL: srv.URL})

	subjects, err := c.FindSubjects(context.Background(), "good", "ect", "John.Doe@example.com")
	require.NoError(t, err)
	require.Len(t, subjects, 1)
	assert.EqualValues(t, 139712, subjects[0].SubjectID, "e-mail matches ignoring case, per instance")

	subjects, err = c.FindSubjects(context.Background(), "good", "nyc", "john.doe@example.com")
	require.NoError(t, err)
	assert.EqualValues(t, 240001, subjects[0].SubjectID)

	_, err = c.FindSubjects(context.Background(), "bad", "ect", "john.doe@example.com")
	assert.ErrorIs(t, err, realtime.ErrUnauthorized)
	assert.Len(t, f.Requests(), 3)
}
