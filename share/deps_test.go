package share_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps package share on the dependencies docs/architecture.md allows:
// the standard library, our nmt and merkle packages, and protowire. The
// reference libraries are for tests only.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/datamesh/mesh-node/nmt":             true,
		"github.com/datamesh/mesh-node/merkle":          true,
		"google.golang.org/protobuf/encoding/protowire": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			stdlib := !strings.Contains(strings.Split(path, "/")[0], ".")
			if !stdlib && !allowed[path] {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
