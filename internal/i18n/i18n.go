// Package i18n holds what the CLI says to a reader in the series' two languages, Korean and
// English: a catalog of messages (catalog.go), the language of a run (--lang, else the locale
// environment), and texts and errors that are rendered in that language when they are shown.
// Machine output (-o json|yaml, JUnit, metrics) uses the English form: a Text marshals as English.
package i18n

import (
	"errors"
	"fmt"
	"strings"
)

// Lang is a language of the series.
type Lang string

// The languages.
const (
	Ko Lang = "ko"
	En Lang = "en"
)

// Parse reads a --lang value: ko or en.
func Parse(s string) (Lang, error) {
	switch l := Lang(strings.ToLower(strings.TrimSpace(s))); l {
	case Ko, En:
		return l, nil
	}
	return "", fmt.Errorf("%q: want ko or en", s)
}

// FromEnv is the language the locale environment asks for, read through getenv (os.Getenv): the
// first of LC_ALL, LC_MESSAGES and LANG that is set decides, as POSIX orders them; Korean when it
// starts with "ko" (ko_KR.UTF-8), otherwise English.
func FromEnv(getenv func(string) string) Lang {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(name); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "ko") {
				return Ko
			}
			return En
		}
	}
	return En
}

// Or is l, or def when l is not set.
func (l Lang) Or(def Lang) Lang {
	if l == "" {
		return def
	}
	return l
}

// Msg is one message of the catalog: a fmt format in each language. The two take the same
// arguments; a language may reorder them with explicit indexes (%[2]s).
type Msg struct{ Ko, En string }

// In is the format in l (English for anything but Korean).
func (m Msg) In(l Lang) string {
	if l == Ko {
		return m.Ko
	}
	return m.En
}

// Localizer is a value that has a text per language, such as a chapter spec's title
// (series.Localized): as an argument of a Text it is shown in the Text's language.
type Localizer interface{ Lang(lang string) string }

// Text is a message with its arguments, rendered in a language when shown. Arguments that are
// Texts, Localizers or errors (see Message) are rendered in the same language.
type Text struct {
	key  Key
	raw  string
	args []any
}

// T is the catalog's message key with args.
func T(key Key, args ...any) Text { return Text{key: key, args: args} }

// Raw is a text that is the same in every language: a tool's own output, an error from a library.
func Raw(s string) Text { return Text{key: noKey, raw: s} }

// In renders t in l.
func (t Text) In(l Lang) string {
	switch t.key {
	case noKey:
		return t.raw
	case joinText:
		parts := make([]string, len(t.args))
		for i, a := range t.args {
			parts[i] = a.(Text).In(l)
		}
		return strings.Join(parts, t.raw)
	}
	args := make([]any, len(t.args))
	for i, a := range t.args {
		switch a := a.(type) {
		case Text:
			args[i] = a.In(l)
		case Localizer:
			args[i] = a.Lang(string(l))
		case error:
			args[i] = Message(a, l)
		default:
			args[i] = a
		}
	}
	return fmt.Sprintf(catalog[t.key].In(l), args...)
}

// String is the English text.
func (t Text) String() string { return t.In(En) }

// IsZero tells an empty text (json's omitzero).
func (t Text) IsZero() bool { return t.key == noKey && t.raw == "" }

// MarshalText gives the English text: machine output does not depend on the reader's language.
func (t Text) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Error is an error whose message is a Text. Error() is English, for logs and for what wraps it;
// Message renders it in a reader's language.
type Error struct{ Text Text }

// Errorf is an error with the catalog's message key and args; the errors among args are wrapped.
func Errorf(key Key, args ...any) error { return &Error{Text: T(key, args...)} }

func (e *Error) Error() string { return e.Text.String() }

// Unwrap returns the errors among the message's arguments.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, a := range e.Text.args {
		if err, ok := a.(error); ok {
			errs = append(errs, err)
		}
	}
	return errs
}

// Message is err's message in l. An *Error in err's chain is rendered in l where its English text
// appears in err's (wrappers that add a prefix, such as fmt.Errorf("open x: %w", err), keep the
// prefix as it is); any other error is its Error().
func Message(err error, l Lang) string {
	msg := err.Error()
	var e *Error
	if l == En || !errors.As(err, &e) {
		return msg
	}
	return strings.Replace(msg, e.Error(), e.Text.In(l), 1)
}

// Join is texts one after the other, sep between them.
func Join(sep string, texts ...Text) Text {
	args := make([]any, len(texts))
	for i, t := range texts {
		args[i] = t
	}
	return Text{key: joinText, raw: sep, args: args}
}

// Err is err's message as a Text (see Message).
func Err(err error) Text { return Text{key: errorText, args: []any{err}} }
