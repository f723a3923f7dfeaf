package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
)

// Every message has both languages, and the two formats take the same arguments with the same
// verbs (a language may reorder them with %[n]).
func TestCatalog(t *testing.T) {
	for k := errorText; k < numKeys; k++ {
		m := catalog[k]
		if m.Ko == "" || m.En == "" {
			t.Errorf("message %d lacks a language: %+v", k, m)
			continue
		}
		ko, err := verbs(m.Ko)
		if err != nil {
			t.Errorf("message %d, ko %q: %v", k, m.Ko, err)
		}
		en, err := verbs(m.En)
		if err != nil {
			t.Errorf("message %d, en %q: %v", k, m.En, err)
		}
		if !maps.Equal(ko, en) {
			t.Errorf("message %d: the languages take different arguments: ko %v, en %v\n  ko %q\n  en %q", k, ko, en, m.Ko, m.En)
		}
		if m.Ko == m.En && !sameInBoth[k] {
			t.Errorf("message %d is not translated: %q", k, m.Ko)
		}
	}
}

// sameInBoth are the messages made only of names, flags and values.
var sameInBoth = map[Key]bool{errorText: true, joinText: true, InotifyWhat: true, InotifyFileMax: true, EndpointFlag: true}

// verbs maps each argument (1-based) of a fmt format to its verb, following explicit indexes as
// fmt does; an argument used twice must keep its verb.
func verbs(f string) (map[int]rune, error) {
	out := map[int]rune{}
	arg := 1
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		for i < len(f) && strings.IndexByte("+-# 0", f[i]) >= 0 {
			i++
		}
		for i < len(f) && (f[i] >= '0' && f[i] <= '9' || f[i] == '.') {
			i++
		}
		if i < len(f) && f[i] == '[' {
			end := strings.IndexByte(f[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at %d", i)
			}
			n, err := strconv.Atoi(f[i+1 : i+end])
			if err != nil {
				return nil, fmt.Errorf("bad index at %d: %w", i, err)
			}
			arg, i = n, i+end+1
		}
		if i >= len(f) {
			return nil, fmt.Errorf("format ends in a verb")
		}
		if f[i] == '%' {
			continue
		}
		v := rune(f[i])
		if prev, ok := out[arg]; ok && prev != v {
			return nil, fmt.Errorf("argument %d used as %%%c and %%%c", arg, prev, v)
		}
		out[arg] = v
		arg++
	}
	return out, nil
}

func TestVerbs(t *testing.T) {
	got, err := verbs("%[2]d of %[1]s, 100%% %-5[3]q")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]rune{1: 's', 2: 'd', 3: 'q'}
	if !maps.Equal(got, want) {
		t.Errorf("verbs: %v, want %v", got, want)
	}
	if _, err := verbs("%[1]s %[1]d"); err == nil {
		t.Error("an argument used with two verbs is accepted")
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want Lang
	}{
		{nil, En},
		{map[string]string{"LANG": "ko_KR.UTF-8"}, Ko},
		{map[string]string{"LANG": "en_US.UTF-8"}, En},
		{map[string]string{"LANG": "C"}, En},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8"}, Ko},
		{map[string]string{"LANG": "ko_KR.UTF-8", "LC_MESSAGES": "C"}, En},
		{map[string]string{"LANG": "ko_KR.UTF-8", "LC_MESSAGES": "ko", "LC_ALL": "C.UTF-8"}, En},
		{map[string]string{"LANG": "C", "LC_ALL": "ko_KR.eucKR"}, Ko},
		{map[string]string{"LANG": "ko", "LC_ALL": ""}, Ko}, // set but empty: not set
	}
	for _, tt := range tests {
		if got := FromEnv(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("FromEnv(%v) = %s, want %s", tt.env, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Lang{"ko": Ko, "en": En, "KO": Ko} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fr", "ko_KR", "korean"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

type localized struct{ ko, en string }

func (l localized) Lang(lang string) string {
	if lang == "ko" {
		return l.ko
	}
	return l.en
}

// A text renders its arguments in its own language: texts, values with a text per language
// (chapter titles), and errors of the catalog.
func TestTextIn(t *testing.T) {
	inner := Errorf(SeriesNotFolder, "/x")
	txt := T(ComingChapter, "chapter-7", localized{"모델 서빙", "Model serving"}, T(ChecksSkipped, 2))
	if got, want := txt.In(Ko), "chapter-7 (모델 서빙): 아직 준비 중인 장입니다 (글과 스펙이 없음); 사용 가능: , 2개 건너뜀"; got != want {
		t.Errorf("ko: %q, want %q", got, want)
	}
	if got, want := txt.String(), "chapter-7 (Model serving) is coming: its post and spec are not written yet; available: , 2 skipped"; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
	if got := Err(inner).In(Ko); got != "--series /x: 폴더가 아닙니다" {
		t.Errorf("an error as text: %q", got)
	}
	if got := Raw("MLflow 3.17.2").In(Ko); got != "MLflow 3.17.2" {
		t.Errorf("raw: %q", got)
	}
	// Machine output is English.
	b, err := json.Marshal(struct {
		M Text `json:"m"`
		F Text `json:"f,omitzero"`
	}{M: T(ChecksPassed, 1, 2)})
	if err != nil || string(b) != `{"m":"checks 1/2 passed"}` {
		t.Errorf("json: %s, %v", b, err)
	}
}

// An error of the catalog is English as an error and in the reader's language through Message,
// also when wrapped, with or without a prefix; other errors stay as they are.
func TestMessage(t *testing.T) {
	base := errors.New("dial tcp 127.0.0.1:1: connection refused")
	e := Errorf(WithRead, base, "docs/ko/chapter-6.md#overview")
	if !errors.Is(e, base) {
		t.Error("the error does not wrap its error argument")
	}
	wrapped := fmt.Errorf("up chapter-6: %w", e)
	tests := []struct {
		err  error
		lang Lang
		want string
	}{
		{e, En, "dial tcp 127.0.0.1:1: connection refused\nread: docs/ko/chapter-6.md#overview"},
		{e, Ko, "dial tcp 127.0.0.1:1: connection refused\n참고: docs/ko/chapter-6.md#overview"},
		{wrapped, Ko, "up chapter-6: dial tcp 127.0.0.1:1: connection refused\n참고: docs/ko/chapter-6.md#overview"},
		{errors.Join(base, e), Ko, "dial tcp 127.0.0.1:1: connection refused\ndial tcp 127.0.0.1:1: connection refused\n참고: docs/ko/chapter-6.md#overview"},
		{base, Ko, base.Error()},
	}
	for _, tt := range tests {
		if got := Message(tt.err, tt.lang); got != tt.want {
			t.Errorf("Message(%q, %s) = %q, want %q", tt.err, tt.lang, got, tt.want)
		}
	}
}
