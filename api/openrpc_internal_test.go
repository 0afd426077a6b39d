package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// docMethods returns the method names of OpenRPC's document, as listed.
func docMethods(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var names []string
	for _, m := range doc["methods"].([]map[string]any) {
		names = append(names, m["name"].(string))
	}
	return names
}

// The document lists exactly the methods a server of every module
// registers with go-jsonrpc, read from go-jsonrpc's own method table.
func TestOpenRPCCoversRegisteredMethods(t *testing.T) {
	mods := allModules()
	v := reflect.ValueOf(mods)
	for i := range v.NumField() {
		if v.Field(i).IsNil() {
			t.Fatalf("allModules left Modules.%s nil", v.Type().Field(i).Name)
		}
	}
	if len(mods.list()) != v.NumField() {
		t.Fatalf("Modules.list serves %d of the %d modules", len(mods.list()), v.NumField())
	}
	srv, err := NewServer(ServerOptions{SkipAuth: true}, mods)
	if err != nil {
		t.Fatal(err)
	}
	// go-jsonrpc keeps what it registered in its handler's methods map.
	h := reflect.ValueOf(srv.rpc).Elem().FieldByName("handler")
	if !h.IsValid() || h.Kind() != reflect.Pointer {
		t.Fatal("go-jsonrpc's RPCServer has no handler field: update this test")
	}
	table := h.Elem().FieldByName("methods")
	if !table.IsValid() || table.Kind() != reflect.Map {
		t.Fatal("go-jsonrpc's handler has no methods map: update this test")
	}
	var registered []string
	for _, k := range table.MapKeys() {
		registered = append(registered, k.String())
	}
	slices.Sort(registered)

	doc, err := openRPCDoc("test")
	if err != nil {
		t.Fatal(err)
	}
	got := docMethods(t, doc)
	for _, m := range registered {
		if !slices.Contains(got, m) {
			t.Errorf("the server registers %s, missing from the OpenRPC document", m)
		}
	}
	for _, m := range got {
		if !slices.Contains(registered, m) {
			t.Errorf("the OpenRPC document lists %s, which the server does not register", m)
		}
	}
	if !slices.IsSorted(got) {
		t.Error("the document's methods are not sorted")
	}
	t.Logf("%d methods", len(got))
}

// methodDocs names each method's parameters as its Go declaration does,
// and has no entry for a method that does not exist.
func TestOpenRPCDocsMatchSource(t *testing.T) {
	namespaces := map[string]string{} // receiver type name -> namespace
	for _, m := range allModules().list() {
		namespaces[reflect.TypeOf(m).Elem().Name()] = m.rpcTable().namespace
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || !fd.Name.IsExported() {
				continue
			}
			recv := fd.Recv.List[0].Type
			if s, ok := recv.(*ast.StarExpr); ok {
				recv = s.X
			}
			id, ok := recv.(*ast.Ident)
			if !ok || namespaces[id.Name] == "" {
				continue
			}
			name := namespaces[id.Name] + "." + fd.Name.Name
			seen[name] = true
			var params []string
			for _, field := range fd.Type.Params.List {
				for _, n := range field.Names {
					params = append(params, n.Name)
				}
				if len(field.Names) == 0 {
					params = append(params, "_")
				}
			}
			if len(params) > 0 && params[0] == "ctx" {
				params = params[1:]
			}
			d, ok := methodDocs[name]
			switch {
			case !ok:
				t.Errorf("methodDocs has no entry for %s", name)
			case !slices.Equal(d.params, params):
				t.Errorf("methodDocs names %s's parameters %q, the source %q", name, d.params, params)
			case d.summary == "":
				t.Errorf("methodDocs has no summary for %s", name)
			}
		}
	}
	for name := range methodDocs {
		if !seen[name] {
			t.Errorf("methodDocs describes %s, which no module has", name)
		}
	}
}
