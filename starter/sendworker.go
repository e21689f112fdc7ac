package main

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/workflows"
)

// hostSendWorker runs a send worker inside the starter: the send workflow
// and its three local activities on the sends' own task queue. A send
// started with EnableEagerStart then gets its first workflow task in the
// start's answer and runs here, which saves the trip through matching; the
// standalone workers poll the same queue, so a send never depends on this
// one. It keeps trying until Temporal answers (the starter comes up while
// Temporal is down). The returned func stops it.
func hostSendWorker(ctx context.Context, c client.Client, queue string, send *activities.Send, log *slog.Logger,
	interceptors ...interceptor.WorkerInterceptor) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	started := make(chan worker.Worker, 1)
	go func() {
		for {
			w := worker.New(c, queue, worker.Options{
				WorkerStopTimeout:       shutdownGrace,
				LocalActivityWorkerOnly: true,
				Interceptors:            append(workflows.Interceptors(), interceptors...),
			})
			workflows.RegisterSends(w, send)
			err := w.Start()
			if err == nil {
				log.Info("send worker running in the starter (eager sends)", slog.String("task_queue", queue))
				started <- w
				return
			}
			log.Warn("send worker not started yet; sends go to the standalone workers", slog.String("error", err.Error()))
			select {
			case <-ctx.Done():
				close(started)
				return
			case <-time.After(5 * time.Second):
			}
		}
	}()
	return func() {
		cancel()
		if w, ok := <-started; ok {
			w.Stop()
		}
	}
}
