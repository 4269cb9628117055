// Command surge-controlplane runs a real Kubernetes control plane on 127.0.0.1 for
// Surge's tests and demo: embedded etcd, kube-apiserver (with the aggregator),
// kube-controller-manager and kube-scheduler, all built from the upstream modules.
//
// Usage:
//
//	surge-controlplane up --dir D [--hpa-sync-period 15s]
//
// "up" generates a PKI under D, starts etcd in its own process and each Kubernetes
// component as a child process of itself (the same binary, dispatched on its first
// argument), waits until everything is ready, writes D/kubeconfig and D/cluster.json,
// and stops everything on SIGTERM or SIGINT. Children are started with a parent-death
// signal, so killing "up" with SIGKILL leaves no component running either.
package main

import (
	"fmt"
	"os"

	_ "time/tzdata" // as upstream mains: zoneinfo for CronJob-like time zones

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	sub, rest := os.Args[1], os.Args[2:]
	// Upstream commands parse os.Args[1:] through cobra; drop our dispatch word.
	os.Args = append([]string{os.Args[0] + " " + sub}, rest...)
	switch sub {
	case "up":
		os.Exit(runUp(rest))
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "version":
		fmt.Println(kubeVersion)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "surge-controlplane: unknown command %q\n", sub)
		usage()
		os.Exit(2)
	}
}

// kubeVersion is the Kubernetes release the binary is built from; the Makefile sets
// component-base's version variables to the same value with -ldflags.
const kubeVersion = "v1.37.2"

func usage() {
	fmt.Fprint(os.Stderr, `surge-controlplane: a real Kubernetes control plane on 127.0.0.1

  surge-controlplane up --dir DIR [--hpa-sync-period 15s] [--hpa-downscale-stabilization 5m]
      generate certificates, start etcd, kube-apiserver, kube-controller-manager and
      kube-scheduler on free loopback ports, write DIR/kubeconfig and DIR/cluster.json,
      run until SIGTERM/SIGINT.
  surge-controlplane version
`)
}
