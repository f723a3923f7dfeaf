package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/testenv"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// locales are the locale environments the goldens run in, one per language: main reads the
// language from them (ui.StdStreams), the tests give it in the streams.
var locales = []struct {
	lang i18n.Lang
	env  string
}{{i18n.Ko, "LANG=ko_KR.UTF-8"}, {i18n.En, "LANG=en_US.UTF-8"}}

// runEnv runs the CLI in the locale environment env ("NAME=value ...") and returns stdout, stderr
// and the exit code.
func runEnv(t *testing.T, env string, args ...string) (string, string, int) {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range strings.Fields(env) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var out, errw bytes.Buffer
	s := ui.Streams{Out: &out, Err: &errw, Lang: i18n.FromEnv(func(k string) string { return vars[k] })}
	code := Execute(context.Background(), args, s)
	return out.String(), errw.String(), code
}

// transcript runs each command in env and writes what a terminal would show: the command line,
// stdout, stderr and the exit code. shown replaces arguments that change from run to run
// (temporary paths) in the command line.
func transcript(t *testing.T, env string, shown map[string]string, cmds ...[]string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range cmds {
		line := make([]string, len(args))
		for i, a := range args {
			line[i] = a
			if s, ok := shown[a]; ok {
				line[i] = s
			}
		}
		out, errw, code := runEnv(t, env, args...)
		fmt.Fprintf(&b, "$ %s mlops-series %s\n%s%s[exit %d]\n\n", env, strings.Join(line, " "), out, errw, code)
	}
	return normalise(b.String())
}

// volatile is what changes from run to run, and what the goldens show instead: durations, local
// ports (five digits), the machine's architecture, and what MLflow's round trip names and numbers.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d+\.\ds(\n|$)`), "0.0s$1"},
	{regexp.MustCompile(`127\.0\.0\.1:[1-6]\d{4}\b`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\b` + runtime.GOARCH + `\b`), "ARCH"},
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "RUN_ID"},
	{regexp.MustCompile(`mlops-series-check-\d{8}-\d{6}-[0-9a-f]+`), "mlops-series-check-NAME"},
	{regexp.MustCompile(`\(id \d+\)`), "(id N)"},
	{regexp.MustCompile(`mlflow-artifacts:/\d+/`), "mlflow-artifacts:/N/"},
}

func normalise(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// Errors, doctor's report and a check against an --endpoint, in Korean and in English: what a
// reader sees, from the locale environment alone.
func TestGoldenLanguages(t *testing.T) {
	kc := writeKubeconfig(t)
	coming := comingSeries(t)
	shown := map[string]string{kc: "KUBECONFIG", coming: "SERIES_WITHOUT_CHAPTER_2"}
	for _, l := range locales {
		t.Run(string(l.lang), func(t *testing.T) {
			golden(t, "errors."+string(l.lang), transcript(t, l.env, shown,
				[]string{"up", "chapter-42"},
				[]string{"render", "chapter-2", "--series", coming},
				[]string{"list", "-o", "xml"},
				[]string{"list", "--lang", "fr"},
				[]string{"check", "chapter-6", "--endpoint", "mlflow"},
				[]string{"check", "chapter-6", "--endpoint", "airflow=http://127.0.0.1:1"},
				[]string{"down"},
				[]string{"down", "chapter-6", "--all"},
			))
			golden(t, "doctor."+string(l.lang), transcript(t, l.env, shown, []string{"doctor", "chapter-6", "--kubeconfig", kc}))
			golden(t, "check-endpoint."+string(l.lang), transcript(t, l.env, shown,
				[]string{"check", "chapter-6", "--endpoint", "mlflow=http://127.0.0.1:1"}))
		})
	}
}

// --lang wins over the locale environment; an invalid --lang is refused before anything runs.
func TestLangFlag(t *testing.T) {
	ko, en := locales[0].env, locales[1].env
	_, errw, _ := runEnv(t, ko, "up", "chapter-42", "--lang", "en")
	if !strings.HasPrefix(errw, `error: unknown chapter "chapter-42"`) {
		t.Errorf("--lang en under %s: %q", ko, errw)
	}
	_, errw, _ = runEnv(t, en, "up", "chapter-42", "--lang", "ko")
	if !strings.HasPrefix(errw, `오류: 알 수 없는 장 "chapter-42"`) {
		t.Errorf("--lang ko under %s: %q", en, errw)
	}
	dir := filepath.Join(t.TempDir(), "docs")
	out, errw, code := runEnv(t, en, "docs", "--dir", dir, "--lang", "de")
	if code != 1 || out != "" || errw != "error: --lang \"de\": want ko or en\n" {
		t.Errorf("docs --lang de: exit %d, stdout %q, stderr %q", code, out, errw)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("docs --lang de wrote %s (%v)", dir, err)
	}
}

// Machine output does not depend on the language: -o json and -o yaml are the same in Korean.
func TestMachineOutputIsEnglish(t *testing.T) {
	kc := writeKubeconfig(t)
	for _, args := range [][]string{
		{"doctor", "chapter-6", "--kubeconfig", kc, "-o", "json"},
		{"doctor", "chapter-6", "--kubeconfig", kc, "-o", "yaml"},
		{"list", "-o", "json"},
	} {
		ko, _, _ := runEnv(t, locales[0].env, args...)
		en, _, _ := runEnv(t, locales[1].env, args...)
		if ko != en || ko == "" {
			t.Errorf("%v: Korean and English differ:\n%s\n---\n%s", args, ko, en)
		}
		if strings.Contains(ko, "연결") {
			t.Errorf("%v: Korean in machine output:\n%s", args, ko)
		}
	}
}

// up, check (passing and failing) and down of chapter 6 on the test control plane, with MLflow's
// real server behind its pod's port, in Korean and in English.
func TestGoldenOnControlPlane(t *testing.T) {
	mlflow := nativetest.MLflow(t)
	tenv := testenv.Require(t, testenv.Options{})
	if err := tenv.AddPortForward(t.Context(), testenv.PortForward{
		Namespace: "mlflow", Selector: map[string]string{"app.kubernetes.io/instance": "mlflow"},
		Ports: []int32{5000}, TargetPort: int32(mlflow.Port),
	}); err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{tenv.Kubeconfig: "KUBECONFIG"}
	kc := []string{"--kubeconfig", tenv.Kubeconfig}
	for _, l := range locales {
		t.Run(string(l.lang), func(t *testing.T) {
			golden(t, "controlplane."+string(l.lang), transcript(t, l.env, shown,
				append([]string{"up", "chapter-6", "--timeout", "2m"}, kc...),
				append([]string{"up", "chapter-6", "--skip-checks"}, kc...),
				append([]string{"check", "chapter-6", "--endpoint", "mlflow=http://127.0.0.1:1"}, kc...),
				append([]string{"down", "chapter-6"}, kc...),
			))
		})
	}
}
