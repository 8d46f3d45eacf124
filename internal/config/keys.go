package config

import (
	"reflect"
	"strings"
)

// Field is one key of obslint.yaml, as the checker, the schema and the docs
// see it.
type Field struct {
	Key    string // the YAML key
	Path   string // the key path from the top, "timeouts::ready"
	Flag   string // the flag that overrides it, without dashes; "--" is the command after --
	Schema string // extra JSON Schema constraints, see Config
	Type   reflect.Type
	Go     string // the Go field name, for finding its doc comment
	Parent reflect.Type
}

// yamlFields lists a struct's keys in declaration order. Fields without a
// YAML key (Source) are not part of the file.
func yamlFields(t reflect.Type) []Field {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || key == "" || key == "-" {
			continue
		}
		out = append(out, Field{Key: key, Flag: sf.Tag.Get("flag"), Schema: sf.Tag.Get("schema"),
			Type: sf.Type, Go: sf.Name, Parent: t})
	}
	return out
}

// Keys lists every key of obslint.yaml, depth first in file order: a
// section, then its keys. List items are walked through ("probes::method").
func Keys() []Field {
	var out []Field
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for _, f := range yamlFields(t) {
			f.Path = join(path, f.Key)
			out = append(out, f)
			if et := elem(f.Type); et.Kind() == reflect.Struct && et != durationType {
				walk(et, f.Path)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// elem looks through slices to their element type.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}
