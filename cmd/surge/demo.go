package main

import (
	"github.com/spf13/cobra"
)

// demoScenario is what `surge demo` runs: the seed demo's burst.
const demoScenario = "burst"

func newDemoCommand() *cobra.Command {
	var f benchFlags
	var scenario string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole product on this machine: a burst of 300 messages scaled out and back",
		Long: `Starts the embedded Kubernetes control plane (HPA sync period 1 s, said on screen; the
first run builds it, 11-17 minutes on 2 cores, with progress every 30 s), a private RabbitMQ,
surge-scaler and surge-vnode with the local backend (burst pods run the bench worker as
local processes), applies the example ScaledObject and worker Deployment kept with the
scenarios (bench/scenarios/burst), publishes a burst of 300 messages and shows the queue
depth, desired replicas, running pods and elapsed time live until the queue is drained and
the worker is back at 0 replicas. Then it prints the summary table and the timeline PNG's
path and tears everything down (also on Ctrl-C).

Run it from the repository after "make build" ("make demo" does both).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), scenario, f)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&scenario, "scenario", demoScenario, "scenario to run")
	return cmd
}
