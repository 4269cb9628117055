package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/surge-autoscaler/surge/bench/report"
	"github.com/surge-autoscaler/surge/bench/run"
	"github.com/surge-autoscaler/surge/bench/scenarios"
	"github.com/surge-autoscaler/surge/bench/stack"
)

// benchFlags are the flags shared by bench and demo.
type benchFlags struct {
	short          bool
	set            []string
	out            string
	kubeconfig     string
	amqpURL        string
	hpaSync        time.Duration
	hpaDownscale   time.Duration
	hpaSyncStated  string
	startDelay     time.Duration
	keep           bool
	keepNamespace  bool
	namespace      string
	binDir         string
	root           string
	dir            string
	workerImage    string
	backend        string
	backendDelay   string
	progressPeriod time.Duration
}

func (f *benchFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&f.short, "short", false, "run the scenario's short form (what CI runs)")
	fs.StringArrayVar(&f.set, "set", nil, "override a scenario variable, KEY=VALUE (repeatable), e.g. --set POLLING_INTERVAL=30 --set BURST_START=false")
	fs.StringVar(&f.out, "out", "", "directory for report.json, report.txt and timeline.png (default bench/results/<date>-<scenario> in the repository, else ./surge-bench-<date>-<scenario>)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "use this cluster instead of starting the embedded one (needs --amqp-url; Surge, the worker image and a burst node must be installed there)")
	fs.StringVar(&f.amqpURL, "amqp-url", "", "use this RabbitMQ instead of starting a private one (with --kubeconfig); the workers and the trigger must reach it at this URL")
	fs.DurationVar(&f.hpaSync, "hpa-sync-period", time.Second, "embedded cluster: the HPA controller's sync period (upstream default 15s)")
	fs.DurationVar(&f.hpaDownscale, "hpa-downscale-stabilization", 0, "embedded cluster: the HPA's default downscale stabilization window (upstream default 5m)")
	fs.StringVar(&f.hpaSyncStated, "cluster-hpa-sync-period", "", "external cluster: its HPA sync period, for the report's header (unknown otherwise)")
	fs.DurationVar(&f.startDelay, "simulated-start-delay", 0, "embedded stack: SIMULATE a cloud backend's cold start in the local backend (off by default)")
	fs.BoolVar(&f.keep, "keep", false, "keep the stack's directory (logs, state) after the run")
	fs.BoolVar(&f.keepNamespace, "keep-namespace", false, "do not delete the scenario's namespace at the end")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of the run (default surge-bench-<scenario>)")
	fs.StringVar(&f.binDir, "bin-dir", "", "directory with surge-scaler, surge-vnode and bench-worker (default: next to this binary, else <repo>/bin)")
	fs.StringVar(&f.root, "root", "", "the Surge repository (default: found upwards from the working directory)")
	fs.StringVar(&f.dir, "dir", "", "directory for the stack's state and logs (default: a new temporary directory)")
	fs.StringVar(&f.workerImage, "worker-image", run.DefaultWorkerImage, "image of the bench worker in the manifests")
	fs.StringVar(&f.backend, "cluster-backend", "", "external cluster: the burst node's backend, for the report's header")
	fs.StringVar(&f.backendDelay, "cluster-start-delay", "", "external cluster: the backend's simulated start delay, for the report's header")
	fs.DurationVar(&f.progressPeriod, "progress-every", 0, "print a progress line this often (default: live line on a terminal, every 2s otherwise)")
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	var list bool
	cmd := &cobra.Command{
		Use:   "bench <scenario|directory>",
		Short: "Measure scale-up latency end to end for a scenario",
		Long: `Runs a scenario (built-in: ` + strings.Join(scenarios.Names(), ", ") + `, or a directory holding
scenario.yaml and manifests) and reports each phase: burst → detected → desired replicas
→ pods scheduled → Running → first message done → drained → back to zero, with p50/p95/max
over pods and messages, messages lost (must be 0) and duplicates, as a table, JSON and a
timeline PNG. Every setting that changes the figures is printed in the header.

By default it starts the whole local stack (see "surge demo"); with --kubeconfig and
--amqp-url it only watches an existing setup, so the same scenario can measure any
autoscaler the manifests name (e.g. a KEDA ScaledObject).

KEDA's defaults for comparison:
  surge bench burst --set POLLING_INTERVAL=30 --set BURST_START=false --hpa-sync-period 15s`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return nil
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				return listScenarios(cmd.OutOrStdout())
			}
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&list, "list", false, "list the built-in scenarios")
	return cmd
}

func listScenarios(w io.Writer) error {
	for _, n := range scenarios.Names() {
		s, err := scenarios.Load(n)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-14s %s\n", n, s.Description)
	}
	return nil
}

// runBench runs one scenario with the stack or against an external setup, prints the
// table and writes the outputs.
func runBench(ctx context.Context, stdout, stderr io.Writer, name string, f benchFlags) error {
	s, err := scenarios.Load(name)
	if err != nil {
		return err
	}
	vars, err := parseSet(f.set)
	if err != nil {
		return err
	}
	if (f.kubeconfig == "") != (f.amqpURL == "") {
		return fmt.Errorf("--kubeconfig and --amqp-url go together: both point at an existing setup, or neither (start the local stack)")
	}
	klog.SetOutput(io.Discard) // client-go chatter would break the live view
	klog.LogToStderr(false)

	t, err := f.target(ctx, stderr)
	if err != nil {
		return err
	}
	defer t.stop()

	view := newProgressView(stderr, f.progressPeriod)
	res, err := run.Run(ctx, run.Options{
		Scenario: s, Short: f.short, Vars: vars, Namespace: f.namespace, Keep: f.keepNamespace,
		Kube: t.kube, AMQPURL: t.amqpURL, WorkerImage: f.workerImage, Settings: t.settings,
		Progress: view.update, Log: view, Logger: klog.Background(),
	})
	view.finish()
	if err != nil {
		return err
	}
	if err := f.writeResults(stdout, res.Report, s.Name); err != nil {
		return err
	}
	if res.Err != nil {
		return &failedRun{err: fmt.Errorf("scenario %s: %w", s.Name, res.Err)}
	}
	return nil
}

// benchTarget is the cluster and RabbitMQ a run measures, with the settings the
// report states for them.
type benchTarget struct {
	kube     *rest.Config
	amqpURL  string
	settings report.Settings
	// stop ends what was started for the run (nothing for an external setup).
	stop func()
}

// target returns the external setup named by --kubeconfig and --amqp-url, or else
// starts the local stack.
func (f *benchFlags) target(ctx context.Context, stderr io.Writer) (*benchTarget, error) {
	t := &benchTarget{settings: report.Settings{Cores: runtime.NumCPU()}, stop: func() {}}
	if f.kubeconfig != "" {
		kube, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		kube.QPS, kube.Burst = 100, 200
		t.kube, t.amqpURL = kube, f.amqpURL
		t.settings.Cluster = kube.Host
		t.settings.HPASyncPeriod = f.hpaSyncStated
		t.settings.Backend, t.settings.StartDelay = f.backend, f.backendDelay
		return t, nil
	}
	fmt.Fprintf(stderr, "surge: starting the local stack: control plane (HPA sync period %v), RabbitMQ, surge-scaler, surge-vnode\n", f.hpaSync)
	st, err := stack.Start(ctx, stack.Options{
		Dir: f.dir, Keep: f.keep, Root: f.root, BinDir: f.binDir, HPASyncPeriod: f.hpaSync,
		HPADownscaleStabilization: f.hpaDownscale, StartDelay: f.startDelay, WorkerImage: f.workerImage, Log: stderr,
	})
	if err != nil {
		return nil, err
	}
	t.kube, t.amqpURL, t.stop = st.Kube, st.AMQPURL, st.Stop
	t.settings.Cluster = "embedded"
	t.settings.HPASyncPeriod = f.hpaSync.String()
	t.settings.HPADownscaleStabilization = f.hpaDownscale.String()
	t.settings.Backend, t.settings.StartDelay = st.Backend()
	return t, nil
}

// writeResults writes the report's files under --out (or its default) and prints the
// table and where the files are.
func (f *benchFlags) writeResults(stdout io.Writer, rep *report.Report, scenario string) error {
	out, err := outputDir(f.out, f.root, scenario, f.short)
	if err != nil {
		return err
	}
	paths, err := writeOutputs(rep, out)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ntimeline: %s\nreport:   %s\n", paths.png, paths.json)
	return nil
}

type outputPaths struct{ png, json, txt string }

func writeOutputs(r *report.Report, dir string) (outputPaths, error) {
	p := outputPaths{png: filepath.Join(dir, "timeline.png"), json: filepath.Join(dir, "report.json"), txt: filepath.Join(dir, "report.txt")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, err
	}
	if err := r.SavePNG(p.png); err != nil {
		return p, fmt.Errorf("timeline: %w", err)
	}
	for path, write := range map[string]func(io.Writer) error{
		p.json: func(w io.Writer) error { return r.WriteJSON(w, true) },
		p.txt:  r.WriteTable,
	} {
		f, err := os.Create(path)
		if err != nil {
			return p, err
		}
		if err := write(f); err != nil {
			f.Close()
			return p, err
		}
		if err := f.Close(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// outputDir picks the output directory: --out, else bench/results/<date>-<name> in
// the repository, else ./surge-bench-<date>-<name>.
func outputDir(out, root, name string, short bool) (string, error) {
	if out != "" {
		return filepath.Join(out, name+map[bool]string{true: "-short"}[short]), nil
	}
	stamp := time.Now().Format("20060102-150405") + "-" + name
	if short {
		stamp += "-short"
	}
	if root == "" {
		root, _ = stack.FindRoot()
	}
	if root != "" {
		return filepath.Join(root, "bench", "results", stamp), nil
	}
	return filepath.Abs("surge-bench-" + stamp)
}

// parseSet turns KEY=VALUE pairs into a map.
func parseSet(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}
