package docs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocLinks fails for every Go doc link and every Markdown link of the main
// module that does not resolve, naming it as file:line.
func TestDocLinks(t *testing.T) {
	goroot, modcache := goEnv()
	c, err := newChecker(moduleRoot(t), goroot, modcache)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := c.check()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
	t.Logf("%d links checked; %d doc links into packages found neither in GOROOT (%q) nor in the module cache (%q) left unchecked",
		c.links, c.unchecked, goroot, modcache)
}

// TestCheckerFindsBrokenLinks runs the checker on the fixture module under
// testdata/mod, whose lines holding a broken link say BROKEN and whose lines holding
// a link that resolves say GOOD: it must report exactly the BROKEN lines, as
// file:line, and must have looked at every GOOD line.
func TestCheckerFindsBrokenLinks(t *testing.T) {
	root := filepath.Join("testdata", "mod")
	goroot, _ := goEnv()
	if goroot == "" {
		t.Fatal("go env GOROOT failed: the fixture links into the standard library")
	}
	c, err := newChecker(root, goroot, "")
	if err != nil {
		t.Fatal(err)
	}
	findings, err := c.check()
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for _, f := range findings {
		t.Log(f)
		reported[fmt.Sprintf("%s:%d", f.file, f.line)] = true
	}
	broken, good := markedLines(t, root)
	for _, pos := range broken {
		if !reported[pos] {
			t.Errorf("%s: broken link not reported", pos)
		}
		delete(reported, pos)
	}
	for pos := range reported {
		t.Errorf("%s: reported, but not marked BROKEN", pos)
	}
	for _, pos := range good {
		if !c.seen[pos] {
			t.Errorf("%s: good link not looked at", pos)
		}
	}
	if c.unchecked != 1 {
		t.Errorf("unchecked links = %d, want 1 (the link into a module go.mod does not require)", c.unchecked)
	}
}

// markedLines returns the file:line of every line under root that says BROKEN and
// of every line that says GOOD.
func markedLines(t *testing.T, root string) (broken, good []string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		s := bufio.NewScanner(f)
		for line := 1; s.Scan(); line++ {
			pos := fmt.Sprintf("%s:%d", filepath.ToSlash(rel), line)
			if strings.Contains(s.Text(), "BROKEN") {
				broken = append(broken, pos)
			}
			if strings.Contains(s.Text(), "GOOD") {
				good = append(good, pos)
			}
		}
		return s.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(broken) == 0 || len(good) == 0 {
		t.Fatalf("no BROKEN or GOOD lines under %s", root)
	}
	return broken, good
}

// moduleRoot returns the directory of the go.mod nearest above the test's
// directory: the main module's root.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
