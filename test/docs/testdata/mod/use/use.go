// Package use writes doc links, one a line, each marked as one that resolves or
// one that does not.
package use

import (
	"strings"

	"example.com/fixture/thing"
)

// Local is declared here, so [Local] resolves. GOOD
//
// Links into this module: [thing.Thing] GOOD
// [thing.Thing.Do] GOOD
// [*thing.Thing] GOOD
// [thing.Thing.ID] GOOD (promoted from the embedded Base)
// [thing] GOOD (the package itself)
// [example.com/fixture/thing.Make] GOOD (full import path)
// [thing.Gone] BROKEN
// [thing.Thing.Gone] BROKEN
// [thing.Nothing.Do] BROKEN
// [example.com/fixture/gone.Make] BROKEN (no such package)
// [Missing] BROKEN (not declared in this package)
//
// Links into the standard library: [strings.Builder] GOOD
// [strings.Builder.Len] GOOD
// [strings.NoSuchFunc] BROKEN
//
// A package this package does not import: [other.Name] BROKEN
// A module go.mod does not require is not checked: [example.org/elsewhere.Name].
// Not links: a lone [word], m[Key], and in a code block:
//
//	[Gone]
type Local struct{ b strings.Builder }

// Use uses the imports.
func Use() *thing.Thing {
	// Comments inside functions are checked too: [Local.Missing] BROKEN
	return thing.Make()
}
