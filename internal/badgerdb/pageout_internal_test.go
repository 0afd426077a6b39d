package badgerdb

import (
	"strings"
	"testing"
)

func TestSharedMappings(t *testing.T) {
	maps := `55d0c0000000-55d0c0400000 r-xp 00000000 fd:01 123 /usr/bin/mesh-node
7f0000000000-7f0000100000 rw-s 00000000 fd:01 200 /data/light/000001.vlog
7f0000100000-7f0000200000 r--s 00000000 fd:01 201 /data/light/000002.sst
7f0000200000-7f0000300000 rw-p 00000000 fd:01 202 /data/light/000003.mem
7f0000300000-7f0000400000 rw-s 00000000 fd:01 203 /data/light2/000001.vlog
7f0000400000-7f0000500000 rw-s 00000000 fd:01 204 /data/light/000004.vlog (deleted)
7f0000500000-7f0000600000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
`
	got, err := sharedMappings(strings.NewReader(maps), "/data/light/")
	if err != nil {
		t.Fatal(err)
	}
	want := []region{{0x7f0000000000, 0x7f0000100000}, {0x7f0000100000, 0x7f0000200000}, {0x7f0000400000, 0x7f0000500000}}
	if len(got) != len(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("region %d: %x, want %x", i, got[i], want[i])
		}
	}
	for _, bad := range []string{
		"7f0000000000 rw-s 00000000 fd:01 200 /data/light/1.vlog\n",
		"7f00000zz000-7f0000100000 rw-s 00000000 fd:01 200 /data/light/1.vlog\n",
		"7f0000100000-7f0000000000 rw-s 00000000 fd:01 200 /data/light/1.vlog\n",
	} {
		if _, err := sharedMappings(strings.NewReader(bad), "/data/light/"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
