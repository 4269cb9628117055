// Package docs holds the tests that keep the repository's documentation pointing at
// code that exists. It has no code of its own; everything is in its tests.
//
// TestDocLinks parses every comment of every Go file of the main module with
// go/doc/comment, the parser go doc and pkg.go.dev use, and resolves each doc link:
//
//	[Name] [Name.Method] [pkg.Name] [pkg.Name.Field] [*pkg.Name] [import/path.Name]
//
// A link into this module must name a type, func, var or const (or a method or field
// of a type) declared in the target package's non-test files; a pkg name must be
// imported by the package that writes the link, or go doc shows the link as plain
// text. Links into the standard library and other modules are resolved when their
// package is in GOROOT or the module cache at the version go.mod requires, and
// counted as unchecked otherwise.
//
// The same test checks every Markdown file: a relative link target must exist, and a
// link whose text is a code span naming a Go identifier, such as
//
//	[`activation.Decide`](scaler/activation/activation.go)
//
// must point at the file or package that declares it.
//
// TestFunctionLength keeps product code (everything outside test/, without test and
// generated files) to functions of at most 60 lines, from the func line to the
// closing brace, and logs the median, p90 and longest function. Testdata directories and
// nested modules are not walked; the checkers themselves are tested on the
// fixtures under testdata, which hold a good and a broken link of each kind.
package docs
