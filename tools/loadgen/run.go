package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// submitted is one blob blob.Submit accepted.
type submitted struct {
	height uint64
	ns     share.Namespace
	com    blob.Commitment
	size   int
}

// runner holds a run's state; its fields after mu are guarded by mu.
type runner struct {
	cfg   Config
	start time.Time
	hc    *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	pace     *pacer
	issued   int
	ok       []submitted
	latency  []time.Duration
	errs     map[string]int
	retries  int
	failed   int
	okAt     []time.Time // return time of each ok submit
	samples  []Sample
	loadEnd  time.Time
	nodeMode map[string]string

	chainHead uint64 // the last sample's chain head; the sampling goroutine's own
}

// verifyBudget is how long reading every submitted blob back may take: a
// minute, plus a second per 5 MB submitted (blob.GetAll answers in JSON,
// base64 inside; a 10-minute run at 16 MB/s reads back 9.6 GB).
func (r *runner) verifyBudget() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, s := range r.ok {
		n += int64(s.size)
	}
	return time.Minute + time.Duration(n/5e6)*time.Second
}

// Run performs cfg's load and returns its report.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	r := &runner{cfg: cfg, hc: &http.Client{Timeout: 5 * time.Second},
		rng:  rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6c6f616467656e)),
		errs: map[string]int{}, nodeMode: map[string]string{}}

	subs := make([]*client.Client, len(cfg.Submit))
	var err error
	for i, n := range cfg.Submit {
		if subs[i], err = client.New(ctx, n.RPC, n.Token); err != nil {
			return nil, fmt.Errorf("loadgen: submit node %s: %w", n.Name, err)
		}
		defer subs[i].Close()
	}
	sub := subs[0]
	params, err := sub.State.Params(ctx)
	if err != nil {
		return nil, fmt.Errorf("loadgen: state.Params of the submit node: %w", err)
	}
	if params.MaxBlobSize > 0 && cfg.Sizes.Max() > params.MaxBlobSize {
		return nil, fmt.Errorf("loadgen: --sizes reaches %d bytes, over the chain's max_blob_size %d", cfg.Sizes.Max(), params.MaxBlobSize)
	}
	watch := make([]*client.Client, len(cfg.Watch))
	for i, n := range cfg.Watch {
		if watch[i], err = client.New(ctx, n.RPC, n.Token); err != nil {
			return nil, fmt.Errorf("loadgen: node %s: %w", n.Name, err)
		}
		defer watch[i].Close()
		r.nodeMode[n.Name] = nodeMode(ctx, watch[i], n.Name)
	}
	nss := make([]share.Namespace, cfg.Namespaces)
	for i := range nss {
		id := make([]byte, 10)
		copy(id, "lg")
		for j := 2; j < 10; j++ {
			id[j] = byte(r.rng.Uint32())
		}
		if nss[i], err = share.NewV0Namespace(id); err != nil {
			return nil, fmt.Errorf("loadgen: namespace: %w", err)
		}
	}

	r.start = time.Now()
	r.pace = newPacer(cfg.Rate, r.start)
	loadCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		loadCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { r.sample(sampleCtx, watch) })

	var workers sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		seed := r.rng.Uint64()
		c := subs[w%len(subs)]
		workers.Go(func() { r.work(loadCtx, c, nss, seed) })
	}
	workers.Wait()
	r.mu.Lock()
	r.loadEnd = time.Now()
	r.mu.Unlock()
	fmt.Fprintf(log, "loadgen: load done after %s; verifying inclusion\n", r.loadEnd.Sub(r.start).Round(time.Millisecond))

	verifier := sub
	for i, n := range cfg.Watch {
		if r.nodeMode[n.Name] == "full" || r.nodeMode[n.Name] == "bridge" {
			verifier = watch[i] // holds the squares: GetAll without sampling the network
			break
		}
	}
	vctx, vcancel := context.WithTimeout(ctx, r.verifyBudget())
	blocks, missing, verr := r.verify(vctx, verifier)
	vcancel()
	// A couple more seconds of samples show the nodes catching up.
	select {
	case <-time.After(2 * cfg.Interval):
	case <-ctx.Done():
	}
	stopSampling()
	sampling.Wait()
	rep := r.report(blocks, missing)
	if verr != nil {
		rep.Notes = append(rep.Notes, "inclusion check incomplete: "+verr.Error())
	}
	return rep, nil
}

// nodeMode asks node.Info for the node's type, falling back to the name
// (a devnet names its nodes bridge, full, light).
func nodeMode(ctx context.Context, c *client.Client, name string) string {
	if info, err := c.Node.Info(ctx); err == nil {
		switch info.Type {
		case api.NodeBridge:
			return "bridge"
		case api.NodeFull:
			return "full"
		case api.NodeLight:
			return "light"
		}
	}
	switch name {
	case "bridge", "full", "light":
		return name
	}
	return "unknown"
}

// work submits blobs until ctx ends or the count is reached.
func (r *runner) work(ctx context.Context, sub *client.Client, nss []share.Namespace, seed uint64) {
	src := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24),
		byte(seed >> 32), byte(seed >> 40), byte(seed >> 48), byte(seed >> 56)})
	for {
		r.mu.Lock()
		if r.cfg.Count > 0 && r.issued >= r.cfg.Count {
			r.mu.Unlock()
			return
		}
		r.issued++
		size := r.cfg.Sizes.Draw(r.rng)
		ns := nss[r.rng.IntN(len(nss))]
		wait := r.pace.reserve(size, time.Now())
		r.mu.Unlock()
		if !sleep(ctx, wait) {
			return
		}
		data := make([]byte, size)
		_, _ = src.Read(data) // ChaCha8.Read never fails
		b, err := blob.New(ns, data)
		if err != nil {
			r.fail(errOther, false)
			continue
		}
		r.submit(ctx, sub, b, size)
	}
}

// submit sends one blob, retrying refusals for load up to cfg.Retries times.
func (r *runner) submit(ctx context.Context, sub *client.Client, b *blob.Blob, size int) {
	var txc state.TxConfig
	if r.cfg.GasPriceSet {
		txc.GasPrice, txc.IsGasPriceSet = r.cfg.GasPrice, true
	}
	t0 := time.Now()
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		h, err := sub.Blob.Submit(ctx, []*blob.Blob{b}, &txc)
		if err == nil {
			now := time.Now()
			r.mu.Lock()
			r.ok = append(r.ok, submitted{height: h, ns: b.Namespace, com: b.Commitment, size: size})
			r.latency = append(r.latency, now.Sub(t0))
			r.okAt = append(r.okAt, now)
			r.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			// The run's end cut the submit short: not an error of the node.
			return
		}
		kind := classify(err)
		retry := retryable(kind) && attempt < r.cfg.Retries
		r.fail(kind, retry)
		if !retry {
			return
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// fail counts an error of kind; retried says whether the submit goes on.
func (r *runner) fail(kind string, retried bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[kind]++
	if retried {
		r.retries++
	} else {
		r.failed++
	}
}

// verify reads back, at each height blob.Submit returned, the blobs in our
// namespaces and sums the bytes of those whose commitment we submitted.
func (r *runner) verify(ctx context.Context, c *client.Client) ([]blockBytes, int, error) {
	r.mu.Lock()
	byHeight := map[uint64][]submitted{}
	for _, s := range r.ok {
		byHeight[s.height] = append(byHeight[s.height], s)
	}
	r.mu.Unlock()
	var (
		mu      sync.Mutex
		blocks  []blockBytes
		missing int
		firstEr error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, 2) // a node serves 2 blob.GetAll per token at once
	)
	for h, subs := range byHeight {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			bb, miss, err := verifyHeight(ctx, c, h, subs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstEr == nil {
					firstEr = err
				}
				return
			}
			blocks = append(blocks, bb)
			missing += miss
		})
	}
	wg.Wait()
	return blocks, missing, firstEr
}

func verifyHeight(ctx context.Context, c *client.Client, h uint64, subs []submitted) (blockBytes, int, error) {
	hdr, err := c.Header.WaitForHeight(ctx, h)
	if err != nil {
		return blockBytes{}, 0, fmt.Errorf("header %d: %w", h, err)
	}
	var nss []share.Namespace
	seen := map[share.Namespace]bool{}
	for _, s := range subs {
		if !seen[s.ns] {
			seen[s.ns] = true
			nss = append(nss, s.ns)
		}
	}
	var got []*blob.Blob
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		got, err = c.Blob.GetAll(ctx, h, nss)
		if err == nil {
			break
		}
		if classify(err) != errBusy {
			return blockBytes{}, 0, fmt.Errorf("blob.GetAll at %d: %w", h, err)
		}
		if !sleep(ctx, wait) {
			return blockBytes{}, 0, fmt.Errorf("blob.GetAll at %d: %w", h, err)
		}
	}
	onChain := map[string]int{}
	for _, b := range got {
		onChain[string(b.Commitment)] = len(b.Data)
	}
	bb := blockBytes{Height: h, Time: hdr.Time()}
	miss := 0
	for _, s := range subs {
		if n, ok := onChain[string(s.com)]; ok {
			bb.Bytes += int64(n)
		} else {
			miss++
		}
	}
	return bb, miss, nil
}

// sample records, every interval until ctx ends, the chain head and each
// watched node's heads and RSS.
func (r *runner) sample(ctx context.Context, watch []*client.Client) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		s := r.sampleOnce(ctx, watch)
		r.mu.Lock()
		r.samples = append(r.samples, s)
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *runner) sampleOnce(ctx context.Context, watch []*client.Client) Sample {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Interval)
	defer cancel()
	s := Sample{T: time.Since(r.start).Seconds(), Nodes: map[string]NodeSample{}}
	var maxHead uint64
	for i, n := range r.cfg.Watch {
		ns := NodeSample{}
		c := watch[i]
		if h, err := c.Header.LocalHead(ctx); err == nil {
			v := h.Height()
			ns.HeaderHead = &v
			maxHead = max(maxHead, v)
		}
		mode := r.nodeMode[n.Name]
		if mode == "light" || mode == "full" || mode == "unknown" {
			if st, err := c.DAS.SamplingStats(ctx); err == nil {
				v := st.SampledChainHead
				ns.SampledHead = &v
				if mode == "full" {
					ns.StoredHead = &v // a full node's DASer fetches and stores whole squares
				}
			}
		}
		if mode == "bridge" && ns.HeaderHead != nil {
			v := *ns.HeaderHead // a bridge stores a square before its header
			ns.StoredHead = &v
		}
		if n.Metrics != "" {
			if m, err := scrape(ctx, r.hc, n.Metrics); err == nil {
				ns.RSS = series(m, "process_resident_memory_bytes")
				ns.AnonRSS = series(m, "meshnode_process_anon_memory_bytes")
				ns.LazyFree = series(m, "meshnode_process_lazyfree_memory_bytes")
				ns.HeapInuse = series(m, "go_memstats_heap_inuse_bytes")
			}
		}
		s.Nodes[n.Name] = ns
	}
	s.ChainHead = max(maxHead, r.chainHead) // a head never goes back: a failed read keeps the last
	if r.cfg.CoreRPC != "" {
		if h, err := coreHeight(ctx, r.hc, r.cfg.CoreRPC); err == nil {
			s.ChainHead = max(h, s.ChainHead)
		}
	}
	r.chainHead = s.ChainHead
	return s
}

// coreHeight reads latest_block_height from a CometBFT RPC's /status.
func coreHeight(ctx context.Context, hc *http.Client, rpc string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rpc+"/status", nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Result struct {
			SyncInfo struct {
				Height string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return 0, fmt.Errorf("loadgen: core /status: %w", err)
	}
	h, err := strconv.ParseUint(st.Result.SyncInfo.Height, 10, 64)
	if err != nil {
		return 0, errors.New("loadgen: core /status: no latest_block_height")
	}
	return h, nil
}

// sleep waits d (nothing for d <= 0) and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}
