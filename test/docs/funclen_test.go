package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxFuncLines is the longest a product function may be, from its func line to its
// closing brace.
const maxFuncLines = 60

// funcLen is one function or method and its length in lines.
type funcLen struct {
	pos   string // file:line of the func keyword
	name  string // Name or Type.Name
	lines int
}

// TestFunctionLength fails naming every function or method of the product code
// (the main module outside test/, without tests and generated files) longer than
// maxFuncLines, and logs the median, p90 and max length.
func TestFunctionLength(t *testing.T) {
	root := moduleRoot(t)
	rels, err := walkFiles(root, ".go", true)
	if err != nil {
		t.Fatal(err)
	}
	var all []funcLen
	for _, rel := range rels {
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "test/") || strings.HasSuffix(rel, "_test.go") ||
			strings.HasPrefix(filepath.Base(rel), "zz_generated") {
			continue
		}
		fns, err := funcLengths(filepath.Join(root, rel), rel, nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fns...)
	}
	median, p90, longest := lengthStats(all)
	t.Logf("%d product functions: median %d, p90 %d, max %d lines", len(all), median, p90, longest)
	for _, f := range all {
		if f.lines > maxFuncLines {
			t.Errorf("%s: %s is %d lines long, over %d: split it", f.pos, f.name, f.lines, maxFuncLines)
		}
	}
}

// TestFuncLengths checks the measure on a function of exactly maxFuncLines lines
// and one a line longer.
func TestFuncLengths(t *testing.T) {
	src := "package p\n\n" +
		"func fits() {\n" + strings.Repeat("\t_ = 0\n", maxFuncLines-2) + "}\n\n" +
		"type T struct{}\n\n" +
		"func (T) tooLong() {\n" + strings.Repeat("\t_ = 0\n", maxFuncLines-1) + "}\n"
	fns, err := funcLengths("p.go", "p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	want := []funcLen{
		{"p.go:3", "fits", maxFuncLines},
		{fmt.Sprintf("p.go:%d", 3+maxFuncLines+3), "T.tooLong", maxFuncLines + 1},
	}
	if fmt.Sprint(fns) != fmt.Sprint(want) {
		t.Errorf("funcLengths = %v, want %v", fns, want)
	}
}

// funcLengths returns the length of every function and method with a body in the
// Go file at path (or in src, when it is not nil), named by rel.
func funcLengths(path, rel string, src any) ([]funcLen, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []funcLen
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) > 0 {
			name = typeName(fd.Recv.List[0].Type) + "." + name
		}
		start, end := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
		out = append(out, funcLen{fmt.Sprintf("%s:%d", rel, start), name, end - start + 1})
	}
	return out, nil
}

// lengthStats returns the median, 90th percentile (nearest rank) and maximum of the
// functions' lengths.
func lengthStats(fns []funcLen) (median, p90, longest int) {
	if len(fns) == 0 {
		return 0, 0, 0
	}
	n := make([]int, len(fns))
	for i, f := range fns {
		n[i] = f.lines
	}
	sort.Ints(n)
	rank := func(p int) int { return n[(p*len(n)+99)/100-1] }
	return rank(50), rank(90), n[len(n)-1]
}
