package docs

import (
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// notImported prefixes the "import path" the parser is given for a package name
// that the package writing the link does not import: go doc shows such a link as
// plain text, so the checker reports it (unless it is a lone [word]).
const notImported = "?"

// scope is what a comment's links are resolved against: the package that holds the
// comment, its import names and its symbols. Comments in non-test files see the
// package as go doc does (non-test files only); comments in test files also see the
// test files of the same package clause.
type scope struct {
	name    string            // package clause
	imports map[string]string // import name → import path; "" when ambiguous
	syms    symbols
}

// newScope returns the scope of package name among files; tests[i] says whether
// files[i] is a _test.go file, and inTest whether test files belong to the scope.
func newScope(files []*ast.File, tests []bool, name string, inTest bool) *scope {
	var in []*ast.File
	for i, f := range files {
		if f.Name.Name == name && (inTest || !tests[i]) {
			in = append(in, f)
		}
	}
	s := &scope{name: name, imports: map[string]string{}, syms: collectSymbols(in)}
	for _, f := range in {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			n := assumedPackageName(path)
			if imp.Name != nil {
				n = imp.Name.Name
			}
			if old, ok := s.imports[n]; ok && old != path {
				path = ""
			}
			s.imports[n] = path
		}
	}
	return s
}

// lookupPackage resolves a package name as go doc does: an import of the scope's
// files, the scope's own name, or a single-element standard library path. Any
// other identifier resolves to notImported+name so that the link is reported.
func (s *scope) lookupPackage(name string) (string, bool) {
	if path, ok := s.imports[name]; ok && path != "" {
		return path, true
	}
	if name == s.name {
		return "", true
	}
	if path, ok := comment.DefaultLookupPackage(name); ok {
		return path, true
	}
	if token.IsIdentifier(name) {
		return notImported + name, true
	}
	return "", false
}

// checkGo checks the doc links in the comments of the named Go files (relative to
// the root), one directory at a time.
func (c *checker) checkGo(rels []string) []finding {
	byDir := map[string][]string{}
	for _, rel := range rels {
		dir := filepath.Dir(rel)
		byDir[dir] = append(byDir[dir], rel)
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var findings []finding
	for _, d := range dirs {
		findings = append(findings, c.checkGoDir(byDir[d])...)
	}
	return findings
}

// checkGoDir checks the comments of one directory's Go files.
func (c *checker) checkGoDir(rels []string) []finding {
	fset := token.NewFileSet()
	var findings []finding
	var files []*ast.File
	var names []string
	var tests []bool
	for _, rel := range rels {
		f, err := parser.ParseFile(fset, filepath.Join(c.root, rel), nil,
			parser.ParseComments|parser.SkipObjectResolution)
		if os.IsNotExist(err) {
			continue // removed while the walk ran
		}
		if err != nil {
			findings = append(findings, finding{filepath.ToSlash(rel), 1, "", "does not parse: " + err.Error()})
			continue
		}
		files, names = append(files, f), append(names, filepath.ToSlash(rel))
		tests = append(tests, strings.HasSuffix(rel, "_test.go"))
	}
	scopes := map[string]*scope{}
	for i, f := range files {
		key := fmt.Sprint(f.Name.Name, tests[i])
		if scopes[key] == nil {
			scopes[key] = newScope(files, tests, f.Name.Name, tests[i])
		}
		findings = append(findings, c.checkComments(fset, names[i], f, scopes[key])...)
	}
	return findings
}

// checkComments parses every comment group of f as go doc would, with every
// bracketed name treated as a symbol, and resolves each doc link in it.
func (c *checker) checkComments(fset *token.FileSet, rel string, f *ast.File, s *scope) []finding {
	p := &comment.Parser{
		LookupPackage: s.lookupPackage,
		LookupSym:     func(recv, name string) bool { return true },
	}
	var findings []finding
	for _, cg := range f.Comments {
		nth := map[string]int{}
		for _, dl := range docLinks(p.Parse(cg.Text())) {
			text := linkText(dl)
			line := lineOf(fset, cg, "["+text+"]", nth[text])
			nth[text]++
			why, isLink := c.resolve(dl, s)
			if !isLink {
				continue
			}
			c.seen[fmt.Sprintf("%s:%d", rel, line)] = true
			c.links++
			if why != "" {
				findings = append(findings, finding{rel, line, "[" + text + "]", why})
			}
		}
	}
	return findings
}

// resolve says why dl does not resolve ("" when it does), and whether it is a link
// at all: a lone [word] that names no known package is plain text for go doc too.
func (c *checker) resolve(dl *comment.DocLink, s *scope) (why string, isLink bool) {
	if name, ok := strings.CutPrefix(dl.ImportPath, notImported); ok {
		if dl.Name == "" {
			return "", false
		}
		return fmt.Sprintf("package %s does not import %s, so go doc shows this as plain text: "+
			"import it or write the full import path", s.name, name), true
	}
	if dl.ImportPath == "" {
		return missing(s.syms, dl, "package "+s.name), true
	}
	p, inModule := c.pkg(dl.ImportPath)
	switch {
	case p == nil && inModule:
		return "no package " + dl.ImportPath + " in this module", true
	case p == nil:
		c.unchecked++
		return "", true
	}
	return missing(p.syms, dl, dl.ImportPath), true
}

// missing says which part of dl is not declared in syms ("" when all is).
func missing(syms symbols, dl *comment.DocLink, where string) string {
	switch {
	case dl.Name == "":
		return ""
	case dl.Recv == "" && !syms[dl.Name]:
		return fmt.Sprintf("%s is not declared in %s", dl.Name, where)
	case dl.Recv != "" && !syms[dl.Recv]:
		return fmt.Sprintf("type %s is not declared in %s", dl.Recv, where)
	case dl.Recv != "" && !syms[dl.Recv+"."+dl.Name]:
		return fmt.Sprintf("%s has no method or field %s in %s", dl.Recv, dl.Name, where)
	}
	return ""
}

// docLinks returns the doc links of d in order, from paragraphs, headings and lists.
func docLinks(d *comment.Doc) []*comment.DocLink {
	var links []*comment.DocLink
	var walk func([]comment.Block)
	walk = func(blocks []comment.Block) {
		for _, b := range blocks {
			var text []comment.Text
			switch b := b.(type) {
			case *comment.Paragraph:
				text = b.Text
			case *comment.Heading:
				text = b.Text
			case *comment.List:
				for _, item := range b.Items {
					walk(item.Content)
				}
			}
			for _, t := range text {
				if dl, ok := t.(*comment.DocLink); ok {
					links = append(links, dl)
				}
			}
		}
	}
	walk(d.Content)
	return links
}

// linkText returns the text between a doc link's brackets, as written.
func linkText(dl *comment.DocLink) string {
	var b strings.Builder
	for _, t := range dl.Text {
		if p, ok := t.(comment.Plain); ok {
			b.WriteString(string(p))
		}
	}
	return b.String()
}

// lineOf returns the line of the nth occurrence (from 0) of want in comment group
// cg, or the group's first line if it is not found.
func lineOf(fset *token.FileSet, cg *ast.CommentGroup, want string, nth int) int {
	for _, cm := range cg.List {
		first := fset.Position(cm.Slash).Line
		for i, l := range strings.Split(cm.Text, "\n") {
			k := strings.Count(l, want)
			if nth < k {
				return first + i
			}
			nth -= k
		}
	}
	return fset.Position(cg.Pos()).Line
}

// assumedPackageName returns the package name go doc assumes for an import path
// imported without a name: the last element, skipping a major-version element such
// as v2, without a "go-" prefix, up to the first character not allowed in a name.
func assumedPackageName(importPath string) string {
	elems := strings.Split(importPath, "/")
	base := elems[len(elems)-1]
	if _, err := strconv.Atoi(strings.TrimPrefix(base, "v")); err == nil && len(elems) > 1 &&
		strings.HasPrefix(base, "v") {
		base = elems[len(elems)-2]
	}
	base = strings.TrimPrefix(base, "go-")
	if i := strings.IndexFunc(base, func(r rune) bool { return !token.IsIdentifier("a" + string(r)) }); i >= 0 {
		base = base[:i]
	}
	return base
}
