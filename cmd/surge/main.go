// Command surge is Surge's command line: `surge demo` shows the whole product on one
// machine, `surge bench <scenario>` measures scale-up latency end to end, and
// `surge version` prints the version.
//
// demo and bench start the local stack (embedded control plane with a 1 s HPA sync,
// private RabbitMQ, surge-scaler, surge-vnode with the local backend) unless
// --kubeconfig and --amqp-url point at an existing cluster and broker, apply the
// scenario's manifests, publish its load, show live progress until the queue is
// drained and the target is back at zero, print the report and the timeline PNG's
// path, and tear everything down, also on Ctrl-C.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil && interrupted {
		fmt.Fprintln(os.Stderr, "surge: interrupted; everything it started was stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "surge: %v\n", err)
		var fail *failedRun
		if errors.As(err, &fail) {
			os.Exit(3) // the run finished but a check failed (lost messages, timeout)
		}
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "surge",
		Short:         "Surge: event-driven autoscaling with burst nodes, measured end to end",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newBenchCommand(), newDemoCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "surge %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// failedRun is a run that produced a report but failed a check.
type failedRun struct{ err error }

func (f *failedRun) Error() string { return f.err.Error() }
func (f *failedRun) Unwrap() error { return f.err }
