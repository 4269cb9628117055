// Package thing declares what the links of package use point at.
package thing

// Base is embedded in Thing, so its field ID is also Thing's.
type Base struct {
	ID string
}

// Thing is a thing.
type Thing struct {
	Base
	Size int
}

// Do does it.
func (t *Thing) Do() {}

// Make makes a Thing.
func Make() *Thing { return &Thing{} }

// Max is the largest size.
const Max = 10
