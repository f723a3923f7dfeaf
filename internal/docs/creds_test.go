package docs

import (
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/series"
)

// A component with credentials gets its `creds` command on the chapter's page, in both languages.
func TestCommandsListCreds(t *testing.T) {
	lib := loadFixture(t)
	ch := lib.Chapters["chapter-6"]
	for i, c := range ch.Components {
		if c.Name == "mlflow" {
			ch.Components[i].Credentials = &series.Credentials{Secret: "mlflow-admin", Username: "admin", PasswordKey: "password"}
		}
	}
	files, err := Generate(lib, fixtureInfo())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"en/chapter-6.md": "mlops-series creds mlflow      # show the user and password to log in to mlflow (Secret mlflow/mlflow-admin)\n",
		"ko/chapter-6.md": "mlops-series creds mlflow      # mlflow 로그인 사용자와 비밀번호 보기 (Secret mlflow/mlflow-admin)\n",
	} {
		if !strings.Contains(string(files[name]), want) {
			t.Errorf("%s lacks %q:\n%s", name, want, files[name])
		}
	}
	// Chapter 7 declares no credentials: no creds command.
	if strings.Contains(string(files["en/chapter-7.md"]), "mlops-series creds") {
		t.Errorf("en/chapter-7.md lists a creds command")
	}
}
