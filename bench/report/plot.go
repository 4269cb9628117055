package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Colours of the timeline's series.
var (
	colDepth   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colDone    = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
	colDesired = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colRunning = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colPods    = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colMark    = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
)

// markers are the milestones drawn as vertical lines, with their short labels.
var markers = []struct{ name, label string }{
	{MsDetected, "detected"},
	{MsFirstRunning, "first Running"},
	{MsAllRunning, "all Running"},
	{MsDrained, "drained"},
	{MsScaledToZero, "back to start"},
}

// WritePNG draws the timeline: queue depth (and messages done) on top, desired
// replicas and pods below, over seconds since the first message, with the milestones
// as vertical markers and the settings as the header.
func (r *Report) WritePNG(w io.Writer) error {
	if r.Timeline == nil || len(r.Timeline.Samples) == 0 {
		return fmt.Errorf("no samples to draw")
	}
	legend := plot.NewLegend()
	legend.TextStyle.Font = font.From(plot.DefaultFont, 9)
	legend.Top, legend.Left = true, false
	top, bottom, err := r.plots(&legend)
	if err != nil {
		return err
	}
	const width, height = 12 * vg.Inch, 8 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)

	// Header: the settings that change the figures.
	sty := draw.TextStyle{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, 9),
		Handler: plot.DefaultTextHandler,
		XAlign:  draw.XLeft,
		YAlign:  draw.YTop,
	}
	lines := r.Settings.Lines()
	lineH := sty.FontExtents().Height * 1.25
	for i, l := range lines {
		dc.FillText(sty, vg.Point{X: dc.Min.X + 10, Y: dc.Max.Y - 8 - vg.Length(i)*lineH}, l)
	}
	// The legend sits in the header's right-hand part, clear of the data and markers.
	headerH := vg.Length(max(len(lines), 5))*lineH + 14
	legend.Draw(draw.Crop(dc, width*0.74, -10, height-headerH, -6))
	body := draw.Crop(dc, 0, 0, 0, -headerH)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: 4, PadBottom: 4, PadLeft: 4, PadRight: 12, PadY: 10}
	cs := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, body)
	top.Draw(cs[0][0])
	bottom.Draw(cs[1][0])
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	return nil
}

// SavePNG writes the timeline PNG to path (creating its directory).
func (r *Report) SavePNG(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WritePNG(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// plots returns the timeline's two plots, queue on top and scale below, adding each
// series to legend.
func (r *Report) plots(legend *plot.Legend) (*plot.Plot, *plot.Plot, error) {
	s := r.series()
	top, bottom := r.newPlots(s.maxDepth, s.maxReplicas)
	lines := []struct {
		p      *plot.Plot
		name   string
		xys    plotter.XYs
		c      color.Color
		step   plotter.StepKind
		dashes []vg.Length
	}{
		{top, "queue depth (ready messages)", s.depth, colDepth, plotter.NoStep, nil},
		{top, "messages done", s.done, colDone, plotter.NoStep, []vg.Length{4, 3}},
		{bottom, "desired replicas (spec.replicas)", s.desired, colDesired, plotter.PostStep, nil},
		{bottom, "pods (not terminating)", s.pods, colPods, plotter.PostStep, []vg.Length{4, 3}},
		{bottom, "pods Running", s.running, colRunning, plotter.PostStep, nil},
	}
	for _, l := range lines {
		if err := addLine(l.p, legend, l.name, l.xys, l.c, l.step, l.dashes); err != nil {
			return nil, nil, err
		}
	}
	if err := r.addMilestones(top, bottom); err != nil {
		return nil, nil, err
	}
	return top, bottom, nil
}

// timelineSeries are the timeline's samples as plot points (x in seconds since T0),
// with the largest values each plot must show.
type timelineSeries struct {
	depth, done, desired, running, pods plotter.XYs
	maxDepth, maxReplicas               float64
}

// series turns the samples into points; unknown values (negative) are left out.
func (r *Report) series() timelineSeries {
	n := len(r.Timeline.Samples)
	s := timelineSeries{
		depth: make(plotter.XYs, 0, n), done: make(plotter.XYs, 0, n),
		desired: make(plotter.XYs, 0, n), running: make(plotter.XYs, 0, n), pods: make(plotter.XYs, 0, n),
		maxDepth: 1, maxReplicas: 1,
	}
	for _, sm := range r.Timeline.Samples {
		t := r.sec(sm.At)
		if sm.Depth >= 0 {
			s.depth = append(s.depth, plotter.XY{X: t, Y: float64(sm.Depth)})
			s.maxDepth = max(s.maxDepth, float64(sm.Depth))
		}
		s.done = append(s.done, plotter.XY{X: t, Y: float64(sm.Done)})
		s.maxDepth = max(s.maxDepth, float64(sm.Done))
		if sm.Desired >= 0 {
			s.desired = append(s.desired, plotter.XY{X: t, Y: float64(sm.Desired)})
			s.maxReplicas = max(s.maxReplicas, float64(sm.Desired))
		}
		s.running = append(s.running, plotter.XY{X: t, Y: float64(sm.Running)})
		s.pods = append(s.pods, plotter.XY{X: t, Y: float64(sm.Pods)})
		s.maxReplicas = max(s.maxReplicas, float64(sm.Pods))
	}
	return s
}

// sec returns at in seconds since the report's T0.
func (r *Report) sec(at time.Time) float64 { return at.Sub(r.T0).Seconds() }

// newPlots returns the empty queue and scale plots, their x axes spanning the samples
// and their y axes room above maxDepth and maxReplicas.
func (r *Report) newPlots(maxDepth, maxReplicas float64) (top, bottom *plot.Plot) {
	samples := r.Timeline.Samples
	top = plot.New()
	top.Title.Text = "queue"
	top.Y.Label.Text = "messages"
	top.Y.Min, top.Y.Max = 0, maxDepth*1.2
	bottom = plot.New()
	bottom.Title.Text = "scale"
	bottom.Y.Label.Text = "replicas / pods"
	bottom.X.Label.Text = "seconds since the first message was sent"
	bottom.Y.Min, bottom.Y.Max = 0, maxReplicas*1.15
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = r.sec(samples[0].At), r.sec(samples[len(samples)-1].At)
		p.X.Tick.Marker = secondsTicker{}
		p.Y.Tick.Marker = countTicker{}
		p.Add(plotter.NewGrid())
	}
	return top, bottom
}

// addMilestones draws each milestone reached as a vertical marker on both plots and
// labels them on the top one, staggered.
func (r *Report) addMilestones(top, bottom *plot.Plot) error {
	var labels plotter.XYLabels
	for i, m := range markers {
		ms := r.Milestone(m.name)
		if !ms.Reached {
			continue
		}
		t := ms.After.Seconds()
		for _, p := range []*plot.Plot{top, bottom} {
			l, err := plotter.NewLine(plotter.XYs{{X: t, Y: 0}, {X: t, Y: p.Y.Max}})
			if err != nil {
				return err
			}
			l.Color, l.Dashes, l.Width = colMark, []vg.Length{2, 2}, vg.Points(0.8)
			p.Add(l)
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: t, Y: top.Y.Max * (0.97 - 0.07*float64(i%4))})
		labels.Labels = append(labels.Labels, fmt.Sprintf(" %s %.2fs", m.label, t))
	}
	if len(labels.Labels) == 0 {
		return nil
	}
	lb, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font = font.From(plot.DefaultFont, 8)
		lb.TextStyle[i].Color = colMark
	}
	top.Add(lb)
	return nil
}

func addLine(p *plot.Plot, legend *plot.Legend, name string, xys plotter.XYs, c color.Color, step plotter.StepKind, dashes []vg.Length) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %q: %w", name, err)
	}
	l.Color, l.Width, l.StepStyle, l.Dashes = c, vg.Points(1.6), step, dashes
	p.Add(l)
	legend.Add(name, l)
	return nil
}

// secondsTicker labels the time axis at a round step giving at most ~16 labels.
type secondsTicker struct{}

// Ticks implements plot.Ticker.
func (secondsTicker) Ticks(lo, hi float64) []plot.Tick {
	step := 600.0
	for _, s := range []float64{0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300} {
		if (hi-lo)/s <= 16 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		if math.Abs(v) < step/1e6 {
			v = 0 // not "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// countTicker labels a count axis with whole numbers only.
type countTicker struct{}

// Ticks implements plot.Ticker.
func (countTicker) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000} {
		step = s
		if (hi-lo)/s <= 8 {
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
