package docs

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	// inlineLink matches [text](target) and ![alt](target), with an optional title;
	// the text may hold one level of brackets and run over lines.
	inlineLink = regexp.MustCompile(`\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()<>\s]*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)`)
	// refDef matches a link reference definition: [label]: target.
	refDef = regexp.MustCompile(`(?m)^ {0,3}\[([^\]]+)\]:[ \t]*<?([^\s>]+)>?`)
	// codeIdent matches link text that is one code span naming a Go identifier:
	// Name, pkg.Name, Name.Method or pkg.Name.Method, with an optional * or ().
	codeIdent = regexp.MustCompile("^`\\*?([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*){0,2})(?:\\(\\))?`$")
	// urlScheme matches the start of an absolute URL (https:, mailto:, ...).
	urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// checkMarkdown checks the links of one Markdown file (relative to the root):
// relative targets must exist, and a code span naming a Go identifier must name
// one that the target file or package declares.
func (c *checker) checkMarkdown(rel string) ([]finding, error) {
	src, err := os.ReadFile(filepath.Join(c.root, rel))
	if err != nil {
		return nil, err
	}
	masked := maskCode(src)
	var findings []finding
	check := func(m []int) {
		text, target := string(src[m[2]:m[3]]), string(src[m[4]:m[5]])
		line := 1 + bytes.Count(src[:m[4]], []byte("\n"))
		c.seen[fmt.Sprintf("%s:%d", filepath.ToSlash(rel), line)] = true
		c.links++
		if why := c.checkTarget(rel, text, target); why != "" {
			link := fmt.Sprintf("[%s](%s)", text, target)
			findings = append(findings, finding{filepath.ToSlash(rel), line, link, why})
		}
	}
	for _, m := range inlineLink.FindAllSubmatchIndex(masked, -1) {
		check(m)
	}
	for _, m := range refDef.FindAllSubmatchIndex(masked, -1) {
		check(m)
	}
	return findings, nil
}

// checkTarget says why a link from Markdown file rel does not resolve, or "".
// URLs and anchors within the page are not checked.
func (c *checker) checkTarget(rel, text, target string) string {
	if urlScheme.MatchString(target) {
		return ""
	}
	target, _, _ = strings.Cut(target, "#")
	target, _, _ = strings.Cut(target, "?")
	if target == "" {
		return ""
	}
	if t, err := url.PathUnescape(target); err == nil {
		target = t
	}
	path := filepath.Join(c.root, filepath.Dir(rel), filepath.FromSlash(target))
	if strings.HasPrefix(target, "/") {
		path = filepath.Join(c.root, filepath.FromSlash(target))
	}
	info, err := os.Stat(path)
	if err != nil {
		return "no such file or directory: " + c.rel(path)
	}
	m := codeIdent.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return ""
	}
	var p *pkgInfo
	switch {
	case info.IsDir():
		p = loadDir(path)
	case strings.HasSuffix(path, ".go"):
		p = loadFiles([]string{path})
	}
	if p == nil {
		return "" // not Go: the code span names something else
	}
	return identMissing(p, m[1], c.rel(path))
}

// identMissing says why the Go identifier ident (Name, pkg.Name, Name.Method or
// pkg.Name.Method) is not declared in p, the package or file at target, or "".
func identMissing(p *pkgInfo, ident, target string) string {
	parts := strings.Split(ident, ".")
	if len(parts) > 1 && parts[0] == p.name {
		parts = parts[1:]
	} else if len(parts) == 3 || len(parts) == 2 && !p.syms[parts[0]] && isLower(parts[0]) {
		return fmt.Sprintf("%s is in package %s, not %s", target, p.name, parts[0])
	}
	if name := strings.Join(parts, "."); !p.syms[name] {
		return fmt.Sprintf("%s is not declared in %s", name, target)
	}
	return ""
}

// isLower reports whether s starts with a lower-case ASCII letter, as package
// names do.
func isLower(s string) bool {
	return s != "" && 'a' <= s[0] && s[0] <= 'z'
}

// maskCode returns a copy of src, the same length, in which fenced code blocks are
// blanked and the brackets and parentheses of inline code spans are replaced by
// spaces, so that code is not taken for links while offsets still index src.
func maskCode(src []byte) []byte {
	out := bytes.Clone(src)
	fenced := false
	start := 0
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		t := bytes.TrimLeft(line, " ")
		isFence := len(line)-len(t) < 4 && (bytes.HasPrefix(t, []byte("```")) || bytes.HasPrefix(t, []byte("~~~")))
		if fenced || isFence {
			blank(out[start : start+len(line)])
		}
		if isFence {
			fenced = !fenced
		}
		start += len(line)
	}
	maskCodeSpans(out)
	return out
}

// maskCodeSpans replaces brackets and parentheses inside `code spans` by spaces.
func maskCodeSpans(b []byte) {
	for i := 0; i < len(b); {
		if b[i] != '`' {
			i++
			continue
		}
		n := runLen(b, i)
		end := i + n
		for end < len(b) && (b[end] != '`' || runLen(b, end) != n) {
			if b[end] == '`' {
				end += runLen(b, end)
			} else {
				end++
			}
		}
		if end >= len(b) {
			i += n // no closing run: the backticks are literal
			continue
		}
		for j := i + n; j < end; j++ {
			if strings.IndexByte("[]()", b[j]) >= 0 {
				b[j] = ' '
			}
		}
		i = end + n
	}
}

// runLen returns the number of backticks starting at b[i].
func runLen(b []byte, i int) int {
	n := 0
	for i+n < len(b) && b[i+n] == '`' {
		n++
	}
	return n
}

// blank replaces every byte of b but newlines by a space.
func blank(b []byte) {
	for i := range b {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
}
