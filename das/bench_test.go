package das_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// sliceHeaders serves headers from a slice, heights from 1.
type sliceHeaders []*header.ExtendedHeader

func (s sliceHeaders) GetByHeight(_ context.Context, h uint64) (*header.ExtendedHeader, error) {
	if h == 0 || h > uint64(len(s)) {
		return nil, fmt.Errorf("height %d: %w", h, header.ErrNotFound)
	}
	return s[h-1], nil
}

func (s sliceHeaders) Height() uint64 { return uint64(len(s)) }

// BenchmarkCatchUp samples a chain of 1,000 headers of k=32 squares from an
// in-memory getter: the DASer's own cost (scheduling, coordinates, proof
// building by the getter and verification, 16 samples per header), not the
// network's. Keeping 1,000 real 64×64 squares would take 2 GB, so the chain
// reuses 16 real headers with their real squares under successive heights
// (the DASer reads only a header's height, time and DAH).
func BenchmarkCatchUp(b *testing.B) {
	const n, distinct = 1000, 16
	var squares []*eds.ExtendedDataSquare
	gen := headertest.NewGenerator(headertest.Options{
		Seed: 3, Blobs: 48, MaxBlobSize: 12000,
		OnSquare: func(_ int64, sq *eds.ExtendedDataSquare) { squares = append(squares, sq) },
	})
	var real []*header.ExtendedHeader
	for len(real) < distinct {
		h := gen.Must(b)
		if h.DAH.SquareSize() == 32 {
			real = append(real, h)
		}
	}
	bySquare := map[*eds.DataAvailabilityHeader]*eds.ExtendedDataSquare{}
	for _, sq := range squares {
		dah, err := eds.NewDAH(sq)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range real {
			if h.DAH.Equals(dah) {
				bySquare[h.DAH] = sq
			}
		}
	}
	hs := make(sliceHeaders, n)
	for i := range hs {
		c := *real[i%distinct]
		c.RawHeader.Height = int64(i + 1)
		hs[i] = &c
	}
	g := memGetter(bySquare)
	for _, withDB := range []bool{false, true} {
		b.Run(map[bool]string{false: "checkpoint=memory", true: "checkpoint=badger"}[withDB], func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				opts := das.Options{Rand: newPCG(uint64(i)), SampleFrom: 1}
				if withDB {
					b.StopTimer()
					opts.DB = openDB(b, b.TempDir())
					b.StartTimer()
				}
				d, err := das.New(hs, g, opts)
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Start(b.Context()); err != nil {
					b.Fatal(err)
				}
				if err := d.WaitCatchUp(b.Context()); err != nil {
					b.Fatal(err)
				}
				if st := d.Stats(); st.Sampled != n {
					b.Fatalf("stats: %+v", st)
				}
				if err := d.Stop(b.Context()); err != nil {
					b.Fatal(err)
				}
				if withDB {
					b.StopTimer()
					if err := opts.DB.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "headers/s")
		})
	}
}

// memGetter serves samples of squares by their header's DAH.
type memGetter map[*eds.DataAvailabilityHeader]*eds.ExtendedDataSquare

func (g memGetter) GetSample(_ context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	sq := g[h.DAH]
	if sq == nil {
		return nil, das.ErrUnavailable
	}
	return sq.Sample(row, col, eds.Row)
}
