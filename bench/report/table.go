package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the human-readable report: the settings header, the milestones,
// the per-phase distributions and the integrity check.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	for _, l := range r.Settings.Lines() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if err := r.writeMilestones(&b); err != nil {
		return err
	}
	b.WriteByte('\n')
	if err := r.writePhases(&b); err != nil {
		return err
	}
	b.WriteByte('\n')
	r.writeIntegrity(&b)
	r.writePods(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMilestones writes the milestones table: when each was reached after the first
// message was sent, with its value if it has one.
func (r *Report) writeMilestones(b *strings.Builder) error {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "milestone (time since the first message was sent)\tafter\t")
	for _, m := range r.Milestones {
		v := "not reached"
		if m.Reached {
			v = fmtDur(m.After)
			if m.Value != 0 {
				v += fmt.Sprintf(" (%d)", m.Value)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", m.Name, v)
	}
	return tw.Flush()
}

// writePhases writes the per-phase distributions table.
func (r *Report) writePhases(b *strings.Builder) error {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "phase\tn\tp50\tp95\tmax\t")
	for _, p := range r.Phases {
		if p.N == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t\n", p.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", p.Name, p.N, fmtDur(p.P50), fmtDur(p.P95), fmtDur(p.Max))
	}
	return tw.Flush()
}

// writeIntegrity writes the message accounting line, and the lost ids if any.
func (r *Report) writeIntegrity(b *strings.Builder) {
	in := r.Integrity
	verdict := "OK"
	if !in.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(b, "messages: published %d (confirmed), processed %d, lost %d [%s], duplicates %d, requeued at shutdown %d",
		in.Published, in.Processed, in.Lost, verdict, in.Duplicates, in.Requeued)
	if in.PublishFailed > 0 {
		fmt.Fprintf(b, ", not confirmed by the broker %d", in.PublishFailed)
	}
	if in.Unexpected > 0 {
		fmt.Fprintf(b, ", records for unknown ids %d", in.Unexpected)
	}
	b.WriteByte('\n')
	if in.Lost > 0 {
		fmt.Fprintf(b, "lost ids (first %d): %s\n", len(in.LostIDs), strings.Join(in.LostIDs, " "))
	}
}

// writePods writes the pods line.
func (r *Report) writePods(b *strings.Builder) {
	p := r.Pods
	fmt.Fprintf(b, "pods: %d new, %d pre-existing, peak desired %d, peak Running %d, failed %d",
		p.New, p.PreExisting, p.PeakDesired, p.PeakRunning, p.Failed)
	if len(p.Reasons) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(p.Reasons, ", "))
	}
	if len(p.Nodes) > 0 {
		fmt.Fprintf(b, ", on %s", strings.Join(p.Nodes, ", "))
	}
	b.WriteByte('\n')
}

// WriteJSON writes the report as indented JSON. With timeline false the raw timeline
// (samples, pods, records) is left out.
func (r *Report) WriteJSON(w io.Writer, timeline bool) error {
	out := *r
	if !timeline {
		out.Timeline = nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// fmtDur prints d with millisecond resolution ("1.234s", "87ms").
func fmtDur(d time.Duration) string {
	if d < time.Second && d > -time.Second {
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}
