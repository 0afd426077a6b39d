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
// again. docs/datasets.md ("Publishing") describes it for users.
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

// journalRecord is a blob posted: part Index, or the manifest.
type journalRecord struct {
	Kind       string          `json:"kind"` // "part" or "manifest"
	Index      int             `json:"index,omitempty"`
	Height     uint64          `json:"height"`
	Commitment blob.Commitment `json:"commitment"` // base64
}

const (
	recordPart     = "part"
	recordManifest = "manifest"
)

// journalName is the default journal file name of a put: one file per
// root, namespace and part size.
func journalName(h journalHeader) string {
	return fmt.Sprintf("%s-%s-%d.jsonl", h.Root, h.Namespace, h.MaxPartSize)
}

// putJournal is an open journal. Its methods are safe for concurrent use.
type putJournal struct {
	path string

	mu       sync.Mutex
	f        *os.File
	parts    map[int]journalRecord
	manifest *journalRecord
}

// openJournal opens the journal at path for the put h, creating it (and
// its directory) if missing, and reads the records of an earlier run of
// the same put. A journal whose header is not h's, or whose lines do not
// parse, is an error naming the file: it is not overwritten. A last line
// cut short (a put killed while writing it) is dropped.
func openJournal(path string, h journalHeader) (*putJournal, error) {
	h.Journal, h.Version = journalKind, journalVersion
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &putJournal{path: path, f: f, parts: map[int]journalRecord{}}
	if err := j.load(h); err != nil {
		_ = f.Close()
		return nil, err
	}
	return j, nil
}

// load reads the journal, or writes h into an empty one, and leaves the
// file's offset at its end.
func (j *putJournal) load(h journalHeader) error {
	data, err := io.ReadAll(io.LimitReader(j.f, maxJournalSize+1))
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if len(data) > maxJournalSize {
		return fmt.Errorf("journal %s: over %d bytes", j.path, maxJournalSize)
	}
	// Drop a last line without its newline: the write it came from did
	// not finish, so its blob is not recorded.
	keep := bytes.LastIndexByte(data, '\n') + 1
	if keep < len(data) {
		if err := j.f.Truncate(int64(keep)); err != nil {
			return fmt.Errorf("journal %s: %w", j.path, err)
		}
		data = data[:keep]
	}
	if _, err := j.f.Seek(int64(keep), io.SeekStart); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if keep == 0 {
		return j.append(h)
	}
	lines := bytes.Split(data[:keep-1], []byte("\n"))
	var got journalHeader
	if err := strictUnmarshal(lines[0], &got); err != nil {
		return fmt.Errorf("journal %s: header: %w", j.path, err)
	}
	if got != h {
		return fmt.Errorf("journal %s is of another put (%+v), not of this one (%+v): remove it or pass another --journal", j.path, got, h)
	}
	for i, line := range lines[1:] {
		var r journalRecord
		if err := strictUnmarshal(line, &r); err != nil {
			return fmt.Errorf("journal %s: line %d: %w", j.path, i+2, err)
		}
		if err := j.add(r, h.Parts); err != nil {
			return fmt.Errorf("journal %s: line %d: %w", j.path, i+2, err)
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
	switch r.Kind {
	case recordPart:
		if r.Index < 0 || r.Index >= parts {
			return fmt.Errorf("part %d: the put has %d parts", r.Index, parts)
		}
		j.parts[r.Index] = r
	case recordManifest:
		if r.Index != 0 {
			return fmt.Errorf("manifest record with index %d", r.Index)
		}
		j.manifest = &r
	default:
		return fmt.Errorf("record of kind %q", r.Kind)
	}
	return nil
}

// part returns the record of part index, if any.
func (j *putJournal) part(index int) (journalRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.parts[index]
	return r, ok
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
	if err := j.append(r); err != nil {
		return err
	}
	if r.Kind == recordManifest {
		j.manifest = &r
	} else {
		j.parts[r.Index] = r
	}
	return nil
}

// append writes v as one line and syncs; j.mu is held or j not shared.
func (j *putJournal) append(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}

// Close closes the file.
func (j *putJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}
