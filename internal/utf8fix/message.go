package utf8fix

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Message repairs, in place, every string of m and of the messages it
// holds (fields, list items, map keys and values), and returns the paths
// of the repaired ones ("health.component_health_map[\"x\"].last_error").
// It is the last line of defence before encoding: callers repair a copy
// of state they do not own.
func Message(m protoreflect.Message) []string {
	var fixed []string
	walk(m, "", &fixed)
	return fixed
}

func walk(m protoreflect.Message, path string, fixed *[]string) {
	type set struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var sets []set // applied after Range: no mutation while ranging
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := join(path, string(fd.Name()))
		switch {
		case fd.IsList():
			walkList(fd, v.List(), p, fixed)
		case fd.IsMap():
			walkMap(fd, v.Map(), p, fixed)
		case fd.Kind() == protoreflect.StringKind:
			if s, changed := String(v.String()); changed {
				*fixed = append(*fixed, p)
				sets = append(sets, set{fd, protoreflect.ValueOfString(s)})
			}
		case isMessage(fd):
			walk(v.Message(), p, fixed)
		}
		return true
	})
	for _, s := range sets {
		m.Set(s.fd, s.v)
	}
}

func walkList(fd protoreflect.FieldDescriptor, l protoreflect.List, path string, fixed *[]string) {
	for i := range l.Len() {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case fd.Kind() == protoreflect.StringKind:
			if s, changed := String(l.Get(i).String()); changed {
				*fixed = append(*fixed, p)
				l.Set(i, protoreflect.ValueOfString(s))
			}
		case isMessage(fd):
			walk(l.Get(i).Message(), p, fixed)
		}
	}
}

func walkMap(fd protoreflect.FieldDescriptor, mp protoreflect.Map, path string, fixed *[]string) {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	vd := fd.MapValue()
	for _, k := range keys {
		v := mp.Get(k)
		key := k.String()
		if fd.MapKey().Kind() == protoreflect.StringKind {
			if s, changed := String(key); changed {
				// Two bad keys may repair to the same text: the later one wins,
				// which loses an entry but keeps the message encodable.
				*fixed = append(*fixed, fmt.Sprintf("%s[%q] (key)", path, s))
				mp.Clear(k)
				k, key = protoreflect.ValueOfString(s).MapKey(), s
				mp.Set(k, v)
			}
		}
		p := fmt.Sprintf("%s[%q]", path, key)
		switch {
		case vd.Kind() == protoreflect.StringKind:
			if s, changed := String(v.String()); changed {
				*fixed = append(*fixed, p)
				mp.Set(k, protoreflect.ValueOfString(s))
			}
		case isMessage(vd):
			walk(v.Message(), p, fixed)
		}
	}
}

func isMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
