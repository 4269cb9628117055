package decode

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Source is where a key's value may come from.
type Source int

const (
	// FromMeta is the trigger's metadata map.
	FromMeta Source = iota + 1
	// FromAuth is the TriggerAuthentication parameters.
	FromAuth
	// FromEnv is the scale target's container environment, named by "<key>FromEnv".
	FromEnv
)

func (s Source) String() string {
	switch s {
	case FromMeta:
		return "metadata"
	case FromAuth:
		return "TriggerAuthentication"
	case FromEnv:
		return "environment"
	}
	return "unknown"
}

// secrecy says how a key's value may be printed.
type secrecy int

const (
	public secrecy = iota
	secretAll
	secretUserinfo
)

// field is the parsed tag of one config field.
type field struct {
	key         string
	index       []int
	typ         reflect.Type
	required    bool
	hasDefault  bool
	def         string
	from        []Source
	enum        []string
	min, max    *float64
	gt          *float64
	sep         string
	aliases     []string
	deprecated  string
	unsupported string
	secret      secrecy
}

func (f *field) allows(s Source) bool {
	for _, x := range f.from {
		if x == s {
			return true
		}
	}
	return false
}

// plan is every field of one config type, with lookup tables.
type plan struct {
	fields []*field
	byKey  map[string]*field // canonical keys
	alias  map[string]*field // alias spelling -> field
	envKey map[string]*field // "<key>FromEnv" -> field
	// valid is the sorted list of keys accepted in metadata.
	valid []string
}

var plans sync.Map // reflect.Type -> *plan or error

var (
	durationType = reflect.TypeFor[time.Duration]()
	stringsType  = reflect.TypeFor[[]string]()
	mapType      = reflect.TypeFor[map[string]string]()
)

// planFor returns the cached plan of struct type t.
func planFor(t reflect.Type) (*plan, error) {
	if v, ok := plans.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*plan), nil
	}
	p, err := buildPlan(t)
	if err != nil {
		plans.Store(t, err)
		return nil, err
	}
	plans.Store(t, p)
	return p, nil
}

// Check reports whether config (a pointer to a struct) has valid surge tags. Trigger
// packages call it from a test so a bad tag fails at once, not at a user's expense.
func Check(config any) error {
	t := reflect.TypeOf(config)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode: config must be a pointer to a struct, got %T", config)
	}
	_, err := planFor(t.Elem())
	return err
}

// Keys returns the metadata keys config (a pointer to a struct) accepts, sorted,
// including "<key>FromEnv" spellings.
func Keys(config any) ([]string, error) {
	if err := Check(config); err != nil {
		return nil, err
	}
	p, _ := planFor(reflect.TypeOf(config).Elem())
	return append([]string(nil), p.valid...), nil
}

func buildPlan(t reflect.Type) (*plan, error) {
	p := &plan{byKey: map[string]*field{}, alias: map[string]*field{}, envKey: map[string]*field{}}
	if err := collect(t, nil, p); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	add := func(k string) error {
		if seen[k] {
			return fmt.Errorf("decode: %s: key %q declared twice", t, k)
		}
		seen[k] = true
		return nil
	}
	for _, f := range p.fields {
		if err := add(f.key); err != nil {
			return nil, err
		}
		p.byKey[f.key] = f
		if f.allows(FromMeta) {
			p.valid = append(p.valid, f.key)
		}
		if f.allows(FromEnv) {
			k := f.key + "FromEnv"
			if err := add(k); err != nil {
				return nil, err
			}
			p.envKey[k] = f
			p.valid = append(p.valid, k)
		}
		for _, a := range f.aliases {
			if err := add(a); err != nil {
				return nil, err
			}
			p.alias[a] = f
		}
	}
	sort.Strings(p.valid)
	return p, nil
}

func collect(t reflect.Type, index []int, p *plan) error {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		tag, ok := sf.Tag.Lookup("surge")
		if !ok {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				if err := collect(sf.Type, idx, p); err != nil {
					return err
				}
			}
			continue
		}
		if !sf.IsExported() {
			return fmt.Errorf("decode: %s.%s: tagged field must be exported", t, sf.Name)
		}
		f, err := parseTag(tag, sf.Type)
		if err != nil {
			return fmt.Errorf("decode: %s.%s: %w", t, sf.Name, err)
		}
		f.index = idx
		p.fields = append(p.fields, f)
	}
	return nil
}

func parseTag(tag string, typ reflect.Type) (*field, error) {
	parts := strings.Split(tag, ",")
	f := &field{key: strings.TrimSpace(parts[0]), typ: typ, sep: ","}
	if f.key == "" {
		return nil, fmt.Errorf("empty key in tag %q", tag)
	}
	if !supportedType(typ) {
		return nil, fmt.Errorf("unsupported field type %s", typ)
	}
	opts := parts[1:]
	for i := 0; i < len(opts); i++ {
		name, val, hasVal := strings.Cut(strings.TrimSpace(opts[i]), "=")
		if name == "deprecated" || name == "unsupported" {
			// A message runs to the end of the tag and may contain commas.
			val = strings.Join(append([]string{val}, opts[i+1:]...), ",")
			i = len(opts)
		}
		if err := f.option(name, val, hasVal); err != nil {
			return nil, fmt.Errorf("tag %q: %w", tag, err)
		}
	}
	if len(f.from) == 0 {
		f.from = []Source{FromMeta}
	}
	if f.hasDefault {
		if _, err := parseValue(f, f.def); err != nil {
			return nil, fmt.Errorf("default %q: %w", f.def, err)
		}
	}
	return f, nil
}

func (f *field) option(name, val string, hasVal bool) error {
	num := func() (*float64, error) {
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) {
			return nil, fmt.Errorf("option %s: bad number %q", name, val)
		}
		return &v, nil
	}
	var err error
	switch name {
	case "required":
		f.required = true
	case "default":
		f.hasDefault, f.def = true, val
	case "from":
		for _, s := range strings.Split(val, "|") {
			switch s {
			case "meta":
				f.from = append(f.from, FromMeta)
			case "auth":
				f.from = append(f.from, FromAuth)
			case "env":
				f.from = append(f.from, FromEnv)
			default:
				return fmt.Errorf("unknown source %q (want meta, auth or env)", s)
			}
		}
	case "enum":
		f.enum = strings.Split(val, "|")
	case "min":
		f.min, err = num()
	case "max":
		f.max, err = num()
	case "gt":
		f.gt, err = num()
	case "sep":
		if val == "" {
			return fmt.Errorf("empty sep")
		}
		f.sep = val
	case "alias":
		f.aliases = strings.Split(val, "|")
	case "deprecated":
		f.deprecated = val
	case "unsupported":
		f.unsupported = val
	case "secret":
		switch {
		case !hasVal:
			f.secret = secretAll
		case val == "userinfo":
			f.secret = secretUserinfo
		default:
			return fmt.Errorf("secret=%q: want secret or secret=userinfo", val)
		}
	default:
		return fmt.Errorf("unknown option %q", name)
	}
	return err
}

func supportedType(t reflect.Type) bool {
	switch t {
	case durationType, stringsType, mapType:
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		return true
	}
	return false
}
