package action

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/series"
)

// CredsReport is what `creds` shows: the logins of one component, or of every component of a
// chapter that declares one.
type CredsReport struct {
	Cluster string  `json:"cluster,omitempty"` // empty when nothing had to be read
	Chapter string  `json:"chapter,omitempty"` // when a chapter was named
	Logins  []Login `json:"logins"`
	// Known lists the components that have a login, for a chapter that has none (text output).
	Known []string `json:"-"`
}

// Login is the login of one tool's web UI, read from the Secret its chart generated.
type Login struct {
	Component string `json:"component"`
	Chapter   string `json:"chapter"`
	Namespace string `json:"namespace"`
	Secret    string `json:"secret"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	// Open is the `open` entry that reaches the component's UI (empty when it has none).
	Open string `json:"open,omitempty"`
}

// credsTarget is a component whose login `creds` reads.
type credsTarget struct {
	ch   *series.Chapter
	comp series.Component
}

// Creds reads the logins that name (a component with credentials, or a chapter) points at from the
// cluster's Secrets. It only reads: nothing is written to the cluster.
func (e *Env) Creds(ctx context.Context, name string) (*CredsReport, error) {
	if e.Lib == nil {
		return nil, fmt.Errorf("no series loaded")
	}
	rep := &CredsReport{Logins: []Login{}}
	targets, chapter, err := e.credsTargets(name)
	if err != nil {
		return nil, err
	}
	if chapter != nil {
		rep.Chapter = chapter.ID()
		if len(targets) == 0 {
			rep.Known = e.credsComponents()
			return rep, nil // nothing to read: the cluster is not asked
		}
	}
	cl, err := e.Provisioner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	rep.Cluster = cl.Name
	for _, t := range targets {
		c := t.comp.Credentials
		sec, err := cl.CS.CoreV1().Secrets(t.comp.Namespace).Get(ctx, c.Secret, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, i18n.Errorf(i18n.CredsNotUp, t.comp.Name, t.comp.Namespace, c.Secret, t.ch.ID(), cl.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read Secret %s/%s: %w", t.comp.Name, t.comp.Namespace, c.Secret, err)
		}
		value := func(key string) (string, error) {
			v, ok := sec.Data[key]
			if !ok {
				keys := make([]string, 0, len(sec.Data))
				for k := range sec.Data {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				return "", i18n.Errorf(i18n.CredsNoKey, t.comp.Name, t.comp.Namespace, c.Secret, key, strings.Join(keys, ", "))
			}
			return string(v), nil
		}
		l := Login{Component: t.comp.Name, Chapter: t.ch.ID(), Namespace: t.comp.Namespace, Secret: c.Secret, Username: c.Username}
		if c.UsernameKey != "" {
			if l.Username, err = value(c.UsernameKey); err != nil {
				return nil, err
			}
		}
		if l.Password, err = value(c.PasswordKey); err != nil {
			return nil, err
		}
		for _, o := range t.ch.Open {
			if o.Component == t.comp.Name {
				l.Open = o.Name
				break
			}
		}
		rep.Logins = append(rep.Logins, l)
	}
	return rep, nil
}

// credsTargets resolves name: a component with credentials of any available chapter (every one of
// that name, should two chapters both have one), else a chapter, whose components with credentials
// are the targets. The chapter is returned when a chapter was named.
func (e *Env) credsTargets(name string) ([]credsTarget, *series.Chapter, error) {
	var targets []credsTarget
	var without *credsTarget // a component of that name with no credentials
	for _, id := range e.Lib.IDs() {
		ch := e.Lib.Chapters[id]
		for _, comp := range ch.Components {
			if comp.Name != name {
				continue
			}
			if comp.Credentials != nil {
				targets = append(targets, credsTarget{ch, comp})
			} else if without == nil {
				without = &credsTarget{ch, comp}
			}
		}
	}
	if len(targets) > 0 {
		return targets, nil, nil
	}
	known := strings.Join(e.credsComponents(), ", ")
	if known == "" {
		known = "none"
	}
	if without != nil {
		return nil, nil, i18n.Errorf(i18n.CredsNoLogin, without.comp.Name, without.ch.ID(), known)
	}
	ch, err := e.Lib.Chapter(name)
	if err != nil {
		if looksLikeChapter(name) {
			return nil, nil, err // unknown or coming: the library says which, and lists the available ones
		}
		return nil, nil, i18n.Errorf(i18n.CredsUnknown, name, known)
	}
	for _, comp := range ch.Components {
		if comp.Credentials != nil {
			targets = append(targets, credsTarget{ch, comp})
		}
	}
	return targets, ch, nil
}

// credsComponents are the names of the components that declare credentials, in chapter order.
func (e *Env) credsComponents() []string {
	var names []string
	for _, id := range e.Lib.IDs() {
		for _, comp := range e.Lib.Chapters[id].Components {
			if comp.Credentials != nil && !slices.Contains(names, comp.Name) {
				names = append(names, comp.Name)
			}
		}
	}
	return names
}

// looksLikeChapter tells "chapter-3" and "3" from a component's name.
func looksLikeChapter(name string) bool {
	if _, err := strconv.Atoi(name); err == nil {
		return true
	}
	return strings.HasPrefix(name, "chapter-")
}
