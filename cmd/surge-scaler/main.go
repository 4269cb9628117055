// Command surge-scaler reconciles ScaledObjects, polls their triggers, scales their
// targets 0↔N, owns their HPAs and serves the external metrics API from the same
// process. See package app for the flags.
//
// Unless GOGC is set, the garbage collector runs at GOGC=50 (Go's default is 100):
// polls make short-lived garbage at a steady rate, and a smaller heap headroom keeps
// RSS within the 300 MiB goal at 5,000 ScaledObjects for a little CPU (bench/scaler).
package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/surge-autoscaler/surge/cmd/surge-scaler/app"
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	o := app.NewOptions()
	fs := pflag.NewFlagSet("surge-scaler", pflag.ExitOnError)
	o.AddFlags(fs)
	_ = fs.Parse(os.Args[1:]) // ExitOnError: Parse exits on a bad flag
	log := klog.NewKlogr().WithName("surge-scaler")
	ctrl.SetLogger(log)
	if err := app.Run(ctrl.SetupSignalHandler(), o, log); err != nil {
		log.Error(err, "surge-scaler failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}
