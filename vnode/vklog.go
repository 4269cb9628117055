package vnode

import (
	"fmt"
	"sort"

	"github.com/go-logr/logr"
	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
)

// VKLogger adapts a logr.Logger to virtual-kubelet's logger, so its logs go
// through the same pipeline as ours. virtual-kubelet logs routine events (a pod
// created, a status updated) at Info: they go to V(2); its Debug goes to V(4).
// Fatal logs at error level and does not exit.
func VKLogger(l logr.Logger) vklog.Logger { return vkLogger{l: l} }

type vkLogger struct{ l logr.Logger }

func (v vkLogger) Debug(a ...any)            { v.l.V(4).Info(fmt.Sprint(a...)) }
func (v vkLogger) Debugf(f string, a ...any) { v.l.V(4).Info(fmt.Sprintf(f, a...)) }
func (v vkLogger) Info(a ...any)             { v.l.V(2).Info(fmt.Sprint(a...)) }
func (v vkLogger) Infof(f string, a ...any)  { v.l.V(2).Info(fmt.Sprintf(f, a...)) }
func (v vkLogger) Warn(a ...any)             { v.l.Info(fmt.Sprint(a...), "level", "warning") }
func (v vkLogger) Warnf(f string, a ...any)  { v.l.Info(fmt.Sprintf(f, a...), "level", "warning") }
func (v vkLogger) Error(a ...any)            { v.l.Error(nil, fmt.Sprint(a...)) }
func (v vkLogger) Errorf(f string, a ...any) { v.l.Error(nil, fmt.Sprintf(f, a...)) }
func (v vkLogger) Fatal(a ...any)            { v.l.Error(nil, fmt.Sprint(a...), "fatal", true) }
func (v vkLogger) Fatalf(f string, a ...any) { v.l.Error(nil, fmt.Sprintf(f, a...), "fatal", true) }

func (v vkLogger) WithField(k string, val any) vklog.Logger {
	return vkLogger{l: v.l.WithValues(k, val)}
}

func (v vkLogger) WithFields(f vklog.Fields) vklog.Logger {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, f[k])
	}
	return vkLogger{l: v.l.WithValues(kv...)}
}

func (v vkLogger) WithError(err error) vklog.Logger {
	return vkLogger{l: v.l.WithValues("err", err)}
}
