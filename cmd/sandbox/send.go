package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
)

// send plays CareValidate against a running starter.
func send(command string, args []string) int {
	fs := flag.NewFlagSet(command, flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080/webhooks/carevalidate", "the starter's CareValidate webhook")
	caseID := fs.String("case-id", "", "case id (send-case; default: a new one)")
	shortID := fs.String("short-id", "", "case short id (send-case; default: derived from the case id)")
	pause := fs.Duration("pause", 200*time.Millisecond, "time between two events (send-case)")
	_ = fs.Parse(args)

	sender := carevalidatetest.Sender{
		URL:           *url,
		Header:        envOr("CAREVALIDATE_AUTH_HEADER", defaultCareValidateHead),
		Secret:        envOr("CAREVALIDATE_AUTH_SECRET", defaultCareValidateKey),
		SigningSecret: os.Getenv("CAREVALIDATE_SIGNING_SECRET"),
	}
	var steps []carevalidatetest.Step
	if command == "send-example" {
		steps = []carevalidatetest.Step{{Event: "ORDER_TRACKING_ADDED", Body: carevalidatetest.Example}}
	} else {
		if *caseID == "" {
			*caseID = fmt.Sprintf("sandbox-%d", time.Now().UnixNano())
		}
		if *shortID == "" {
			*shortID = "SBX-" + strings.ToUpper((*caseID)[len(*caseID)-5:])
		}
		steps = carevalidatetest.Script(carevalidatetest.Case{ID: *caseID, ShortID: *shortID}, time.Now().Add(-time.Hour))
		fmt.Printf("case %s (%s)\n", *caseID, *shortID)
	}
	for i, step := range steps {
		if i > 0 {
			time.Sleep(*pause)
		}
		status, answer, err := sender.Send(step.Body)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%-22s %v\n", step.Event, err)
			return 1
		}
		fmt.Printf("%-22s %d %s\n", step.Event, status, strings.TrimSpace(string(answer)))
		if status >= 300 {
			return 1
		}
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
