package main

import (
	"fmt"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writePlot draws rep as a PNG of three panels over time: included MB/s
// (read back from the chain, by block time), each node's lags behind the
// chain head, and each node's RSS.
func writePlot(path string, rep *Report) error {
	tp := plot.New()
	tp.Title.Text = fmt.Sprintf("included blob data, read back from the chain (%.2f MB/s over the load)", rep.IncludedMBps)
	tp.Y.Label.Text = "MB/s"
	tp.X.Label.Text = "s"
	pts := make(plotter.XYs, len(rep.Throughput))
	for i, v := range rep.Throughput {
		pts[i] = plotter.XY{X: float64(i) + 0.5, Y: v}
	}
	mean := make(plotter.XYs, len(rep.Throughput))
	var cum float64
	for i, v := range rep.Throughput {
		cum += v
		mean[i] = plotter.XY{X: float64(i + 1), Y: cum / float64(i+1)}
	}
	if err := plotutil.AddLines(tp, "included per second (by block time)", pts, "running mean", mean); err != nil {
		return fmt.Errorf("loadgen: plot: %w", err)
	}

	lp := plot.New()
	lp.Title.Text = "lag behind the chain head"
	lp.Y.Label.Text = "blocks"
	lp.X.Label.Text = "s"
	rp := plot.New()
	rp.Title.Text = "resident memory (RSS; anonymous: without mapped files; in use: without lazily freed pages)"
	rp.Y.Label.Text = "MB"
	rp.X.Label.Text = "s"

	var lagLines, rssLines []any
	names := make([]string, 0, len(rep.Nodes))
	shared := map[string]bool{}
	for _, n := range rep.Nodes {
		names = append(names, n.Name)
		shared[n.Name] = n.RSSSource == "process (shared by every devnet node)"
	}
	sort.Strings(names)
	sharedPlotted := false
	for _, name := range names {
		var hdr, smp, sto, rss, anon, inUse plotter.XYs
		for _, s := range rep.Samples {
			ns := s.Nodes[name]
			if ns.HeaderHead != nil {
				hdr = append(hdr, plotter.XY{X: s.T, Y: float64(lag(s.ChainHead, *ns.HeaderHead))})
			}
			if ns.SampledHead != nil {
				smp = append(smp, plotter.XY{X: s.T, Y: float64(lag(s.ChainHead, *ns.SampledHead))})
			}
			if ns.StoredHead != nil && ns.SampledHead == nil {
				sto = append(sto, plotter.XY{X: s.T, Y: float64(lag(s.ChainHead, *ns.StoredHead))})
			}
			if ns.RSS != nil {
				rss = append(rss, plotter.XY{X: s.T, Y: *ns.RSS / 1e6})
			}
			if ns.AnonRSS != nil {
				anon = append(anon, plotter.XY{X: s.T, Y: *ns.AnonRSS / 1e6})
			}
			if v := ns.anonInUse(); v != nil {
				inUse = append(inUse, plotter.XY{X: s.T, Y: *v / 1e6})
			}
		}
		if len(hdr) > 0 {
			lagLines = append(lagLines, name+" headers", hdr)
		}
		if len(smp) > 0 {
			label := name + " sampled"
			if rep.modeOf(name) == "full" {
				label = name + " sampled=stored"
			}
			lagLines = append(lagLines, label, smp)
		}
		if len(sto) > 0 {
			lagLines = append(lagLines, name+" stored", sto)
		}
		if len(rss) > 0 && (!shared[name] || !sharedPlotted) {
			label := name
			if shared[name] {
				label, sharedPlotted = "devnet process (its nodes)", true
			}
			rssLines = append(rssLines, label, rss)
			if len(anon) > 0 {
				rssLines = append(rssLines, label+" anonymous", anon)
			}
			if len(inUse) > 0 {
				rssLines = append(rssLines, label+" anonymous in use", inUse)
			}
		}
	}
	if len(lagLines) > 0 {
		if err := plotutil.AddLines(lp, lagLines...); err != nil {
			return fmt.Errorf("loadgen: plot: %w", err)
		}
	}
	if len(rssLines) > 0 {
		if err := plotutil.AddLines(rp, rssLines...); err != nil {
			return fmt.Errorf("loadgen: plot: %w", err)
		}
	} else {
		rp.Title.Text = "resident memory: unavailable (no metrics URL)"
	}
	xmax := float64(len(rep.Throughput))
	if n := len(rep.Samples); n > 0 {
		xmax = max(xmax, rep.Samples[n-1].T)
	}
	for _, p := range []*plot.Plot{tp, lp, rp} {
		p.Legend.Top = true
		p.Legend.Left = true
		p.Y.Min = 0
		p.X.Min, p.X.Max = 0, xmax
	}

	img := vgimg.NewWith(vgimg.UseWH(8*vg.Inch, 9*vg.Inch), vgimg.UseDPI(72))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadX: vg.Points(6), PadY: vg.Points(10)}
	cs := plot.Align([][]*plot.Plot{{tp}, {lp}, {rp}}, tiles, dc)
	tp.Draw(cs[0][0])
	lp.Draw(cs[1][0])
	rp.Draw(cs[2][0])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("loadgen: plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("loadgen: plot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("loadgen: plot: %w", err)
	}
	return nil
}

func (rep *Report) modeOf(name string) string {
	for _, n := range rep.Nodes {
		if n.Name == name {
			return n.Mode
		}
	}
	return ""
}
