package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of process handling.
const (
	// stopGrace is how long a process group has to exit after SIGTERM
	// before it is killed.
	stopGrace = 20 * time.Second
	// commandTimeout bounds a short command (init, auth, tx send).
	commandTimeout = time.Minute
	// maxLine bounds a line read from a node's standard output.
	maxLine = 64 << 10
	// logTail is how much of a node's log an error quotes.
	logTail = 2000
)

// proc is a long-running process netbench started, in a process group of
// its own (so that `ip netns exec` and anything a node starts go with it).
type proc struct {
	name   string
	log    string // its standard error
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait has returned
	err    error         // Wait's error, once exited is closed
	lines  chan string   // its standard output, line by line; closed at EOF
}

// procs is every process of a run: started, recorded in the work
// directory's pid file (so that a later run can kill them if this one is
// killed), and stopped in reverse order of start.
type procs struct {
	mu      sync.Mutex
	list    []*proc
	pidFile string
}

// sysProcAttr puts a child in a process group of its own and has the
// kernel kill it if netbench dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// start runs argv as name, its standard error appended to logPath.
// env, if not empty, is added to the process's environment.
func (ps *procs) start(name, logPath string, argv []string, env ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netbench: %s: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logf
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("netbench: %s: %w", name, err)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netbench: start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, exited: make(chan struct{}), lines: make(chan string, 64)}
	ps.list = append(ps.list, p)
	if err := appendPID(ps.pidFile, cmd.Process.Pid); err != nil {
		return p, err // recorded in ps.list: stopAll stops it
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 4096), maxLine)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody reads any more
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func appendPID(path string, pid int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("netbench: pid file: %w", err)
	}
	_, err = fmt.Fprintln(f, pid)
	return errors.Join(err, f.Close())
}

// stop sends SIGTERM to p's process group, waits up to stopGrace for p to
// exit, then kills the group. It returns once p has exited.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
		}
	}
	// Whatever is left of the group (a node's children, if any).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.exited
}

// stopAll stops every process, the most recently started first, those
// started together (the light nodes) at once.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		if strings.HasPrefix(p.name, "light") {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop() }()
			continue
		}
		wg.Wait()
		p.stop()
	}
	wg.Wait()
}

// waitReady reads p's standard output until it has printed its peer ID
// and first address (`<mode> start` does once every service runs), and
// returns that address. It fails when p exits, or ctx ends, first.
func (p *proc) waitReady(ctx context.Context) (string, error) {
	sawID := false
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("netbench: %s not ready: %w\n%s", p.name, ctx.Err(), tailOf(p.log))
		case l, ok := <-p.lines:
			if !ok {
				<-p.exited
				return "", fmt.Errorf("netbench: %s exited before it was ready: %v\n%s", p.name, p.err, tailOf(p.log))
			}
			if strings.HasPrefix(l, "peer_id: ") {
				sawID = true
			}
			if a, found := strings.CutPrefix(l, "address: "); found && sawID {
				return a, nil
			}
		}
	}
}

// tailOf returns the end of the file at path, for an error message.
func tailOf(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > logTail {
		b = b[len(b)-logTail:]
	}
	return fmt.Sprintf("--- end of %s ---\n%s", path, b)
}

// runCmd runs a short command and returns its standard output as
// `key: value` lines.
func runCmd(ctx context.Context, argv []string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = sysProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("netbench: %s: %w\n%s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	kv := map[string]string{}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			kv[k] = v
		}
	}
	if len(kv) == 0 && stdout.Len() > 0 {
		kv[""] = strings.TrimSpace(stdout.String())
	}
	return kv, nil
}

// workPrefix begins the name of every work directory.
const workPrefix = "netbench-"

// removeLeftovers removes what killed runs left under tmp: in each of
// their work directories, the process groups listed in its pid file that
// still run from it (their command line names the directory), then the
// directory. The caller holds the run lock, so no live run owns any.
func removeLeftovers(tmp string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, workPrefix+"*"))
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, "pids"))
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid <= 1 {
				continue
			}
			cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err != nil || !bytes.Contains(cl, []byte(dir)) {
				continue // gone, or the ID now belongs to another process
			}
			logf("killing process group %d left by an earlier run in %s", pid, dir)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		logf("removing %s, left by an earlier run", dir)
		if err := os.RemoveAll(dir); err != nil {
			logf("remove %s: %v", dir, err)
		}
	}
}

// lockRun takes the run lock (one netbench at a time on a machine: they
// would share the network devices' names) and returns its release.
func lockRun(tmp string) (func(), error) {
	path := filepath.Join(tmp, "netbench.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netbench: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("netbench: another netbench is running (%s is locked): %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}
