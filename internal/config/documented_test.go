package config_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/config"
)

// configurationDoc documents every variable the programs read.
const configurationDoc = "../../docs/configuration.md"

// sdkIgnored are looked up by the Temporal SDK's envconfig but never used:
// carebridge encrypts with its own codec and does not ask the SDK for a
// remote one (configuration.md says so in prose, not as table rows).
var sdkIgnored = []string{"TEMPORAL_CODEC_AUTH", "TEMPORAL_CODEC_ENDPOINT"}

// The variables the worker and the starter read are exactly the ones
// configuration.md documents for them: reading a new variable without
// documenting it, or documenting one no program reads, fails here.
func TestDocumentedVariablesAreTheOnesRead(t *testing.T) {
	documented := documentedProgramVariables(t)
	read := map[string]bool{}
	readBy := func(env map[string]string) {
		for _, load := range []func(*config.Env){
			func(e *config.Env) { e.LoadWorker() },
			func(e *config.Env) { e.LoadStarter() },
		} {
			e := config.FromMap(env)
			load(e)
			for _, name := range e.Read() {
				read[name] = true
			}
		}
	}
	// An empty environment, then a complete one (every name seen so far or
	// documented, set), so that what is read only when an integration is
	// on is read too.
	readBy(map[string]string{})
	complete := map[string]string{}
	for name := range read {
		complete[name] = "1"
	}
	for _, name := range documented {
		complete[name] = "1"
	}
	readBy(complete)
	complete["CAREBRIDGE_EAGER_SENDS"] = "false"
	readBy(complete)
	for _, name := range sdkIgnored {
		assert.True(t, read[name], "%s: the SDK no longer looks it up; drop it from sdkIgnored", name)
		delete(read, name)
	}

	var names []string
	for name := range read {
		names = append(names, name)
		if !slices.Contains(documented, name) {
			t.Errorf("%s is read but not documented: add a row | `%s` | to %s", name, name, configurationDoc)
		}
	}
	slices.Sort(names)
	for _, name := range documented {
		if !read[name] {
			t.Errorf("%s is documented for the worker or the starter in %s, but neither reads it", name, configurationDoc)
		}
	}
	t.Logf("read: %s", strings.Join(names, " "))
}

// documentedProgramVariables returns the variables configuration.md
// documents for the worker or the starter: the rows "| `NAME` | …" of its
// tables, but for a table with a "used by" column only the rows whose
// "used by" names one of them (the tests' and tools' own variables are
// documented there too, and read elsewhere).
func documentedProgramVariables(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(configurationDoc)
	require.NoError(t, err, "configuration.md documents every variable a program reads")
	defer f.Close()
	var names []string
	usedBy := -1 // the "used by" column of the current table, if any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			usedBy = -1 // a table ends at its first line that is not a row
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name, isVariable := strings.CutPrefix(cells[0], "`")
		name, closed := strings.CutSuffix(name, "`")
		if !isVariable || !closed {
			if i := slices.Index(cells, "used by"); i > 0 {
				usedBy = i // a header row
			}
			continue
		}
		if usedBy > 0 && usedBy < len(cells) &&
			!strings.Contains(cells[usedBy], "worker") && !strings.Contains(cells[usedBy], "starter") {
			continue
		}
		names = append(names, name)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, names, "no variable rows (| `NAME` | …) in %s", configurationDoc)
	return names
}
