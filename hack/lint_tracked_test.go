// Package hack holds the repository's scripts; this test drives hack/lint-tracked.sh against
// throwaway git repositories.
package hack

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pe returns the first bytes of a PE image: "MZ", the header offset at 0x3c, "PE\0\0" there.
func pe() []byte {
	b := make([]byte, 0x90)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func TestLintTracked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed to test hack/lint-tracked.sh: %v", err)
	}
	script, err := filepath.Abs("lint-tracked.sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte
		// untracked files are written but not added: they never count.
		untracked map[string][]byte
		want      []string // substrings of the output; none means the script passes
	}{
		{name: "text and small files pass", files: map[string][]byte{
			"README.md":  []byte("# hi\n"),
			"run.sh":     []byte("#!/bin/sh\necho MZ\n"),
			"MZ.txt":     []byte("MZ is not enough to be a PE image\n"),
			"data.bin":   bytes.Repeat([]byte{0}, 1024),
			"exactly.md": bytes.Repeat([]byte("a"), 1<<20),
		}},
		{name: "ELF", files: map[string][]byte{"tool": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...)},
			want: []string{"tool: ELF executable"}},
		{name: "Mach-O 64-bit", files: map[string][]byte{"bin/tool": {0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}},
			want: []string{"bin/tool: Mach-O executable"}},
		{name: "Mach-O universal", files: map[string][]byte{"tool": {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}},
			want: []string{"tool: Mach-O universal"}},
		{name: "PE", files: map[string][]byte{"tool.exe": pe()},
			want: []string{"tool.exe: PE executable"}},
		{name: "over 1 MiB", files: map[string][]byte{"big.json": bytes.Repeat([]byte("a"), 1<<20+1)},
			want: []string{"big.json: 1048577 bytes, over the 1048576-byte limit"}},
		{name: "every problem is listed", files: map[string][]byte{
			"a": append([]byte("\x7fELF"), bytes.Repeat([]byte{0}, 1<<20)...),
			"b": pe(),
		}, want: []string{"a: 1048580 bytes", "a: ELF executable", "b: PE executable"}},
		{name: "untracked binaries do not count", files: map[string][]byte{"ok.txt": []byte("ok\n")},
			untracked: map[string][]byte{"mlops-series": []byte("\x7fELF....")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			git := func(args ...string) {
				t.Helper()
				cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			git("init", "-q")
			write := func(files map[string][]byte) {
				for name, data := range files {
					p := filepath.Join(dir, name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			write(tt.files)
			for name := range tt.files {
				git("add", "--", name)
			}
			write(tt.untracked)
			out, err := exec.Command("bash", script, dir).CombinedOutput()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("lint-tracked failed on a clean repository: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("lint-tracked passed, want it to fail with %q; output:\n%s", tt.want, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
		})
	}
}
