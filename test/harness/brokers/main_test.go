package brokers

import (
	"testing"

	"github.com/surge-autoscaler/surge/test/harness"
)

// Every test here starts the brokers it checks; Main adds the goroutine-leak check.
func TestMain(m *testing.M) { harness.Main(m, harness.Needs{}, nil) }
