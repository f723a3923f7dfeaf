package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// fakeProvisioner is a Provisioner over a fake clientset: Connect returns connErr or the cluster,
// Delete records the call and returns deleteErr.
type fakeProvisioner struct {
	name      string
	provider  cluster.Provider
	connErr   error
	deleteErr error
	deleted   int
}

func (f *fakeProvisioner) Name() string { return f.name }
func (f *fakeProvisioner) Ensure(ctx context.Context) (*cluster.Cluster, error) {
	return f.Connect(ctx)
}
func (f *fakeProvisioner) Connect(context.Context) (*cluster.Cluster, error) {
	if f.connErr != nil {
		return nil, f.connErr
	}
	return &cluster.Cluster{Provider: f.provider, Name: "mlops-series", CS: fake.NewClientset()}, nil
}
func (f *fakeProvisioner) Delete(context.Context) error {
	f.deleted++
	return f.deleteErr
}

// TestDownAllLetsTheProvisionerDecide: `down --all` asks the provisioner to delete whatever its
// provider, and the provisioner's answer (typed, not a message) decides what is said.
func TestDownAllLetsTheProvisionerDecide(t *testing.T) {
	notCreated := fmt.Errorf("not deleting: %w", cluster.ErrNotCreated)
	for _, tc := range []struct {
		name    string
		prov    *fakeProvisioner
		deletes int
		wantErr bool
		want    string
	}{
		{"terraform created it", &fakeProvisioner{name: "terraform", provider: cluster.ProviderTerraform}, 1, false, "cluster mlops-series (terraform) deleted"},
		{"kind created it", &fakeProvisioner{name: "kind", provider: cluster.ProviderKind}, 1, false, "cluster mlops-series (kind) deleted"},
		{"existing cluster", &fakeProvisioner{name: "existing", provider: cluster.ProviderExisting, deleteErr: notCreated}, 1, false, "left as it is: not deleting"},
		{"delete fails", &fakeProvisioner{name: "kind", provider: cluster.ProviderKind, deleteErr: errors.New("engine gone")}, 1, true, "cluster mlops-series (kind) kept"},
		{"no cluster", &fakeProvisioner{name: "terraform", connErr: fmt.Errorf("state has none: %w", cluster.ErrNotExist)}, 0, false, "nothing to do: state has none"},
		{"unreachable", &fakeProvisioner{name: "kind", connErr: errors.New("kind cluster mlops-series does not exist in this message only")}, 0, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			e := &Env{Lib: &series.Library{Chapters: map[string]*series.Chapter{}}, UI: &ui.UI{Out: &buf, Err: &buf}, Provisioner: tc.prov}
			err := e.Down(context.Background(), "", DownOptions{All: true})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Down: err = %v, want error %v\n%s", err, tc.wantErr, buf.String())
			}
			if tc.prov.deleted != tc.deletes {
				t.Errorf("Delete called %d times, want %d\n%s", tc.prov.deleted, tc.deletes, buf.String())
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, buf.String())
			}
		})
	}
}
