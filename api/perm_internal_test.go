package api

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/filecoin-project/go-jsonrpc"
)

// modules are the API's module types, each with its permission table.
var modules = allModules().list()

// fakeModule's table is set by each test.
type fakeModule struct{ table rpcTable }

func (f *fakeModule) rpcTable() *rpcTable { return &f.table }

func (f *fakeModule) Ping(ctx context.Context) error { return requirePerm(ctx, f) }

func (f *fakeModule) Pong(ctx context.Context) error { return requirePerm(ctx, f) }

// Closure checks its permission from a closure, which is not a method.
func (f *fakeModule) Closure(ctx context.Context) error {
	check := func() error { return requirePerm(ctx, f) }
	return check()
}

// Heavy checks with requirePerm where enter is due.
func (f *fakeModule) Heavy(ctx context.Context) error { return requirePerm(ctx, f) }

func fakeTable(methods map[string]rpcMethod) *fakeModule {
	return &fakeModule{rpcTable{namespace: "fake", methods: methods}}
}

var allFake = map[string]rpcMethod{"Ping": {perm: PermRead}, "Pong": {perm: PermAdmin},
	"Closure": {perm: PermRead}, "Heavy": {perm: PermRead, cost: costHeavy}}

// TestModuleTables checks that every module's table names exactly its
// exported methods, so that renaming a method without its entry, or adding
// one without deciding its permission, fails here (and NewServer fails).
func TestModuleTables(t *testing.T) {
	namespaces := map[string]bool{}
	for _, m := range modules {
		if err := checkTable(m); err != nil {
			t.Error(err)
		}
		ns := m.rpcTable().namespace
		if namespaces[ns] {
			t.Errorf("namespace %s used twice", ns)
		}
		namespaces[ns] = true
	}
}

// TestRegisterRefusesTableMismatch checks that registration fails for a
// table entry that names no method and for a method without an entry, and
// registers nothing then.
func TestRegisterRefusesTableMismatch(t *testing.T) {
	without := func(name string) map[string]rpcMethod {
		m := map[string]rpcMethod{}
		for k, v := range allFake {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	renamed := without("Ping")
	renamed["Pingg"] = rpcMethod{perm: PermRead}
	for _, c := range []struct {
		name    string
		methods map[string]rpcMethod
		want    string
	}{
		{"entry without a method", renamed, "permission entry Pingg names no method"},
		{"method without an entry", without("Pong"), "method Pong has no permission entry"},
		{"unknown permission", map[string]rpcMethod{"Ping": {perm: PermPublic}, "Pong": {perm: PermRead},
			"Closure": {perm: PermRead}, "Heavy": {perm: PermRead}}, `method Ping needs unknown permission "public"`},
	} {
		rpc := jsonrpc.NewServer()
		err := registerModules(rpc, []rpcModule{&NodeModule{}, fakeTable(c.methods)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
		if m := fakeTable(c.methods); checkTable(m) == nil {
			t.Errorf("%s: checkTable passed", c.name)
		}
	}
	if err := registerModules(jsonrpc.NewServer(), []rpcModule{fakeTable(allFake)}); err != nil {
		t.Fatal(err)
	}
	if err := registerModules(jsonrpc.NewServer(), []rpcModule{&fakeModule{}}); err == nil {
		t.Error("a module without a namespace was registered")
	}
}

// TestRequirePermByTable checks that a method's permission comes from its
// table entry, and that a check the table cannot place is refused.
func TestRequirePermByTable(t *testing.T) {
	ctx := context.Background()
	m := fakeTable(allFake)
	read := WithPerms(ctx, PermsFor(PermRead))
	if err := m.Ping(read); err != nil {
		t.Errorf("Ping with read: %v", err)
	}
	if err := m.Pong(read); err == nil || err.Error() != "missing permission to invoke 'Pong' (need 'admin')" {
		t.Errorf("Pong with read: %v", err)
	}
	if err := m.Pong(WithPerms(ctx, PermsFor(PermAdmin))); err != nil {
		t.Errorf("Pong with admin: %v", err)
	}
	if err := m.Ping(ctx); err == nil || err.Error() != "missing permission to invoke 'Ping' (need 'read')" {
		t.Errorf("Ping without permissions: %v", err)
	}
	if err := m.Closure(read); err == nil || !strings.Contains(err.Error(), "not in the fake module's permission table") {
		t.Errorf("check from a closure: %v", err)
	}
	if err := m.Heavy(read); err == nil || !strings.Contains(err.Error(), "must take a Limiter slot") {
		t.Errorf("heavy method without a slot: %v", err)
	}
}

// TestDocumentedPermissions checks docs/api.md against the tables: every
// method documented under "Methods" is served with the permission the
// doc gives it (its own "Permission:" or its module's "Every ... method
// needs"), every served method is documented, and the "Heavy calls" list
// is the heavy methods.
func TestDocumentedPermissions(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	served := map[string]rpcMethod{}
	var heavy []string
	for _, m := range modules {
		tab := m.rpcTable()
		for name, e := range tab.methods {
			served[tab.namespace+"."+name] = e
			if e.cost != costFree {
				heavy = append(heavy, tab.namespace+"."+name)
			}
		}
	}

	_, methods, ok := strings.Cut(doc, "\n## Methods\n")
	methods, _, ok2 := strings.Cut(methods, "\n## Subscriptions\n")
	if !ok || !ok2 {
		t.Fatal(`docs/api.md has no "## Methods" section ending at "## Subscriptions"`)
	}
	modulePerm := regexp.MustCompile(`(?:Every \w+ method needs|Both methods need)\s+(\w+)`)
	methodPerm := regexp.MustCompile(`Permission:\s+(\w+)`)
	documented := map[string]bool{}
	for _, mod := range strings.Split(methods, "\n## ")[1:] {
		sections := strings.Split(mod, "\n### ")
		def := ""
		if m := modulePerm.FindStringSubmatch(sections[0]); m != nil {
			def = m[1]
		}
		for _, sec := range sections[1:] {
			name, body, _ := strings.Cut(sec, "\n")
			name = strings.TrimSpace(name)
			documented[name] = true
			perm := def
			if m := methodPerm.FindStringSubmatch(body); m != nil {
				perm = m[1]
			}
			e, ok := served[name]
			switch {
			case !ok:
				t.Errorf("docs/api.md documents %s, which no module serves", name)
			case perm == "":
				t.Errorf("docs/api.md gives %s no permission", name)
			case Permission(perm) != e.perm:
				t.Errorf("docs/api.md: %s needs %s, its table says %s", name, perm, e.perm)
			}
		}
	}
	for name := range served {
		if !documented[name] {
			t.Errorf("%s is served but not documented in docs/api.md", name)
		}
	}

	_, list, _ := strings.Cut(doc, "**Heavy calls**:")
	list, _, _ = strings.Cut(list, "may read")
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z0-9]+\\.\\w+)`").FindAllStringSubmatch(list, -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	slices.Sort(heavy)
	if !slices.Equal(listed, heavy) {
		t.Errorf("docs/api.md's heavy calls %v, the tables' %v", listed, heavy)
	}
}
