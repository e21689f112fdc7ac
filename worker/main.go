// Command worker runs carebridge's workflows and activities.
//
// Configuration is the environment only; see README.md.
package main

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/workflows"
)

func main() {
	logger := config.Logger("worker")
	env := config.FromOS()
	tc := env.LoadTemporal(logger)
	send := activities.NewSend(
		activepieces.New(activepieces.Config{
			WebhookURL: env.Required("ACTIVEPIECES_WEBHOOK_URL"),
			TokenField: env.String("ACTIVEPIECES_TOKEN_FIELD", ""),
		}),
		realtime.New(realtime.Config{
			BaseURL:    env.Required("REALTIME_BASE_URL"),
			AuthHeader: env.String("REALTIME_AUTH_HEADER", ""),
			AuthPrefix: env.String("REALTIME_AUTH_PREFIX", ""),
		}),
		alleviate.New(alleviate.Config{
			BaseURL: env.Required("ALLEVIATE_BASE_URL"),
			APIKey:  env.Required("ALLEVIATE_API_KEY"),
			Source:  env.String("ALLEVIATE_SOURCE", alleviate.DefaultSource),
		}),
	)
	akuteActivities := activities.NewAkute(akute.New(akute.Config{
		BaseURL: env.Required("AKUTE_BASE_URL"),
		APIKey:  env.Required("AKUTE_API_KEY"),
	}), env.String("AKUTE_DEFAULT_TASK_OWNER_ID", ""))
	if err := env.Err(); err != nil {
		config.Exit("worker", err)
	}

	c, err := client.Dial(tc.Options)
	if err != nil {
		config.Exit("worker", err)
	}
	defer c.Close()

	w := worker.New(c, tc.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.AlleviateSend, workflow.RegisterOptions{Name: workflows.AlleviateSendName})
	w.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.AkuteUnrouted, workflow.RegisterOptions{Name: workflows.AkuteUnroutedName})
	w.RegisterActivity(send)
	w.RegisterActivity(akuteActivities)

	logger.Info("worker polling", slog.String("task_queue", tc.TaskQueue),
		slog.String("namespace", tc.Options.Namespace), slog.String("temporal", tc.Options.HostPort))
	if err := w.Run(worker.InterruptCh()); err != nil {
		config.Exit("worker", err)
	}
}
