// Package scenarios holds the bench scenarios: one directory per scenario with a
// scenario.yaml (queue, scale target, variables, load plan, timeouts, a short form
// for CI) and the manifests the run applies (every other *.yaml, applied in file-name
// order). The built-in scenarios are embedded; Load also reads a directory, so a
// user can copy one, e.g. to apply a KEDA ScaledObject instead of Surge's.
//
// Manifests may use ${VAR}: the scenario's vars, overridden by the short form and then
// by the caller, plus NAMESPACE, QUEUE, RESULTS_QUEUE, AMQP_URL, WORKER_IMAGE and
// SHUTDOWN_GRACE, which the runner sets. Values are inserted verbatim; a ${VAR} with no
// value is an error, so a typo never applies an empty field.
package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/surge-autoscaler/surge/bench/loadgen"
)

//go:embed */*.yaml
var builtin embed.FS

// Scenario is a parsed scenario.yaml with its manifests.
type Scenario struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Queue       string            `json:"queue"`
	Target      TargetRef         `json:"target"`
	PodSelector string            `json:"podSelector"`
	Vars        map[string]string `json:"vars"`
	Load        []Step            `json:"load"`
	Timeouts    Timeouts          `json:"timeouts"`
	Short       *Variant          `json:"short,omitempty"`

	// Manifests are the other *.yaml files, by file name, in name order.
	Manifests []Manifest `json:"-"`
}

// TargetRef names the scale target.
type TargetRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// Variant overrides vars and load (the short form for CI).
type Variant struct {
	Vars map[string]string `json:"vars"`
	Load []Step            `json:"load"`
}

// Timeouts bound each wait of a run.
type Timeouts struct {
	// Idle: waiting for the target to be at rest (0 replicas, no pods) before the load.
	Idle Duration `json:"idle"`
	// Drain: from the first message until every message is done.
	Drain Duration `json:"drain"`
	// ScaleIn: from drained until the target is back at rest.
	ScaleIn Duration `json:"scaleIn"`
}

// Step is a load step as written in YAML (durations as strings like "30s").
type Step struct {
	Burst      int      `json:"burst,omitempty"`
	Rate       float64  `json:"rate,omitempty"`
	RateTo     float64  `json:"rateTo,omitempty"`
	Duration   Duration `json:"duration,omitempty"`
	Idle       Duration `json:"idle,omitempty"`
	WorkMillis int64    `json:"workMillis,omitempty"`
	Label      string   `json:"label,omitempty"`
}

// Manifest is one manifest file.
type Manifest struct {
	Name string
	Data []byte
}

// Duration is a time.Duration written as a Go duration string in YAML.
type Duration time.Duration

// UnmarshalJSON parses "30s"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %s: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// Names lists the built-in scenarios.
func Names() []string {
	entries, _ := builtin.ReadDir(".")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Load returns the built-in scenario called nameOrDir, or reads the scenario in the
// directory nameOrDir when it contains a path separator or names a directory.
func Load(nameOrDir string) (*Scenario, error) {
	if st, err := os.Stat(nameOrDir); err == nil && st.IsDir() {
		return load(os.DirFS(nameOrDir), ".", nameOrDir)
	}
	if strings.ContainsRune(nameOrDir, '/') {
		return nil, fmt.Errorf("scenario directory %q not found", nameOrDir)
	}
	if !slices.Contains(Names(), nameOrDir) {
		return nil, fmt.Errorf("unknown scenario %q; built-in: %s (or give a directory)", nameOrDir, strings.Join(Names(), ", "))
	}
	return load(builtin, nameOrDir, nameOrDir)
}

func load(fsys fs.FS, dir, display string) (*Scenario, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "scenario.yaml"))
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", display, err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", display, err)
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", display, err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || n == "scenario.yaml" || (!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", display, err)
		}
		s.Manifests = append(s.Manifests, Manifest{Name: n, Data: data})
	}
	if len(s.Manifests) == 0 {
		return nil, fmt.Errorf("scenario %s has no manifests besides scenario.yaml", display)
	}
	return s, nil
}

// Parse decodes and validates a scenario.yaml (without manifests).
func Parse(b []byte) (*Scenario, error) {
	var s Scenario
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return nil, fmt.Errorf("decode scenario.yaml: %w", err)
	}
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if s.Queue == "" {
		errs = append(errs, errors.New("queue is required"))
	}
	if s.Target.APIVersion == "" || s.Target.Kind == "" || s.Target.Name == "" {
		errs = append(errs, errors.New("target needs apiVersion, kind and name"))
	}
	if s.PodSelector == "" {
		errs = append(errs, errors.New("podSelector is required (the target's pods)"))
	}
	if len(s.Load) == 0 {
		errs = append(errs, errors.New("load needs at least one step"))
	}
	if _, err := loadgen.Schedule(s.Plan(false)); err != nil {
		errs = append(errs, fmt.Errorf("load: %w", err))
	}
	if s.Short != nil && len(s.Short.Load) > 0 {
		if _, err := loadgen.Schedule(s.Plan(true)); err != nil {
			errs = append(errs, fmt.Errorf("short.load: %w", err))
		}
	}
	for k := range s.Vars {
		if !varName.MatchString(k) {
			errs = append(errs, fmt.Errorf("var %q: names are [A-Z_][A-Z0-9_]*", k))
		}
	}
	if s.Timeouts.Idle <= 0 {
		s.Timeouts.Idle = Duration(3 * time.Minute)
	}
	if s.Timeouts.Drain <= 0 {
		s.Timeouts.Drain = Duration(5 * time.Minute)
	}
	if s.Timeouts.ScaleIn <= 0 {
		s.Timeouts.ScaleIn = Duration(5 * time.Minute)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &s, nil
}

// Plan returns the load plan, the short form's when short is set and it has one.
func (s *Scenario) Plan(short bool) []loadgen.Step {
	steps := s.Load
	if short && s.Short != nil && len(s.Short.Load) > 0 {
		steps = s.Short.Load
	}
	out := make([]loadgen.Step, len(steps))
	for i, st := range steps {
		out[i] = loadgen.Step{Burst: st.Burst, Rate: st.Rate, RateTo: st.RateTo, Duration: time.Duration(st.Duration),
			Idle: time.Duration(st.Idle), WorkMillis: st.WorkMillis, Label: st.Label}
	}
	return out
}

// Variables merges the scenario's vars, the short form's (if short) and extra, later
// ones winning.
func (s *Scenario) Variables(short bool, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range s.Vars {
		out[k] = v
	}
	if short && s.Short != nil {
		for k, v := range s.Short.Vars {
			out[k] = v
		}
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var (
	varName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	varRef  = regexp.MustCompile(`\$\{([^}]*)\}`)
)

// Expand replaces every ${VAR} in data with vars[VAR]. An unknown or malformed
// reference is an error naming it.
func Expand(data []byte, vars map[string]string) ([]byte, error) {
	var missing []string
	out := varRef.ReplaceAllFunc(data, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := vars[name]
		if !ok || !varName.MatchString(name) {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return m
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("no value for ${%s}", strings.Join(missing, "}, ${"))
	}
	return out, nil
}
