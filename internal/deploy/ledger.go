package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// The ledger is a ConfigMap in kube-system (present in every cluster) with one key per installed
// chapter: what that chapter installed, so `status` can show it and `down` removes exactly that.
const (
	LedgerNamespace = "kube-system"
	LedgerName      = "mlops-series-ledger"
)

// Entry is what one chapter installed.
type Entry struct {
	Chapter    string           `json:"chapter"`
	Components []ComponentEntry `json:"components"`
	// Namespaces the chapter created (and so may delete).
	Namespaces  []string  `json:"namespaces,omitempty"`
	InstalledAt time.Time `json:"installedAt"`
	// Complete is false while an `up` of the chapter is in progress or was interrupted.
	Complete bool `json:"complete"`
}

// ComponentEntry is one release of a chapter.
type ComponentEntry struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Chart     string `json:"chart"`
	Version   string `json:"version"`
	Digest    string `json:"digest"`
	Revision  int    `json:"revision"`
}

// Ledger reads and writes the ledger ConfigMap.
type Ledger struct{ CS kubernetes.Interface }

// Read returns every chapter's entry, by chapter ID; an absent ledger is empty.
func (l Ledger) Read(ctx context.Context) (map[string]Entry, error) {
	cm, err := l.CS.CoreV1().ConfigMaps(LedgerNamespace).Get(ctx, LedgerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]Entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ledger %s/%s: %w", LedgerNamespace, LedgerName, err)
	}
	out := make(map[string]Entry, len(cm.Data))
	for k, v := range cm.Data {
		var e Entry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("read ledger %s/%s: key %s: %w", LedgerNamespace, LedgerName, k, err)
		}
		out[k] = e
	}
	return out, nil
}

// Installed lists the chapter IDs in the ledger, sorted.
func Installed(entries map[string]Entry) []string {
	ids := make([]string, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Put writes one chapter's entry (creating the ledger if needed).
func (l Ledger) Put(ctx context.Context, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return l.update(ctx, func(data map[string]string) { data[e.Chapter] = string(b) })
}

// Remove deletes one chapter's entry, and the ledger itself when it becomes empty.
func (l Ledger) Remove(ctx context.Context, chapter string) error {
	return l.update(ctx, func(data map[string]string) { delete(data, chapter) })
}

func (l Ledger) update(ctx context.Context, mutate func(map[string]string)) error {
	cms := l.CS.CoreV1().ConfigMaps(LedgerNamespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, LedgerName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: LedgerName, Namespace: LedgerNamespace,
				Labels: map[string]string{LabelManaged: "mlops-series"},
			}}
			data := map[string]string{}
			mutate(data)
			if len(data) == 0 {
				return nil
			}
			cm.Data = data
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		mutate(cm.Data)
		if len(cm.Data) == 0 {
			err := cms.Delete(ctx, LedgerName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &cm.ResourceVersion}})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("write ledger %s/%s: %w", LedgerNamespace, LedgerName, err)
	}
	return nil
}
