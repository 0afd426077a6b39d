// Package cometconfig reads CometBFT's config.toml without viper: CometBFT's
// Config names its keys in mapstructure tags, which TOML decoders do not
// read, so the file is decoded into a map and copied field by field by tag.
package cometconfig

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	cfg "github.com/cometbft/cometbft/config"
)

// Load reads CometBFT's config.toml at path over base (normally
// cfg.DefaultConfig()): the keys present in the file replace base's values.
// Keys the Config does not have are ignored, as CometBFT itself does; a
// value of the wrong type is an error, and base may then be partly updated.
// Like CometBFT's loader, it accepts quoted numbers and comma-separated
// strings for string lists (its own template writes both).
func Load(path string, base *cfg.Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read CometBFT config: %w", err)
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("parse CometBFT config %s: %w", path, err)
	}
	if err := setStruct(reflect.ValueOf(base).Elem(), m, ""); err != nil {
		return fmt.Errorf("CometBFT config %s: %w", path, err)
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// setStruct sets the fields of the struct v from m by mapstructure tag.
func setStruct(v reflect.Value, m map[string]any, prefix string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		fv := v.Field(i)
		if opts == "squash" {
			if fv.Kind() != reflect.Struct {
				return fmt.Errorf("field %s: squash of a %s", f.Name, fv.Kind())
			}
			if err := setStruct(fv, m, prefix); err != nil {
				return err
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		raw, ok := m[tag]
		if !ok {
			continue
		}
		name := prefix + tag
		if fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct {
			sub, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: want a table, got %T", name, raw)
			}
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			if err := setStruct(fv.Elem(), sub, name+"."); err != nil {
				return err
			}
			continue
		}
		if err := setValue(fv, raw, name); err != nil {
			return err
		}
	}
	return nil
}

// toInt reads an integer, or a string holding one: CometBFT's template
// quotes some numbers (statesync.chunk_fetchers) and its loader accepts that.
func toInt(raw any) (int64, bool) {
	switch x := raw.(type) {
	case int64:
		return x, true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}

// setValue sets one scalar or string list field.
func setValue(fv reflect.Value, raw any, name string) error {
	bad := func() error { return fmt.Errorf("%s: cannot use %T value %v as %s", name, raw, raw, fv.Type()) }
	if fv.Type() == durationType {
		s, ok := raw.(string)
		if !ok {
			return bad()
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fv.SetInt(int64(d))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return bad()
		}
		fv.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return bad()
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := toInt(raw)
		if !ok || fv.OverflowInt(n) {
			return bad()
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := toInt(raw)
		if !ok || n < 0 || fv.OverflowUint(uint64(n)) {
			return bad()
		}
		fv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch x := raw.(type) {
		case float64:
			fv.SetFloat(x)
		case int64:
			fv.SetFloat(float64(x))
		default:
			return bad()
		}
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("%s: unsupported field type %s", name, fv.Type())
		}
		if str, ok := raw.(string); ok {
			// CometBFT's template writes some lists as one comma-separated
			// string (statesync.rpc_servers); its loader splits them.
			var parts []string
			if str != "" {
				parts = strings.Split(str, ",")
			}
			fv.Set(reflect.ValueOf(parts).Convert(fv.Type()))
			return nil
		}
		list, ok := raw.([]any)
		if !ok {
			return bad()
		}
		out := reflect.MakeSlice(fv.Type(), len(list), len(list))
		for i, x := range list {
			s, ok := x.(string)
			if !ok {
				return fmt.Errorf("%s[%d]: want a string, got %T", name, i, x)
			}
			out.Index(i).SetString(s)
		}
		fv.Set(out)
	default:
		return fmt.Errorf("%s: unsupported field type %s", name, fv.Type())
	}
	return nil
}
