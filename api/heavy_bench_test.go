package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// fixedGetter serves one square for every header (the benchmark measures
// encoding and sending, not verification).
type fixedGetter struct {
	squareGetter
	sq *eds.ExtendedDataSquare
}

func (g fixedGetter) GetEDS(context.Context, *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	return g.sq, nil
}

func square128(b *testing.B) *eds.ExtendedDataSquare {
	sq, err := eds.Extend(edstest.RandomODS(128, 128, 0))
	if err != nil {
		b.Fatal(err)
	}
	return sq
}

// BenchmarkEDSJSON: bytes allocated to encode a k = 128 square's JSON, by
// the share module (one exact-size buffer) and by encoding/json over the
// shares as the module did before (a [][]byte of cells, a growing buffer,
// a copy out).
func BenchmarkEDSJSON(b *testing.B) {
	sq := square128(b)
	b.Run("module", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (api.ExtendedDataSquare{Square: sq}).MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := sq.Width()
			cells := make([][]byte, 0, w*w)
			for r := range w {
				cells = append(cells, sq.Row(r)...)
			}
			if _, err := json.Marshal(struct {
				DataSquare [][]byte `json:"data_square"`
				Codec      string   `json:"codec"`
			}{cells, "Leopard"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetEDSConcurrent: 100 clients, each with its own token, call
// share.GetEDS of a k = 128 square (5 heights) at once over loopback and
// read the answer through; it reports the calls served and refused busy,
// and the process's peak RSS (VmHWM, clients included; run it alone:
// go test -run '^$' -bench GetEDSConcurrent/limited -benchtime 1x ./api/).
// "unlimited" has no limiter.
func BenchmarkGetEDSConcurrent(b *testing.B) {
	for _, limited := range []bool{true, false} {
		name := "unlimited"
		if limited {
			name = "limited"
		}
		b.Run(name, func(b *testing.B) {
			c := newChain(b, 5, 55)
			g := fixedGetter{squareGetter{c}, square128(b)}
			var opts api.ModuleOptions
			if limited {
				lim, err := api.NewLimiter(api.HeavyOptions{})
				if err != nil {
					b.Fatal(err)
				}
				opts.Limiter = lim
			}
			url := benchServer(b, c, g, opts)
			toks := make([]string, 100)
			for i := range toks {
				tok, err := api.NewToken(testSecret, api.PermsFor(api.PermRead), time.Hour+time.Duration(i)*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				toks[i] = tok
			}
			var ok, busy, other atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for i, tok := range toks {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
						defer cancel()
						switch res := benchCall(ctx, url, tok, uint64(1+i%5)); {
						case res == "ok":
							ok.Add(1)
						case strings.Contains(res, "busy"):
							busy.Add(1)
						default:
							other.Add(1)
							b.Log(res)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(ok.Load())/float64(b.N), "served/op")
			b.ReportMetric(float64(busy.Load())/float64(b.N), "busy/op")
			b.ReportMetric(float64(other.Load())/float64(b.N), "failed/op")
			b.ReportMetric(peakRSSMB(b), "peakRSS-MB")
		})
	}
}

func benchServer(b *testing.B, c *chain, g api.ShareGetter, opts api.ModuleOptions) string {
	ctx := context.Background()
	headers, err := api.NewHeaders(api.HeaderOptions{Store: memStoreOf(b, c), PollInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	shares, err := api.NewShares(api.ShareOptions{Headers: headers, Getter: g})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := api.NewServer(api.ServerOptions{Addr: "127.0.0.1:0", Secret: testSecret},
		api.Modules{Share: api.NewShareModule(shares, opts)})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Stop(ctx) })
	return "http://" + srv.Addr()
}

func memStoreOf(b *testing.B, c *chain) *headertest.MemStore {
	store := headertest.NewMemStore()
	if err := store.Append(context.Background(), c.headers...); err != nil {
		b.Fatal(err)
	}
	return store
}

// benchCall calls share.GetEDS and reads the answer through without
// keeping it: "ok" for a result, else the error's message.
func benchCall(ctx context.Context, url, tok string, height uint64) string {
	body := callBody("share.GetEDS", json.RawMessage(fmt.Sprintf("[%d]", height)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(resp.Body, head)
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err.Error()
	}
	if bytes.Contains(head[:n], []byte(`"result":{"data_square"`)) {
		return "ok"
	}
	return string(head[:n])
}

// peakRSSMB returns the process's peak resident set (VmHWM) in MB, 0 where
// /proc is missing.
func peakRSSMB(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	return 0
}
