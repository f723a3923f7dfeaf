package series

import (
	"os"
	"strings"
	"testing"
)

// A component's credentials name a Secret, the password's key, and the user as exactly one of a
// literal name and a key; each problem is reported with the file and line of the field.
func TestCredentialsValidation(t *testing.T) {
	// validChapter's mlflow component, with credentials after its section (line 17).
	with := func(creds string) string {
		return strings.Replace(validChapter, "    section: \"#server\"\nchecks", "    section: \"#server\"\n    credentials: "+creds+"\nchecks", 1)
	}
	tests := []struct {
		name  string
		creds string
		want  []string // empty: valid
	}{
		{"user from a key", "{secret: mlflow-admin, usernameKey: user, passwordKey: password}", nil},
		{"literal user", "{secret: mlflow-admin, username: admin, passwordKey: password}", nil},
		{"dotted secret name and keys", "{secret: mlflow.admin, usernameKey: admin_user, passwordKey: admin-password.txt}", nil},
		{"no secret", "{usernameKey: user, passwordKey: password}",
			[]string{"c.yaml:17: components[1].credentials.secret: is required"}},
		{"bad secret name", "{secret: Grafana_Admin, usernameKey: user, passwordKey: password}",
			[]string{"c.yaml:17: components[1].credentials.secret: must be a Secret name", `"Grafana_Admin"`}},
		{"no user", "{secret: s, passwordKey: password}",
			[]string{"c.yaml:17: components[1].credentials: needs the user: username (the name itself) or usernameKey"}},
		{"both users", "{secret: s, username: admin, usernameKey: user, passwordKey: password}",
			[]string{"c.yaml:17: components[1].credentials: username and usernameKey are both set"}},
		{"bad username key", "{secret: s, usernameKey: 'the user', passwordKey: password}",
			[]string{"c.yaml:17: components[1].credentials.usernameKey: must be a key of the Secret", `"the user"`}},
		{"no password key", "{secret: s, username: admin}",
			[]string{"c.yaml:17: components[1].credentials.passwordKey: is required"}},
		{"bad password key", "{secret: s, username: admin, passwordKey: pass/word}",
			[]string{"c.yaml:17: components[1].credentials.passwordKey: must be a key of the Secret"}},
		{"block form: the line of the field", "\n      secret: s\n      username: admin\n      passwordKey: pass/word",
			[]string{"c.yaml:20: components[1].credentials.passwordKey: must be a key of the Secret"}},
		{"all at once", "{}", []string{"credentials.secret: is required", "credentials: needs the user", "credentials.passwordKey: is required"}},
		{"unknown field", "{secret: s, username: admin, passwordKey: password, password: hunter2}",
			[]string{"c.yaml:", "line 17", "field password not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := DecodeChapter("c.yaml", []byte(with(tt.creds)), WithCheckTypes(testTypes))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				comp, _ := ch.Component("mlflow")
				if comp.Credentials == nil || comp.Credentials.PasswordKey == "" {
					t.Fatalf("credentials not decoded: %+v", comp.Credentials)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}

// The real chapters declare the logins their charts generate: Grafana's and Airflow's admin.
func TestRealCredentials(t *testing.T) {
	lib, err := Load(os.DirFS("../../series"), "series")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		chapter, component string
		want               Credentials
	}{
		{"chapter-10", "grafana", Credentials{Secret: "grafana-admin", UsernameKey: "user", PasswordKey: "password"}},
		{"chapter-5", "airflow", Credentials{Secret: "airflow-admin", UsernameKey: "username", PasswordKey: "password"}},
		{"chapter-4", "jenkins", Credentials{Secret: "jenkins-admin", UsernameKey: "user", PasswordKey: "password"}},
	} {
		comp, ok := lib.Chapters[tt.chapter].Component(tt.component)
		if !ok || comp.Credentials == nil || *comp.Credentials != tt.want {
			t.Errorf("%s/%s: credentials %+v, want %+v", tt.chapter, tt.component, comp.Credentials, tt.want)
		}
	}
}
