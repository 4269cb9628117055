package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// stateVersion is the version of state.json this code writes and reads.
const stateVersion = 1

// podState is an instance as persisted in <dir>/pods/<uid>/state.json. It holds
// the spec (environment included, so the file is 0600 in a 0700 directory) and
// every container's process identity, so a restarted backend re-adopts running
// processes instead of starting duplicates.
type podState struct {
	Version    int                     `json:"version"`
	Spec       *providers.InstanceSpec `json:"spec"`
	CreatedAt  time.Time               `json:"createdAt"`
	StartAt    time.Time               `json:"startAt"` // end of the simulated start delay
	Deleting   bool                    `json:"deleting,omitempty"`
	CgroupV2   bool                    `json:"cgroupV2,omitempty"`
	Containers []containerState        `json:"containers"`
}

// containerState is one container's persisted state.
type containerState struct {
	Name         string                   `json:"name"`
	Executable   string                   `json:"executable"`
	PID          int                      `json:"pid,omitempty"`
	StartTicks   uint64                   `json:"startTicks,omitempty"`
	Cgroups      []string                 `json:"cgroups,omitempty"`
	State        providers.ContainerState `json:"state"`
	Reason       string                   `json:"reason,omitempty"`
	Message      string                   `json:"message,omitempty"`
	ExitCode     int32                    `json:"exitCode"`
	StartedAt    time.Time                `json:"startedAt,omitzero"`
	FinishedAt   time.Time                `json:"finishedAt,omitzero"`
	RestartCount int32                    `json:"restartCount"`
	NextStart    time.Time                `json:"nextStart,omitzero"` // pending restart after back-off
	Backoff      time.Duration            `json:"backoff,omitempty"`
	Done         bool                     `json:"done,omitempty"` // terminated for good
	EverStarted  bool                     `json:"everStarted,omitempty"`
}

func podDir(root, uid string) string { return filepath.Join(root, "pods", uid) }

// save writes s atomically (temporary file, then rename).
func (s *podState) save(dir string) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := filepath.Join(dir, ".state.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "state.json")); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// loadStates reads every instance directory under root. Directories without a
// readable state are returned in broken so the caller can clean them up.
func loadStates(root string) (states map[string]*podState, broken []string, err error) {
	entries, err := os.ReadDir(filepath.Join(root, "pods"))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]*podState{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state directory: %w", err)
	}
	states = map[string]*podState{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := podDir(root, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "state.json"))
		var st podState
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if err != nil || st.Version != stateVersion || st.Spec == nil || st.Spec.Ref.UID != e.Name() ||
			len(st.Containers) != len(st.Spec.Containers) {
			broken = append(broken, dir)
			continue
		}
		states[e.Name()] = &st
	}
	return states, broken, nil
}
