package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/datamesh/mesh-node/blob"
)

// The journal of dataset put: a file of JSON lines, a header then one
// record per blob whose blob.Submit returned, written and synced before
// the put goes on, so that a put stopped anywhere (killed, a failed
// Submit, a lost connection) resumes without posting a recorded part
// again; and beside it, <journal>.pending, the same header then a pending
// record per blob about to be submitted (its commitment and the head
// height seen before the Submit), synced before the Submit is sent, so
// that a put stopped during a Submit looks for the blob on chain before
// posting it again (putter.resolvePending). The completed records keep
// the file format of the journals written before pending records, which
// every version reads. docs/datasets.md ("Publishing") describes both.
const (
	// journalKind is the header's "journal" value.
	journalKind = "mesh-node dataset put"
	// journalVersion is the header's "version".
	journalVersion = 1
	// maxJournalSize bounds the journal read back: far more than the
	// records of the largest manifest (some 36,000 parts, ~100 bytes each).
	maxJournalSize = 64 << 20
	// journalDirName is the directory of the journals in a home.
	journalDirName = "dataset-put"
	// pendingSuffix names the file of pending records beside a journal.
	pendingSuffix = ".pending"
)

// journalHeader is the journal's first line: what was put. A journal is
// resumed only by a put of the same root, namespace and part size, which
// cuts the same parts.
type journalHeader struct {
	Journal     string `json:"journal"`
	Version     int    `json:"version"`
	Root        string `json:"root"`
	Namespace   string `json:"namespace"` // hex, 29 bytes
	MaxPartSize int    `json:"max_part_size"`
	Parts       int    `json:"parts"`
}

// journalRecord is a blob posted, part Index or the manifest, or, in the
// pending file, one about to be (Kind recordPending, Of the blob's kind).
type journalRecord struct {
	Kind  string `json:"kind"`         // "part", "manifest" or "pending"
	Of    string `json:"of,omitempty"` // a pending record's blob: "part" or "manifest"
	Index int    `json:"index,omitempty"`
	// Height is the blob's height, or, in a pending record, the head's
	// height seen before the Submit: the blob lands above it.
	Height     uint64          `json:"height"`
	Commitment blob.Commitment `json:"commitment"` // base64
}

const (
	recordPart     = "part"
	recordManifest = "manifest"
	recordPending  = "pending"
)

// blobKey names the blob of a record: a part's index, or -1 for the
// manifest.
func blobKey(r journalRecord) int {
	if r.Kind == recordManifest || r.Of == recordManifest {
		return -1
	}
	return r.Index
}

// journalName is the default journal file name of a put: one file per
// root, namespace and part size.
func journalName(h journalHeader) string {
	return fmt.Sprintf("%s-%s-%d.jsonl", h.Root, h.Namespace, h.MaxPartSize)
}

// putJournal is an open journal. Its methods are safe for concurrent use.
type putJournal struct {
	path string

	mu       sync.Mutex
	f        *os.File // completed records
	pf       *os.File // pending records
	parts    map[int]journalRecord
	manifest *journalRecord
	// pending holds the pending records not resolved: of blobs without a
	// completed record of the same commitment above the pending height.
	pending []journalRecord
	// landed holds, by blob and commitment, the greatest height of the
	// completed records (not only the last of each blob, which a later
	// record may have moved): it resolves pending records read back.
	landed map[landedKey]uint64
}

// landedKey names a blob of one commitment: blobKey and the commitment.
type landedKey struct {
	blob       int
	commitment string
}

func landedKeyOf(r journalRecord) landedKey {
	return landedKey{blob: blobKey(r), commitment: string(r.Commitment)}
}

// openJournal opens the journal at path for the put h, creating it (and
// its directory) if missing, and reads the records of an earlier run of
// the same put. A journal whose header is not h's, or whose lines do not
// parse, is an error naming the file: it is not overwritten. A last line
// cut short (a put killed while writing it) is dropped. The pending file,
// path+pendingSuffix, is opened and read the same way.
func openJournal(path string, h journalHeader) (*putJournal, error) {
	h.Journal, h.Version = journalKind, journalVersion
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &putJournal{path: path, f: f, parts: map[int]journalRecord{}, landed: map[landedKey]uint64{}}
	lines, err := loadLines(f, path, h)
	if err == nil {
		err = j.addLines(path, lines, h.Parts, false)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	ppath := path + pendingSuffix
	if j.pf, err = os.OpenFile(ppath, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if lines, err = loadLines(j.pf, ppath, h); err == nil {
		err = j.addLines(ppath, lines, h.Parts, true)
	}
	if err != nil {
		_ = f.Close()
		_ = j.pf.Close()
		return nil, err
	}
	return j, nil
}

// loadLines reads the journal file f at path, or writes h into an empty
// one, leaves the file's offset at its end and returns the lines after
// the header.
func loadLines(f *os.File, path string, h journalHeader) ([][]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxJournalSize+1))
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if len(data) > maxJournalSize {
		return nil, fmt.Errorf("journal %s: over %d bytes", path, maxJournalSize)
	}
	// Drop a last line without its newline: the write it came from did
	// not finish, so its blob is not recorded.
	keep := bytes.LastIndexByte(data, '\n') + 1
	if keep < len(data) {
		if err := f.Truncate(int64(keep)); err != nil {
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
		data = data[:keep]
	}
	if _, err := f.Seek(int64(keep), io.SeekStart); err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if keep == 0 {
		return nil, appendLine(f, path, h)
	}
	lines := bytes.Split(data[:keep-1], []byte("\n"))
	var got journalHeader
	if err := strictUnmarshal(lines[0], &got); err != nil {
		return nil, fmt.Errorf("journal %s: header: %w", path, err)
	}
	if got != h {
		return nil, fmt.Errorf("journal %s is of another put (%+v), not of this one (%+v): remove it or pass another --journal", path, got, h)
	}
	return lines[1:], nil
}

// addLines parses and keeps the records of lines, those of the journal's
// pending file if pending (which are kept only when not resolved by the
// completed records, read first).
func (j *putJournal) addLines(path string, lines [][]byte, parts int, pending bool) error {
	for i, line := range lines {
		var r journalRecord
		if err := strictUnmarshal(line, &r); err != nil {
			return fmt.Errorf("journal %s: line %d: %w", path, i+2, err)
		}
		if (r.Kind == recordPending) != pending {
			return fmt.Errorf("journal %s: line %d: a %q record", path, i+2, r.Kind)
		}
		if err := j.add(r, parts); err != nil {
			return fmt.Errorf("journal %s: line %d: %w", path, i+2, err)
		}
	}
	return nil
}

func strictUnmarshal(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// add checks a record read back and keeps it; a later record of the same
// blob replaces an earlier one (the blob was posted again).
func (j *putJournal) add(r journalRecord, parts int) error {
	if r.Height == 0 || len(r.Commitment) != 32 {
		return fmt.Errorf("record %+v: want a height from 1 and a 32-byte commitment", r)
	}
	kind := r.Kind
	if kind == recordPending {
		kind = r.Of
	} else if r.Of != "" {
		return fmt.Errorf("%s record with of %q", r.Kind, r.Of)
	}
	switch kind {
	case recordPart:
		if r.Index < 0 || r.Index >= parts {
			return fmt.Errorf("part %d: the put has %d parts", r.Index, parts)
		}
	case recordManifest:
		if r.Index != 0 {
			return fmt.Errorf("manifest record with index %d", r.Index)
		}
	default:
		return fmt.Errorf("record of kind %q (of %q)", r.Kind, r.Of)
	}
	j.keep(r)
	return nil
}

// keep files r; j.mu is held or j not shared. A pending record is kept
// unless a completed record of its blob and commitment lies above its
// height (the blob landed after it); a completed record resolves the
// pending records of its blob and commitment below its height. Of the
// pending records of one commitment, the lowest height is kept: the blob
// may have landed above any of them.
func (j *putJournal) keep(r journalRecord) {
	if r.Kind != recordPending {
		if r.Kind == recordManifest {
			j.manifest = &r
		} else {
			j.parts[r.Index] = r
		}
		k := landedKeyOf(r)
		j.landed[k] = max(j.landed[k], r.Height)
		kept := j.pending[:0]
		for _, p := range j.pending {
			if !resolves(r, p) {
				kept = append(kept, p)
			}
		}
		j.pending = kept
		return
	}
	if j.landed[landedKeyOf(r)] > r.Height {
		return
	}
	for i, p := range j.pending {
		if blobKey(p) == blobKey(r) && bytes.Equal(p.Commitment, r.Commitment) {
			j.pending[i].Height = min(p.Height, r.Height)
			return
		}
	}
	j.pending = append(j.pending, r)
}

// resolves reports whether the completed record done is of the blob that
// the pending record p was about to post, landed above p's height.
func resolves(done, p journalRecord) bool {
	return done.Kind == p.Of && blobKey(done) == blobKey(p) && done.Height > p.Height && bytes.Equal(done.Commitment, p.Commitment)
}

// pendingRecords returns the pending records not resolved by a completed
// record.
func (j *putJournal) pendingRecords() []journalRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]journalRecord(nil), j.pending...)
}

// part returns the record of part index, if any.
func (j *putJournal) part(index int) (journalRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.parts[index]
	return r, ok
}

// highestRecord returns the highest height of a completed record (a
// part's or the manifest's), 0 for none.
func (j *putJournal) highestRecord() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	var h uint64
	for _, r := range j.parts {
		h = max(h, r.Height)
	}
	if j.manifest != nil {
		h = max(h, j.manifest.Height)
	}
	return h
}

// manifestRecord returns the record of the manifest, if any.
func (j *putJournal) manifestRecord() (journalRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.manifest == nil {
		return journalRecord{}, false
	}
	return *j.manifest, true
}

// record appends r and syncs the file before it returns.
func (j *putJournal) record(r journalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, path := j.f, j.path
	if r.Kind == recordPending {
		f, path = j.pf, j.path+pendingSuffix
	}
	if err := appendLine(f, path, r); err != nil {
		return err
	}
	j.keep(r)
	return nil
}

// appendLine writes v as one line of f, at path, and syncs.
func appendLine(f *os.File, path string, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	return nil
}

// Close closes the files.
func (j *putJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.f.Close()
	if perr := j.pf.Close(); err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}

// checkJournalOf fails, naming path, if the journal at path exists and is
// the journal of a put of another root or namespace; a missing file, or
// one without a complete header line, is left to openJournal.
func checkJournalOf(path, root, ns string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	// The header is one short line: 4 KiB holds it.
	head, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	end := bytes.IndexByte(head, '\n')
	if end < 0 {
		return nil
	}
	var got journalHeader
	if err := strictUnmarshal(head[:end], &got); err != nil {
		return fmt.Errorf("journal %s: header: %w", path, err)
	}
	if got.Root != root || got.Namespace != ns {
		return fmt.Errorf("journal %s is of another put (root %s, namespace %s), not of this one (root %s, namespace %s): remove it or pass another --journal",
			path, got.Root, got.Namespace, root, ns)
	}
	return nil
}
