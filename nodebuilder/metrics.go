package nodebuilder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/shrex"
)

// metricsPrefix begins the name of every series of ours.
const metricsPrefix = "meshnode_"

// nodeMetrics is a node's Prometheus registry (its own: nothing is
// registered globally), the collectors its services report to (it
// implements shrex.Metrics and core.Metrics) and the HTTP server of
// /metrics.
type nodeMetrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	shrexRequests  *prometheus.CounterVec
	shrexDuration  *prometheus.HistogramVec
	ingested       prometheus.Counter
	ingestDuration prometheus.Histogram
	ingestedHeight prometheus.Gauge
	squareSize     prometheus.Gauge
	dasHeader      prometheus.Histogram // light and full

	mu   sync.Mutex
	srv  *http.Server
	addr string        // bound address, while serving
	done chan struct{} // closed when Serve has returned
}

// newMetrics returns the registry of n with every collector of n's mode
// registered: those read from n's services at scrape time (the services
// need only exist by then), those the services report to, and the Go
// runtime's and process's.
func newMetrics(n *Node) (*nodeMetrics, error) {
	m := &nodeMetrics{
		reg: prometheus.NewRegistry(),
		log: n.logger.With("service", "metrics"),
		shrexRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricsPrefix + "shrex_requests_total",
			Help: "Shrex requests served (side=server) or made (side=client), by protocol (sample, samples, row, nd, eds) and status (ok, not_found, rate_limited, bad_request, internal, invalid, timeout, canceled, error).",
		}, []string{"side", "protocol", "status"}),
		shrexDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricsPrefix + "shrex_request_duration_seconds",
			Help:    "Duration of shrex requests, whatever their status, by side and protocol.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12), // 1 ms to 24 s
		}, []string{"side", "protocol"}),
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newNodeCollector(n),
		haltCollector(&n.halt),
		m.shrexRequests, m.shrexDuration,
	}
	cs = append(cs, memoryCollectors()...)
	if n.mode == Bridge {
		m.ingested = prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricsPrefix + "bridge_blocks_ingested_total",
			Help: "Blocks the bridge fetched from its core node, extended and stored.",
		})
		m.ingestDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    metricsPrefix + "bridge_ingest_duration_seconds",
			Help:    "Time to fetch, build, verify and store one block.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14), // 5 ms to 41 s
		})
		m.ingestedHeight = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricsPrefix + "bridge_ingested_height",
			Help: "Height of the last block the bridge stored.",
		})
		m.squareSize = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricsPrefix + "bridge_square_size",
			Help: "Width k of the original square of the last block the bridge stored.",
		})
		cs = append(cs, m.ingested, m.ingestDuration, m.ingestedHeight, m.squareSize)
	} else {
		m.dasHeader = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: metricsPrefix + "das_header_sample_duration_seconds",
			Help: "Time to check one header found available: all its samples fetched and verified (light), its square fetched, verified and stored (full).",
			// 1 ms to 32 s in steps of √2, fine enough to interpolate
			// quantiles from merged buckets.
			Buckets: prometheus.ExponentialBuckets(0.001, math.Sqrt2, 31),
		})
		cs = append(cs, m.dasHeader)
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("nodebuilder: metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveRequest implements shrex.Metrics.
func (m *nodeMetrics) ObserveRequest(side, protocol, status string, d time.Duration) {
	m.shrexRequests.WithLabelValues(side, protocol, status).Inc()
	m.shrexDuration.WithLabelValues(side, protocol).Observe(d.Seconds())
}

// ObserveIngest implements core.Metrics; only a bridge's follower calls it.
func (m *nodeMetrics) ObserveIngest(height uint64, squareSize int, d time.Duration) {
	if m.ingested == nil {
		return
	}
	m.ingested.Inc()
	m.ingestDuration.Observe(d.Seconds())
	m.ingestedHeight.Set(float64(height))
	m.squareSize.Set(float64(squareSize))
}

// ObserveHeader implements das.Metrics; only light and full nodes' DASers
// call it.
func (m *nodeMetrics) ObserveHeader(d time.Duration) {
	if m.dasHeader == nil {
		return
	}
	m.dasHeader.Observe(d.Seconds())
}

// start serves GET /metrics on addr.
func (m *nodeMetrics) start(ctx context.Context, addr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv != nil {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("nodebuilder: metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // counts its own errors
		EnableOpenMetrics: true,
	}))
	m.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	m.addr, m.done = ln.Addr().String(), make(chan struct{})
	srv, done := m.srv, m.done
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("metrics server stopped", "err", err)
		}
	}()
	m.log.Info("serving metrics", "addr", "http://"+m.addr+"/metrics")
	return nil
}

// stop stops the server and waits for the scrapes in flight; when ctx
// ends first, it closes their connections. It is idempotent.
func (m *nodeMetrics) stop(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv == nil {
		return nil
	}
	err := m.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, m.srv.Close())
	}
	<-m.done // Serve returns at once on Shutdown or Close
	m.srv, m.addr = nil, ""
	return err
}

func (m *nodeMetrics) boundAddr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// addMetrics makes n's metrics and adds the service "metrics", serving
// GET /metrics in the Prometheus formats on addr (host:port; port 0 picks
// one: see MetricsAddr). It must be called before the services it reads
// and that report to it are assembled: it checks addr but does not listen
// until the service starts.
func (n *Node) addMetrics(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("nodebuilder: metrics address %q: %w", addr, err)
	}
	if n.metrics == nil {
		m, err := newMetrics(n)
		if err != nil {
			return err
		}
		n.metrics = m
	}
	m := n.metrics
	n.add("metrics", func(ctx context.Context) error { return m.start(ctx, addr) }, m.stop)
	return nil
}

// MetricsAddr returns the address the node serves /metrics on while the
// metrics service runs (with the port chosen for a port 0), or "" when it
// does not: Options.MetricsAddr was empty, or the node is not started.
func (n *Node) MetricsAddr() string {
	if n.metrics == nil {
		return ""
	}
	return n.metrics.boundAddr()
}

// shrexMetrics is what shrex servers and clients report to: nil without
// metrics.
func (n *Node) shrexMetrics() shrex.Metrics {
	if n.metrics == nil {
		return nil
	}
	return n.metrics
}

// dasMetrics is what the DASer reports to: nil without metrics.
func (n *Node) dasMetrics() das.Metrics {
	if n.metrics == nil {
		return nil
	}
	return n.metrics
}

// ingestMetrics is what the core follower reports to: nil without
// metrics.
func (n *Node) ingestMetrics() core.Metrics {
	if n.metrics == nil {
		return nil
	}
	return n.metrics
}

// nodeCollector reads the node's state at scrape time: the header store's
// height, the syncer's and DASer's progress, the database's size and the
// number of connected peers.
type nodeCollector struct {
	n                                                   *Node
	info, headerHeight, networkHead, storeSize, peers   *prometheus.Desc
	dasSampledHead, dasNetworkHead, dasSampled, dasUnav *prometheus.Desc
	corruptSquares                                      *prometheus.Desc
}

func newNodeCollector(n *Node) *nodeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(metricsPrefix+name, help, labels, nil)
	}
	return &nodeCollector{
		n:              n,
		info:           d("node_info", "Always 1; the node's mode and chain ID as labels.", "mode", "chain_id"),
		headerHeight:   d("header_height", "Height of the newest header in the header store."),
		networkHead:    d("header_network_head", "Highest verified network head the syncer knows (light and full nodes)."),
		storeSize:      d("store_size_bytes", "Size of the node's Badger database, by part (lsm, vlog).", "part"),
		peers:          d("p2p_peers", "Number of connected libp2p peers."),
		dasSampledHead: d("das_sampled_chain_head", "Highest height up to which every header was sampled (light) or fetched (full)."),
		dasNetworkHead: d("das_network_head", "Highest network head the DASer knows."),
		dasSampled:     d("das_sampled_total", "Heights the DASer found available since it started."),
		dasUnav:        d("das_unavailable_total", "Heights the DASer found unavailable since it started, retries included."),
		corruptSquares: d("store_corrupt_squares_total", "Stored squares found corrupt when read, dropped and fetched again (full nodes), since the node started."),
	}
}

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.headerHeight, c.storeSize, c.peers} {
		ch <- d
	}
	if c.n.mode != Bridge {
		for _, d := range []*prometheus.Desc{c.networkHead, c.dasSampledHead, c.dasNetworkHead, c.dasSampled, c.dasUnav} {
			ch <- d
		}
	}
	if c.n.mode == Full {
		ch <- c.corruptSquares
	}
}

// Collect implements prometheus.Collector; it reads each service once.
func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	emit(c.info, prometheus.GaugeValue, 1, string(n.mode), n.conf.ChainID)
	if n.headers != nil {
		emit(c.headerHeight, prometheus.GaugeValue, float64(n.headers.Height()))
	}
	if n.db != nil {
		lsm, vlog := n.db.Size()
		emit(c.storeSize, prometheus.GaugeValue, float64(lsm), "lsm")
		emit(c.storeSize, prometheus.GaugeValue, float64(vlog), "vlog")
	}
	if n.p2p != nil {
		emit(c.peers, prometheus.GaugeValue, float64(len(n.p2p.Host().Network().Peers())))
	}
	if n.syncer != nil {
		emit(c.networkHead, prometheus.GaugeValue, float64(n.syncer.State().Target))
	}
	if n.daser != nil {
		s := n.daser.Stats()
		emit(c.dasSampledHead, prometheus.GaugeValue, float64(s.SampledChainHead))
		emit(c.dasNetworkHead, prometheus.GaugeValue, float64(s.NetworkHead))
		emit(c.dasSampled, prometheus.CounterValue, float64(s.Sampled))
		emit(c.dasUnav, prometheus.CounterValue, float64(s.Unavailable))
	}
	if n.mode == Full {
		emit(c.corruptSquares, prometheus.CounterValue, float64(n.corruptSquares.Load()))
	}
}

// haltCollector reads the node's halting rule at scrape time:
// meshnode_halted, 1 once the node holds a valid bad-encoding proof (it
// has stopped sampling and serving data from the proven block on) and 0
// before, and meshnode_halt_height, the proven block's height (0 when not
// halted). The node registers it on its registry (nodeMetrics.reg) when
// it makes its metrics.
func haltCollector(h *fraud.Halt) prometheus.Collector {
	return &haltMetrics{
		h:      h,
		halted: prometheus.NewDesc(metricsPrefix+"halted", "1 once the node holds a valid bad-encoding proof and has halted, else 0.", nil, nil),
		height: prometheus.NewDesc(metricsPrefix+"halt_height", "Height of the block the node's bad-encoding proof is of; 0 when not halted.", nil, nil),
	}
}

type haltMetrics struct {
	h              *fraud.Halt
	halted, height *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *haltMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.halted
	ch <- c.height
}

// Collect implements prometheus.Collector.
func (c *haltMetrics) Collect(ch chan<- prometheus.Metric) {
	var halted, height float64
	if p := c.h.Proof(); p != nil {
		halted, height = 1, float64(p.Height)
	}
	ch <- prometheus.MustNewConstMetric(c.halted, prometheus.GaugeValue, halted)
	ch <- prometheus.MustNewConstMetric(c.height, prometheus.GaugeValue, height)
}
