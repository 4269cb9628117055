package local

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// ImageMap maps container image references to local executables. It is the
// allow-list of what the local backend runs: a pod whose image is not in the map
// is rejected with an Unsupported error naming the image.
//
// A key with a tag or digest ("ghcr.io/acme/worker:1.2", "x@sha256:...") matches
// that reference only. A key without one ("ghcr.io/acme/worker") matches the
// repository with any tag or digest. An exact match wins over a repository match.
type ImageMap struct {
	entries map[string]string
}

// ParseImageMap decodes an image map file: a YAML (or JSON) mapping from image
// reference to the absolute path of an executable:
//
//	ghcr.io/acme/worker: /usr/local/bin/worker
//	"busybox:1.36": /bin/busybox
//
// Paths must be absolute. Whether they exist is checked when a pod runs, so a map
// may name programs installed later.
func ParseImageMap(data []byte) (*ImageMap, error) {
	m := map[string]string{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.UnmarshalStrict(data, &m); err != nil {
			return nil, fmt.Errorf("image map: want a mapping of image reference to executable path: %w", err)
		}
	}
	im := &ImageMap{entries: make(map[string]string, len(m))}
	for img, path := range m {
		if err := im.Add(img, path); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// LoadImageMap reads and decodes an image map file.
func LoadImageMap(path string) (*ImageMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image map: %w", err)
	}
	return ParseImageMap(data)
}

// NewImageMap returns a map holding entries (image → executable), validated as
// Add does.
func NewImageMap(entries map[string]string) (*ImageMap, error) {
	im := &ImageMap{entries: map[string]string{}}
	for img, path := range entries {
		if err := im.Add(img, path); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// Add maps image to the executable at path. It is not safe to call while the
// backend uses the map.
func (m *ImageMap) Add(image, path string) error {
	image = strings.TrimSpace(image)
	if image == "" || strings.ContainsAny(image, " \t\n") {
		return fmt.Errorf("image map: invalid image reference %q", image)
	}
	if !filepath.IsAbs(path) || strings.ContainsRune(path, 0) {
		return fmt.Errorf("image map: %s: executable path %q is not absolute", image, path)
	}
	if m.entries == nil {
		m.entries = map[string]string{}
	}
	m.entries[image] = filepath.Clean(path)
	return nil
}

// Resolve returns the executable for image.
func (m *ImageMap) Resolve(image string) (string, bool) {
	if m == nil {
		return "", false
	}
	if p, ok := m.entries[image]; ok {
		return p, true
	}
	p, ok := m.entries[repository(image)]
	return p, ok
}

// Images returns the mapped image references, sorted.
func (m *ImageMap) Images() []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.entries))
	for k := range m.entries {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// repository strips a reference's digest and tag: "host:5000/a/b:tag@sha256:x" →
// "host:5000/a/b". A colon before the last slash belongs to a registry port.
func repository(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		ref = ref[:i]
	}
	return ref
}
