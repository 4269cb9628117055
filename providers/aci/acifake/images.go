package acifake

import (
	"strconv"
	"strings"
)

// Images whose names tell the simulation what their container does. Any other
// image runs until its group is deleted.
const (
	// ImageRunForever runs until deleted.
	ImageRunForever = "surge.test/sleep:forever"
	// ImageUnpullable cannot be pulled: its group's provisioning fails with
	// InaccessibleImage after Config.ProvisionDelay.
	ImageUnpullable = "surge.test/unpullable:latest"
)

// ImageExit returns an image whose container exits with code after Config.RunFor.
func ImageExit(code int) string { return "surge.test/exit:" + strconv.Itoa(code) }

// behaviour is what a container's image makes it do.
type behaviour struct {
	exits      bool
	code       int32
	unpullable bool
}

func imageBehaviour(image string) behaviour {
	repo, tag, _ := strings.Cut(image, ":")
	switch repo {
	case "surge.test/unpullable":
		return behaviour{unpullable: true}
	case "surge.test/exit":
		if n, err := strconv.ParseInt(tag, 10, 32); err == nil {
			return behaviour{exits: true, code: int32(n)}
		}
	}
	return behaviour{}
}
