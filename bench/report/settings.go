package report

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Settings are everything that changes a run's figures; the table's header and the
// PNG's title print them all, so a figure is never quoted without its conditions.
type Settings struct {
	Scenario string `json:"scenario"`
	Short    bool   `json:"short,omitempty"`
	// Autoscaler is what scaled the target ("surge.dev/v1alpha1 ScaledObject", or a
	// KEDA ScaledObject when a scenario applies one).
	Autoscaler string `json:"autoscaler"`
	// PollingInterval, CooldownPeriod and BurstStart come from the applied ScaledObject.
	PollingInterval time.Duration `json:"-"`
	CooldownPeriod  time.Duration `json:"-"`
	PollingSeconds  float64       `json:"polling_interval_s"`
	CooldownSeconds float64       `json:"cooldown_period_s"`
	BurstStart      bool          `json:"burst_start"`
	// Trigger is the first trigger's type, TriggerValue its target value per replica;
	// MaxReplicas the cap.
	Trigger      string `json:"trigger,omitempty"`
	TriggerValue string `json:"trigger_value,omitempty"`
	MaxReplicas  int    `json:"max_replicas,omitempty"`
	// HPASyncPeriod is the kube-controller-manager's HPA sync period ("" if unknown,
	// e.g. an external cluster where it was not stated with --hpa-sync-period).
	HPASyncPeriod string `json:"hpa_sync_period"`
	// HPADownscaleStabilization is the controller-manager's default downscale window
	// ("" if unknown); HPABehavior says whether the ScaledObject sets spec.behavior.
	HPADownscaleStabilization string `json:"hpa_downscale_stabilization,omitempty"`
	HPABehavior               string `json:"hpa_behavior,omitempty"`
	// Backend is the burst node's backend ("local", "aci", ...) and StartDelay its
	// simulated cold start ("off" when none).
	Backend    string `json:"backend"`
	StartDelay string `json:"start_delay"`
	// Messages and WorkTime describe the load.
	Load     string        `json:"load"`
	Messages int           `json:"messages"`
	WorkTime time.Duration `json:"-"`
	WorkMs   float64       `json:"work_ms"`
	// Machine: cores and the 1/5/15-minute load averages before and after the run.
	Cores      int    `json:"cores"`
	LoadBefore string `json:"loadavg_before"`
	LoadAfter  string `json:"loadavg_after"`
	// Cluster is "embedded" or the external cluster's server; KubeVersion its version.
	Cluster     string    `json:"cluster"`
	KubeVersion string    `json:"kube_version,omitempty"`
	Date        time.Time `json:"date"`
	GoVersion   string    `json:"go_version"`
}

// Fill sets the derived JSON fields and the machine's cores and Go version.
func (s *Settings) Fill() {
	s.PollingSeconds = s.PollingInterval.Seconds()
	s.CooldownSeconds = s.CooldownPeriod.Seconds()
	s.WorkMs = millis(s.WorkTime)
	if s.Cores == 0 {
		s.Cores = runtime.NumCPU()
	}
	if s.GoVersion == "" {
		s.GoVersion = runtime.Version()
	}
}

// Lines renders the settings as a few header lines.
func (s Settings) Lines() []string {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	unknown := func(v string) string {
		if v == "" {
			return "unknown"
		}
		return v
	}
	name := s.Scenario
	if s.Short {
		name += " (short form)"
	}
	lines := []string{
		fmt.Sprintf("scenario %s · load %s (%d messages, work %v each) · %s",
			name, s.Load, s.Messages, s.WorkTime, s.Date.Format("2006-01-02 15:04 MST")),
		fmt.Sprintf("autoscaler %s · pollingInterval %v · cooldownPeriod %v · burstStart %s · trigger %s %s/replica · max %d",
			unknown(s.Autoscaler), s.PollingInterval, s.CooldownPeriod, onOff(s.BurstStart), unknown(s.Trigger), unknown(s.TriggerValue), s.MaxReplicas),
		fmt.Sprintf("HPA sync period %s · downscale stabilization %s · HPA behavior %s · backend %s (simulated start delay %s) · cluster %s %s",
			unknown(s.HPASyncPeriod), unknown(s.HPADownscaleStabilization), unknown(s.HPABehavior), unknown(s.Backend), unknown(s.StartDelay), unknown(s.Cluster), s.KubeVersion),
		fmt.Sprintf("machine %d cores · load average before %s · after %s · %s",
			s.Cores, unknown(s.LoadBefore), unknown(s.LoadAfter), s.GoVersion),
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

// LoadAverage returns the 1, 5 and 15 minute load averages from /proc/loadavg, or ""
// where that file does not exist.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
