package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// symbols is the set of names a package (or one file) declares, as doc links write
// them: "Name" for a type, func, var or const and "Type.Name" for a method or field.
type symbols map[string]bool

// collectSymbols returns the package-level names of files, with the methods and
// fields of each type, including those promoted from embedded types of the same
// package, as go doc lists them.
func collectSymbols(files []*ast.File) symbols {
	syms := symbols{}
	embeds := map[string][]string{} // type name → names of its embedded local types
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				syms.addFunc(d)
			case *ast.GenDecl:
				syms.addGenDecl(d, embeds)
			}
		}
	}
	syms.promote(embeds)
	return syms
}

// addFunc records a function, or a method under its receiver's type name.
func (s symbols) addFunc(d *ast.FuncDecl) {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		s[d.Name.Name] = true
		return
	}
	s[typeName(d.Recv.List[0].Type)+"."+d.Name.Name] = true
}

// addGenDecl records the names of a const, var or type declaration, and the fields
// and interface methods of each type.
func (s symbols) addGenDecl(d *ast.GenDecl, embeds map[string][]string) {
	for _, spec := range d.Specs {
		switch sp := spec.(type) {
		case *ast.ValueSpec:
			for _, n := range sp.Names {
				s[n.Name] = true
			}
		case *ast.TypeSpec:
			s[sp.Name.Name] = true
			var fields *ast.FieldList
			switch t := sp.Type.(type) {
			case *ast.StructType:
				fields = t.Fields
			case *ast.InterfaceType:
				fields = t.Methods
			}
			s.addFields(sp.Name.Name, fields, embeds)
		}
	}
}

// addFields records the fields (or interface methods) of type owner; embedded ones
// are recorded under their type's name and, when that type is local, in embeds.
func (s symbols) addFields(owner string, fields *ast.FieldList, embeds map[string][]string) {
	if fields == nil {
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			s[owner+"."+n.Name] = true
		}
		if len(f.Names) > 0 {
			continue
		}
		name := typeName(f.Type)
		s[owner+"."+name] = true
		if _, qualified := unparen(f.Type).(*ast.SelectorExpr); !qualified && name != "" {
			embeds[owner] = append(embeds[owner], name)
		}
	}
}

// promote copies the methods and fields of embedded local types to the types that
// embed them, repeating until nothing changes so that chains of embedding resolve.
func (s symbols) promote(embeds map[string][]string) {
	for changed := true; changed; {
		changed = false
		for key := range s {
			inner, member, ok := strings.Cut(key, ".")
			if !ok {
				continue
			}
			for outer, list := range embeds {
				for _, e := range list {
					if e == inner && !s[outer+"."+member] {
						s[outer+"."+member] = true
						changed = true
					}
				}
			}
		}
	}
}

// typeName returns the name of a (possibly pointer, generic or qualified) type
// expression: T for T, *T, T[K] and pkg.T.
func typeName(e ast.Expr) string {
	switch t := unparen(e).(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return typeName(t.X)
	case *ast.IndexExpr:
		return typeName(t.X)
	case *ast.IndexListExpr:
		return typeName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

// unparen strips the parentheses around an expression.
func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// pkgInfo is what a link target needs to know about a package: its name in the
// package clause and the symbols its non-test files declare.
type pkgInfo struct {
	name string
	syms symbols
}

// parseGoFiles parses the named files without their comments. Files that do not
// parse are left out; the repository walk reports them where they are checked.
func parseGoFiles(paths []string) []*ast.File {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err == nil {
			files = append(files, f)
		}
	}
	return files
}

// loadDir returns the package of dir's non-test Go files, or nil when dir holds
// none. The package name is the one most files declare, so that a generator
// under a build tag does not rename the package.
func loadDir(dir string) *pkgInfo {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var paths []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	return loadFiles(paths)
}

// loadFiles returns the package that the named Go files declare, or nil when none
// of them parses.
func loadFiles(paths []string) *pkgInfo {
	files := parseGoFiles(paths)
	if len(files) == 0 {
		return nil
	}
	count := map[string]int{}
	name := ""
	for _, f := range files {
		n := f.Name.Name
		count[n]++
		if count[n] > count[name] {
			name = n
		}
	}
	return &pkgInfo{name: name, syms: collectSymbols(files)}
}
