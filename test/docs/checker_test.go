package docs

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// finding is one link that does not resolve.
type finding struct {
	file string // slash-separated, relative to the checked module's root
	line int
	link string // as written, such as `[pkg.Name]` or `[text](target)`
	why  string
}

// String formats f as file:line: link — why.
func (f finding) String() string {
	return fmt.Sprintf("%s:%d: %s — %s", f.file, f.line, f.link, f.why)
}

// checker resolves the links written in one module's Go and Markdown files.
type checker struct {
	root     string              // module root directory
	modPath  string              // module path from go.mod
	requires map[string]string   // required module path → version, from go.mod
	goroot   string              // standard library sources are under goroot/src
	modcache string              // GOMODCACHE
	pkgs     map[string]*pkgInfo // import path → package; nil when not found

	seen      map[string]bool // file:line of every link looked at
	links     int             // links looked at
	unchecked int             // links into packages found neither in GOROOT nor the module cache
}

// newChecker returns a checker for the module rooted at root, reading its go.mod;
// goroot and modcache say where to find other packages (either may be empty).
func newChecker(root, goroot, modcache string) (*checker, error) {
	modPath, requires, err := readGoMod(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	return &checker{
		root: root, modPath: modPath, requires: requires,
		goroot: goroot, modcache: modcache,
		pkgs: map[string]*pkgInfo{}, seen: map[string]bool{},
	}, nil
}

// check returns every unresolved link of the module's Go and Markdown files, sorted
// by file and line.
func (c *checker) check() ([]finding, error) {
	goFiles, err := walkFiles(c.root, ".go", true)
	if err != nil {
		return nil, err
	}
	findings := c.checkGo(goFiles)
	mdFiles, err := walkFiles(c.root, ".md", false)
	if err != nil {
		return nil, err
	}
	for _, rel := range mdFiles {
		found, err := c.checkMarkdown(rel)
		if err != nil {
			return nil, err
		}
		findings = append(findings, found...)
	}
	sort.SliceStable(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		return a.file < b.file || a.file == b.file && a.line < b.line
	})
	return findings, nil
}

// pkg returns the package at importPath and whether the path is inside this module.
// It is nil when the package's directory is not found: in this module, in GOROOT
// or, at the version go.mod requires, in the module cache.
func (c *checker) pkg(importPath string) (p *pkgInfo, inModule bool) {
	inModule = importPath == c.modPath || strings.HasPrefix(importPath, c.modPath+"/")
	if p, ok := c.pkgs[importPath]; ok {
		return p, inModule
	}
	if dir := c.dirOf(importPath, inModule); dir != "" {
		p = loadDir(dir)
	}
	c.pkgs[importPath] = p
	return p, inModule
}

// dirOf returns the directory that holds importPath's sources, or "" when it is
// in no place this checker looks.
func (c *checker) dirOf(importPath string, inModule bool) string {
	if inModule {
		return filepath.Join(c.root, strings.TrimPrefix(importPath, c.modPath))
	}
	first, _, _ := strings.Cut(importPath, "/")
	if !strings.Contains(first, ".") { // the standard library
		if c.goroot == "" {
			return ""
		}
		return filepath.Join(c.goroot, "src", importPath)
	}
	mod := ""
	for m := range c.requires {
		if (importPath == m || strings.HasPrefix(importPath, m+"/")) && len(m) > len(mod) {
			mod = m
		}
	}
	if mod == "" || c.modcache == "" {
		return ""
	}
	base := escapeModPath(mod) + "@" + escapeModPath(c.requires[mod])
	return filepath.Join(c.modcache, base, strings.TrimPrefix(importPath, mod))
}

// rel returns path relative to the module root, slash-separated.
func (c *checker) rel(path string) string {
	r, err := filepath.Rel(c.root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// escapeModPath escapes a module path or version as the module cache does: each
// upper-case letter becomes '!' and its lower-case form.
func escapeModPath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readGoMod returns the module path and the required module versions of a go.mod.
func readGoMod(path string) (modPath string, requires map[string]string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	requires = map[string]string{}
	inRequire := false
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "module":
			modPath = strings.Trim(f[1], `"`)
		case len(f) == 2 && f[0] == "require" && f[1] == "(":
			inRequire = true
		case len(f) == 3 && f[0] == "require":
			requires[f[1]] = f[2]
		case len(f) == 1 && f[0] == ")":
			inRequire = false
		case len(f) == 2 && inRequire:
			requires[f[0]] = f[1]
		}
	}
	if modPath == "" {
		return "", nil, fmt.Errorf("%s: no module line", path)
	}
	return modPath, requires, nil
}

// goEnv returns GOROOT and GOMODCACHE as the go command reports them, or empty
// strings when it cannot be run (links outside the module then go unchecked).
func goEnv() (goroot, modcache string) {
	out, err := exec.Command("go", "env", "GOROOT", "GOMODCACHE").Output()
	if err != nil {
		return "", ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", ""
	}
	return lines[0], lines[1]
}

// walkFiles returns the paths, relative to root, of the files under root whose
// names end in suffix. Like the go command it leaves out testdata and directories
// whose names start with '.' or '_'; with skipModules it also leaves out nested
// modules (directories with their own go.mod, such as test/controlplane).
func walkFiles(root, suffix string, skipModules bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == root {
				return nil
			}
			n := d.Name()
			if n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && skipModules {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), suffix) {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}
