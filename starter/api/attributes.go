package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/workflows"
)

// searchAttributeCheck finds the custom search attributes carebridge sets
// that the Temporal namespace lacks. Without them every start is refused,
// which looks like Temporal being down; this names them and the command
// that creates them, at start, in /readyz and in a refused start's answer.
type searchAttributeCheck struct {
	temporal  client.Client
	namespace string
	log       *slog.Logger
}

// attributes is the check of d's namespace.
func (d Deps) attributes() *searchAttributeCheck {
	return &searchAttributeCheck{temporal: d.Temporal, namespace: d.Namespace, log: d.Log}
}

// Readyz is the internal listener's readiness: 200 when Temporal answers
// and has every search attribute, else 503 saying which is not so.
func Readyz(d Deps) http.Handler { return http.HandlerFunc(d.attributes().readyz) }

// LogMissingSearchAttributes logs, once Temporal first answers, the search
// attributes the namespace lacks and the command that creates them. It
// returns then, or when ctx is done.
func LogMissingSearchAttributes(ctx context.Context, d Deps) { d.attributes().atStart(ctx) }

// missing lists the search attributes the namespace lacks, sorted.
func (s *searchAttributeCheck) missing(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := s.temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(workflows.SearchAttributes)) {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			out = append(out, name)
		}
	}
	return out, nil
}

// createCommand is the temporal CLI command that creates the missing
// attributes (docs/operations.md has tctl's form).
func (s *searchAttributeCheck) createCommand(missing []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "temporal operator search-attribute create --namespace %s", s.namespace)
	for _, name := range missing {
		fmt.Fprintf(&b, " --name %s --type %s", name, workflows.SearchAttributes[name])
	}
	return b.String()
}

// atStart logs the missing attributes once Temporal first answers.
func (s *searchAttributeCheck) atStart(ctx context.Context) {
	for {
		missing, err := s.missing(ctx)
		if err == nil {
			if len(missing) > 0 {
				s.log.Error("the Temporal namespace lacks carebridge's search attributes: every start will be refused until they exist",
					slog.String("missing", strings.Join(missing, ",")), slog.String("create_with", s.createCommand(missing)))
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// readyz answers 200 when Temporal answers and has every search attribute.
func (s *searchAttributeCheck) readyz(w http.ResponseWriter, r *http.Request) {
	missing, err := s.missing(r.Context())
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, apiError{Code: "temporal_unavailable", Message: "Temporal is not reachable"})
	case len(missing) > 0:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": missingAttributes(missing, s.createCommand(missing))})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// missingAttributesError is the answer when the namespace lacks attributes.
type missingAttributesError struct {
	apiError
	Missing []string `json:"missing"`
	Command string   `json:"command"`
}

func missingAttributes(missing []string, command string) missingAttributesError {
	return missingAttributesError{
		apiError: apiError{Code: "search_attributes_missing",
			Message: "the Temporal namespace lacks carebridge's search attributes " + strings.Join(missing, ", ") + "; create them with the command given"},
		Missing: missing, Command: command,
	}
}

// starts answers what Temporal did not record (a start, a signal): 503
// either way (the caller retries), saying why.
type starts struct {
	attrs *searchAttributeCheck
	log   *slog.Logger
}

// refused logs the failure once, with what (the caller's context: an event
// type, a delivery kind), and answers it. Temporal names a search attribute
// it refuses; only then is the namespace asked which are missing, so that
// an outage costs no second call to a server that is not answering.
func (s *starts) refused(w http.ResponseWriter, r *http.Request, cause error, retry string, what ...slog.Attr) {
	attrs := append([]slog.Attr{slog.String("workflow_id", w.Header().Get("X-Workflow-Id")), slog.String("error", cause.Error())}, what...)
	var invalid *serviceerror.InvalidArgument
	if !errors.As(cause, &invalid) || !strings.Contains(invalid.Error(), "search attribute") {
		s.log.LogAttrs(r.Context(), slog.LevelError, "not recorded: Temporal refused it or did not answer", attrs...)
		writeError(w, http.StatusServiceUnavailable, apiError{Code: "temporal_unavailable", Message: retry})
		return
	}
	if missing, err := s.attrs.missing(r.Context()); err == nil && len(missing) > 0 {
		attrs = append(attrs, slog.String("missing", strings.Join(missing, ",")))
		s.log.LogAttrs(r.Context(), slog.LevelError, "not recorded: search attributes missing", attrs...)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": missingAttributes(missing, s.attrs.createCommand(missing))})
		return
	}
	// Created, but not yet in every service's cache (refreshed every
	// minute): it passes by itself.
	s.log.LogAttrs(r.Context(), slog.LevelError, "not recorded: search attributes not accepted yet", attrs...)
	writeError(w, http.StatusServiceUnavailable, apiError{Code: "search_attributes_not_ready",
		Message: "Temporal has carebridge's search attributes but does not accept them yet (within a minute of their creation); " + retry})
}
