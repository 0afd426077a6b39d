package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// The netem network: a Linux bridge in the root namespace with hostAddr,
// and light node i in namespace nsPrefix+i, joined to the bridge by the
// veth pair vethHost+i (root side) and vethNS+i (its side, address
// lightAddr(i)). The names share the prefix "nb" so that a later run finds
// what a killed one left.
const (
	bridgeDev = "nb-br0"
	nsPrefix  = "nb-light"
	vethHost  = "nbh"
	vethNS    = "nbn"
	// hostAddr is the bridge device's address: bridge, full and core
	// nodes listen on it.
	hostAddr = "10.213.0.1"
	netmask  = "/16"
)

// lightAddr returns the address of light node i's namespace (i < 65,000).
func lightAddr(i int) string {
	n := i + 2
	return fmt.Sprintf("10.213.%d.%d", n/250, n%250+2)
}

// netemShape is the shaping of each direction of a light node's link:
// half the round trip and the link's rate.
type netemShape struct {
	delay string // e.g. 25ms; "0": rate only
	rate  string // e.g. 20mbit
}

// rateOnly says the shape has no delay: a token bucket (tbf) shapes the
// rate, and the kernel need not have netem.
func (s netemShape) rateOnly() bool {
	d, err := time.ParseDuration(s.delay)
	return err == nil && d == 0
}

// qdisc returns the tc qdisc arguments of the shape: netem with delay and
// rate, or tbf with the rate alone.
func (s netemShape) qdisc() []string {
	if s.rateOnly() {
		// A burst of 64 KB holds a 20 Mbit/s link's 25 ms; a packet
		// waits at most 100 ms in the bucket's queue.
		return []string{"tbf", "rate", s.rate, "burst", "64kb", "latency", "100ms"}
	}
	return []string{"netem", "delay", s.delay, "rate", s.rate}
}

// ip runs the ip command (or tc when argv[0] is "tc").
func ip(ctx context.Context, argv ...string) error {
	name := "ip"
	if argv[0] == "tc" {
		name, argv = "tc", argv[1:]
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("netbench: netem: %s %s: %w: %s", name, strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// checkNetem fails, saying why, when this process cannot make network
// namespaces or shape their links: not root, no ip or tc command, `ip
// netns add` refused, or the kernel lacks the qdisc the shape needs
// (netem: CONFIG_NET_SCH_NETEM; tbf for a rate alone).
func checkNetem(ctx context.Context, shape netemShape) error {
	if os.Geteuid() != 0 {
		return errors.New("netbench: --netem needs root (network namespaces, veth pairs, a Linux bridge and tc): run it as root, or without --netem")
	}
	for _, c := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("netbench: --netem needs the %s command: %w", c, err)
		}
	}
	probe := nsPrefix + "-probe"
	if err := ip(ctx, "netns", "add", probe); err != nil {
		return fmt.Errorf("netbench: --netem: network namespaces are not available here: %w", err)
	}
	qerr := ip(ctx, append([]string{"tc", "-n", probe, "qdisc", "add", "dev", "lo", "root"}, shape.qdisc()...)...)
	if err := ip(ctx, "netns", "del", probe); err != nil {
		return err
	}
	if qerr != nil {
		hint := ""
		if !shape.rateOnly() {
			hint = " (a kernel without netem, CONFIG_NET_SCH_NETEM, cannot delay packets: --netem-delay 0 shapes the rate alone, with tbf)"
		}
		return fmt.Errorf("netbench: --netem: the kernel refuses the %s qdisc%s: %w", shape.qdisc()[0], hint, qerr)
	}
	return nil
}

// setupBridge makes the Linux bridge with hostAddr.
func setupBridge(ctx context.Context) error {
	for _, a := range [][]string{
		{"link", "add", bridgeDev, "type", "bridge"},
		{"addr", "add", hostAddr + netmask, "dev", bridgeDev},
		{"link", "set", bridgeDev, "up"},
	} {
		if err := ip(ctx, a...); err != nil {
			return err
		}
	}
	return nil
}

// setupLight makes light node i's namespace, its veth pair on the bridge
// and the netem qdisc on both ends.
func setupLight(ctx context.Context, i int, shape netemShape) error {
	ns := fmt.Sprintf("%s%d", nsPrefix, i)
	host, peer := fmt.Sprintf("%s%d", vethHost, i), fmt.Sprintf("%s%d", vethNS, i)
	netem := shape.qdisc()
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", ns},
		{"link", "set", host, "master", bridgeDev},
		{"link", "set", host, "up"},
		{"-n", ns, "addr", "add", lightAddr(i) + netmask, "dev", peer},
		{"-n", ns, "link", "set", peer, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		append([]string{"tc", "qdisc", "add", "dev", host, "root"}, netem...),
		append([]string{"tc", "-n", ns, "qdisc", "add", "dev", peer, "root"}, netem...),
	}
	for _, a := range steps {
		if err := ip(ctx, a...); err != nil {
			return err
		}
	}
	return nil
}

// removeNetem deletes every namespace, veth and bridge of the prefix,
// whichever run made them; it reports what it could not delete.
func removeNetem(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil
	}
	var errs []error
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) > 0 && strings.HasPrefix(f[0], nsPrefix) {
				// Deleting the namespace deletes the veth end in it, and
				// with it the pair.
				errs = append(errs, ip(ctx, "netns", "del", f[0]))
			}
		}
	}
	out, err = exec.CommandContext(ctx, "ip", "-o", "link", "show").Output()
	if err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if name == bridgeDev || strings.HasPrefix(name, vethHost) && isDigits(name[len(vethHost):]) {
				// A veth whose peer's namespace was just deleted may go
				// by itself meanwhile.
				if err := ip(ctx, "link", "del", name); err != nil && ip(ctx, "link", "show", "dev", name) == nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
