package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// What creds answers without a cluster: names it cannot resolve, a component or a chapter without
// a login (which asks no cluster), and an unreachable cluster, in both languages.
func TestCredsWithoutCluster(t *testing.T) {
	kc := writeKubeconfig(t)
	tests := []struct {
		args         []string
		code         int
		stdout       bool // the answer is on stdout, not an error on stderr
		wantKo, want string
	}{
		{[]string{"creds", "nope"}, 1, false,
			`오류: "nope": 장도, 로그인 정보가 있는 구성 요소도 아닙니다 (로그인 정보가 있는 구성 요소: `,
			`error: "nope" is neither a chapter nor a component with a login (components with one: `},
		{[]string{"creds", "mlflow"}, 1, false,
			"오류: mlflow (chapter-6): 로그인 정보가 없는 구성 요소입니다 (로그인 정보가 있는 구성 요소: ",
			"error: mlflow (chapter-6) has no login to show (components with one: "},
		{[]string{"creds", "chapter-6", "--kubeconfig", kc}, 0, true,
			"chapter-6: 로그인이 필요한 도구가 없습니다 (로그인 정보가 있는 구성 요소: ",
			"chapter-6: none of its tools needs a login (components with one: "},
		{[]string{"creds", "chapter-42"}, 1, false, `오류: 알 수 없는 장 "chapter-42"`, `error: unknown chapter "chapter-42"`},
		{[]string{"creds", "grafana", "--kubeconfig", kc}, 1, false,
			"오류: cluster of context gone at https://127.0.0.1:1 is unreachable",
			"error: cluster of context gone at https://127.0.0.1:1 is unreachable"},
	}
	for _, tt := range tests {
		for _, l := range locales {
			out, errw, code := runEnv(t, l.env, tt.args...)
			want := tt.want
			if l.lang == "ko" {
				want = tt.wantKo
			}
			got := errw
			if tt.stdout {
				got = out
			}
			if code != tt.code || !strings.HasPrefix(got, want) {
				t.Errorf("%s %v: exit %d, stdout %q, stderr %q; want exit %d and %q", l.env, tt.args, code, out, errw, tt.code, want)
			}
			if strings.Contains(want, "(components with one: ") || strings.Contains(want, "(로그인 정보가 있는 구성 요소: ") {
				for _, name := range []string{"airflow", "grafana"} {
					if !strings.Contains(got, name) {
						t.Errorf("%s %v: the components with a login do not include %s: %s", l.env, tt.args, name, got)
					}
				}
			}
		}
	}
}

// creds on the test control plane: Grafana's login from the Secret its chart generates, as text in
// Korean and English and as JSON; chapter 5's Secret missing says the chapter is not up; a Secret
// without the password's key names the keys it has. Nothing is written to the cluster.
func TestCredsOnControlPlane(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	ctx := t.Context()
	cs := tenv.Client()
	createSecret(t, cs, "monitoring", "grafana-admin", map[string]string{"user": "admin", "password": "Zx8-grafana-pass"})
	before := clusterState(ctx, t, cs)

	shown := map[string]string{tenv.Kubeconfig: "KUBECONFIG"}
	kc := []string{"--kubeconfig", tenv.Kubeconfig}
	for _, l := range locales {
		t.Run(string(l.lang), func(t *testing.T) {
			golden(t, "creds."+string(l.lang), transcript(t, l.env, shown,
				append([]string{"creds", "grafana"}, kc...),
				append([]string{"creds", "chapter-10", "-o", "json"}, kc...),
				append([]string{"creds", "chapter-5"}, kc...),
			))
		})
	}

	out, errw, code := runEnv(t, locales[1].env, append([]string{"creds", "grafana", "-o", "json"}, kc...)...)
	var rep action.CredsReport
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("creds grafana -o json: exit %d, %v\n%s%s", code, err, out, errw)
	}
	want := action.Login{Component: "grafana", Chapter: "chapter-10", Namespace: "monitoring", Secret: "grafana-admin",
		Username: "admin", Password: "Zx8-grafana-pass", Open: "grafana"}
	if rep.Cluster != "testenv" || len(rep.Logins) != 1 || rep.Logins[0] != want {
		t.Errorf("creds grafana -o json = %+v, want cluster testenv and %+v", rep, want)
	}
	yamlOut, _, code := runEnv(t, locales[0].env, append([]string{"creds", "grafana", "-o", "yaml"}, kc...)...)
	if code != 0 || !strings.Contains(yamlOut, "password: Zx8-grafana-pass\n") || !strings.Contains(yamlOut, "username: admin\n") {
		t.Errorf("creds grafana -o yaml (Korean locale): exit %d\n%s", code, yamlOut)
	}

	if after := clusterState(ctx, t, cs); after != before {
		t.Errorf("creds changed the cluster:\nbefore %s\nafter  %s", before, after)
	}

	createSecret(t, cs, "airflow", "airflow-admin", map[string]string{"username": "admin", "passwords.json": "{}"})
	before = clusterState(ctx, t, cs)
	_, errw, code = runEnv(t, locales[1].env, append([]string{"creds", "airflow"}, kc...)...)
	if wantErr := `error: airflow: Secret airflow/airflow-admin has no key "password" (its keys: passwords.json, username)`; code != 1 || !strings.HasPrefix(errw, wantErr) {
		t.Errorf("creds airflow, Secret without password: exit %d, stderr %q; want %q", code, errw, wantErr)
	}

	if after := clusterState(ctx, t, cs); after != before {
		t.Errorf("creds changed the cluster:\nbefore %s\nafter  %s", before, after)
	}
}

func createSecret(t *testing.T, cs kubernetes.Interface, ns, name string, data map[string]string) {
	t.Helper()
	ctx := t.Context()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// clusterState lists the namespaces and the Secrets with their resource versions: what creds
// would change if it wrote anything.
func clusterState(ctx context.Context, t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ns := range nss.Items {
		b.WriteString("ns " + ns.Name + "@" + ns.ResourceVersion + ";")
	}
	secs, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs.Items {
		b.WriteString("secret " + s.Namespace + "/" + s.Name + "@" + s.ResourceVersion + ";")
	}
	return b.String()
}
