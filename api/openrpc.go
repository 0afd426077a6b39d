package api

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// OpenRPCVersion is the version of the OpenRPC specification OpenRPC's
// document follows.
const OpenRPCVersion = "1.2.6"

// OpenRPC returns the OpenRPC document (indented JSON) of every JSON-RPC
// method a Server serves when all its modules are set, with version as the
// document's info.version. It is built by reflection over what
// registerModules registers (every field of Modules, through
// Modules.list), so a new module or method appears in it without more
// code; the entries reflection cannot give come from tables that fail it
// when they fall behind:
//
//   - name: "<namespace>.<Method>", the name clients call;
//   - params: the Go parameters after ctx, by position, named after the Go
//     method's parameters (methodDocs; TestOpenRPCDocsMatchSource checks
//     them against the source);
//   - summary: methodDocs, which must describe every method;
//   - x-permission: the permission the module's table gives the method;
//   - result: the schema of the first result (null for a method that
//     returns only an error). A method returning a channel is a
//     subscription (x-subscription: true, WebSocket only): the call
//     answers a channel ID and go-jsonrpc sends each value in an
//     "xrpc.ch.val" notification; its result schema is a value's.
//
// Schemas follow encoding/json: see schemaGen for the rules. OpenRPC fails
// for a method without a methodDocs entry, and for a type whose own
// MarshalJSON has no entry in customSchemas. The output is deterministic.
func OpenRPC(version string) ([]byte, error) {
	doc, err := openRPCDoc(version)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: openrpc: %w", err)
	}
	return append(out, '\n'), nil
}

// allModules returns Modules with every field set to a zero module: what
// OpenRPC describes. Its modules are for reflection only; calling one
// panics.
func allModules() Modules {
	var m Modules
	v := reflect.ValueOf(&m).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer {
			f.Set(reflect.New(f.Type().Elem()))
		}
	}
	return m
}

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// openRPCDoc builds OpenRPC's document.
func openRPCDoc(version string) (map[string]any, error) {
	g := &schemaGen{defs: map[string]any{}, names: map[reflect.Type]string{}, custom: customSchemas()}
	var methods []map[string]any
	for _, m := range allModules().list() {
		// The checks registerModules makes before it registers.
		if err := checkTable(m); err != nil {
			return nil, fmt.Errorf("api: openrpc: %w", err)
		}
		t := m.rpcTable()
		typ := reflect.TypeOf(m)
		for i := range typ.NumMethod() {
			meth := typ.Method(i)
			name := t.namespace + "." + meth.Name
			md, err := g.method(name, meth.Type, methodDocs[name], t.methods[meth.Name].perm)
			if err != nil {
				return nil, fmt.Errorf("api: openrpc: %s: %w", name, err)
			}
			methods = append(methods, md)
		}
	}
	slices.SortFunc(methods, func(a, b map[string]any) int {
		return strings.Compare(a["name"].(string), b["name"].(string))
	})
	return map[string]any{
		"openrpc": OpenRPCVersion,
		"info": map[string]any{
			"title":   "DataMesh node API",
			"version": version,
			"description": "JSON-RPC 2.0 over HTTP POST and WebSocket, authenticated by a bearer JWT " +
				"whose permissions must include each method's x-permission. Parameters are by position.",
		},
		"servers": []any{map[string]any{"name": "local node", "url": "http://" + DefaultAddr}},
		"methods": methods,
		"components": map[string]any{
			"schemas": g.defs,
		},
	}, nil
}

// method returns the OpenRPC method object of the Go method ft (its
// receiver first), served as name.
func (g *schemaGen) method(name string, ft reflect.Type, d methodDoc, perm Permission) (map[string]any, error) {
	if d.summary == "" {
		return nil, fmt.Errorf("no summary in methodDocs")
	}
	first := 1 // after the receiver
	if ft.NumIn() > 1 && ft.In(1) == contextType {
		first = 2
	}
	if n := ft.NumIn() - first; n != len(d.params) {
		return nil, fmt.Errorf("methodDocs names %d parameters, the method takes %d", len(d.params), n)
	}
	params := []any{}
	for i := first; i < ft.NumIn(); i++ {
		s, err := g.of(ft.In(i))
		if err != nil {
			return nil, err
		}
		params = append(params, map[string]any{"name": d.params[i-first], "required": true, "schema": s})
	}
	var res reflect.Type
	switch {
	case ft.NumOut() == 1 && ft.Out(0) == errorType:
	case ft.NumOut() == 2 && ft.Out(1) == errorType:
		res = ft.Out(0)
	default:
		return nil, fmt.Errorf("results %s: want (T, error) or error", ft)
	}
	m := map[string]any{
		"name":           name,
		"summary":        d.summary,
		"paramStructure": "by-position",
		"params":         params,
		"x-permission":   string(perm),
	}
	result := map[string]any{"name": "result", "schema": map[string]any{"type": "null"}}
	if res != nil {
		if res.Kind() == reflect.Chan {
			m["x-subscription"] = true
			m["description"] = "A subscription (WebSocket only): the call answers a channel ID, and each value " +
				"arrives in an xrpc.ch.val notification; the result schema is a value's."
			res = res.Elem()
		}
		s, err := g.of(res)
		if err != nil {
			return nil, err
		}
		result["schema"] = s
	}
	m["result"] = result
	return m, nil
}

// schemaGen turns Go types into JSON Schemas of their encoding/json
// encoding:
//
//   - bool, integers (unsigned ones with minimum 0), floats and strings are
//     boolean, integer, number and string;
//   - []byte is a base64 string, [N]T an array of exactly N items (so
//     [32]byte is 32 integers, as encoding/json writes it), another slice
//     an array, a map an object of additionalProperties; slices, maps and
//     pointers may be null;
//   - a struct is an object of its fields by their json tags (embedded
//     structs' fields promoted, "-" left out, ",string" a string), every
//     field without omitempty or omitzero required; a named struct is a
//     component (components/schemas, "<package>.<Type>") referred to by
//     $ref, so recursive types end;
//   - a type with its own MarshalJSON or UnmarshalJSON (on it or its
//     pointer) is described by customSchemas, whose entry gives the JSON
//     they write and read; one missing there is an error, never a guess;
//   - a type that is an encoding.TextMarshaler (without MarshalJSON) is a
//     string, as encoding/json writes it;
//   - an interface is any JSON value.
type schemaGen struct {
	defs   map[string]any          // components/schemas
	names  map[reflect.Type]string // each type's component name
	custom map[reflect.Type]func(*schemaGen) (map[string]any, error)
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
)

// implements reports whether t or *t implements iface.
func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface))
}

// of returns the schema of t.
func (g *schemaGen) of(t reflect.Type) (map[string]any, error) {
	if custom, ok := g.custom[t]; ok {
		return g.component(t, func() (map[string]any, error) { return custom(g) })
	}
	if t.Kind() == reflect.Pointer {
		s, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}, nil
	}
	if implements(t, jsonMarshaler) || implements(t, jsonUnmarshaler) {
		return nil, fmt.Errorf("%s has its own MarshalJSON or UnmarshalJSON: describe its JSON in customSchemas", t)
	}
	if implements(t, textMarshaler) {
		return map[string]any{"type": "string", "description": "Go type " + t.String() + " as text"}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Interface:
		return map[string]any{"description": "any JSON value"}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !implements(t.Elem(), jsonMarshaler) && !implements(t.Elem(), textMarshaler) {
			return map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"}, nil
		}
		items, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": []any{"array", "null"}, "items": items}, nil
	case reflect.Array:
		items, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items, "minItems": t.Len(), "maxItems": t.Len()}, nil
	case reflect.Map:
		vals, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": vals}, nil
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		return g.component(t, func() (map[string]any, error) { return g.object(t) })
	}
	return nil, fmt.Errorf("%s (%s) has no JSON encoding", t, t.Kind())
}

// component returns a $ref to t's component, building it with build the
// first time (the name is taken first, so that a recursive type refers to
// itself).
func (g *schemaGen) component(t reflect.Type, build func() (map[string]any, error)) (map[string]any, error) {
	name, ok := g.names[t]
	if !ok {
		pkg := t.PkgPath()
		name = pkg[strings.LastIndexByte(pkg, '/')+1:] + "." + t.Name()
		name = strings.Map(func(r rune) rune {
			if r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
				return r
			}
			return '_'
		}, name)
		if _, taken := g.defs[name]; taken {
			return nil, fmt.Errorf("two types are named %s", name)
		}
		g.names[t] = name
		g.defs[name] = nil
		s, err := build()
		if err != nil {
			return nil, err
		}
		if _, ok := s["description"]; !ok {
			s["description"] = "Go type " + t.String()
		}
		g.defs[name] = s
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}, nil
}

// jsonField is a field of a struct's JSON object.
type jsonField struct {
	name     string
	depth    int
	tagged   bool
	typ      reflect.Type
	optional bool // omitempty or omitzero
	asString bool // ",string"
}

// object returns the schema of the struct t's JSON object.
func (g *schemaGen) object(t reflect.Type) (map[string]any, error) {
	var all []jsonField
	structFields(t, 0, map[reflect.Type]bool{}, &all)
	// encoding/json's dominance: the shallowest field of a name wins, a
	// tagged one among equals; a tie drops the name.
	byName := map[string][]jsonField{}
	for _, f := range all {
		byName[f.name] = append(byName[f.name], f)
	}
	props := map[string]any{}
	required := []string{}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		fs := byName[name]
		minDepth := slices.MinFunc(fs, func(a, b jsonField) int { return a.depth - b.depth }).depth
		fs = slices.DeleteFunc(fs, func(f jsonField) bool { return f.depth > minDepth })
		if len(fs) > 1 {
			fs = slices.DeleteFunc(fs, func(f jsonField) bool { return !f.tagged })
		}
		if len(fs) != 1 {
			continue
		}
		f := fs[0]
		var s map[string]any
		if k := f.typ.Kind(); f.asString && (k == reflect.Bool || k == reflect.String || k == reflect.Float32 || k == reflect.Float64 ||
			(k >= reflect.Int && k <= reflect.Uint64)) {
			s = map[string]any{"type": "string"}
		} else {
			var err error
			if s, err = g.of(f.typ); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t, name, err)
			}
		}
		props[name] = s
		if !f.optional {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s, nil
}

// structFields appends t's JSON fields at depth to out, those of embedded
// untagged structs promoted (seen stops an embedding cycle).
func structFields(t reflect.Type, depth int, seen map[reflect.Type]bool, out *[]jsonField) {
	if seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if f.Anonymous && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			structFields(ft, depth+1, seen, out)
			continue
		}
		if !f.IsExported() {
			continue
		}
		jf := jsonField{name: name, depth: depth, tagged: name != "", typ: f.Type}
		if name == "" {
			jf.name = f.Name
		}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				jf.optional = true
			case "string":
				jf.asString = true
			}
		}
		*out = append(*out, jf)
	}
}
