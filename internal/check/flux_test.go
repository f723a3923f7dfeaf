package check

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/mlops-series/mlops-series/internal/series"
)

// The pure parts of the Flux checks. FluxSync and FluxDrift themselves run against Flux's real
// controllers in TestChapter2OnControlPlane (internal/action) and on real pods in the kind layer.

func fluxObject(t *testing.T, js string) *FluxObject {
	t.Helper()
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatal(err)
	}
	var o FluxObject
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &o); err != nil {
		t.Fatal(err)
	}
	o.Generation = u.GetGeneration()
	return &o
}

func TestFluxObjectReadyRevisionInventory(t *testing.T) {
	ks := fluxObject(t, `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"series","namespace":"flux-system","generation":2},
	  "spec":{"sourceRef":{"kind":"GitRepository","name":"series"}},
	  "status":{"observedGeneration":2,"lastAppliedRevision":"main@sha1:abc","conditions":[{"type":"Ready","status":"True","reason":"ReconciliationSucceeded","message":"Applied revision: main@sha1:abc","lastTransitionTime":"2026-12-02T10:00:00Z"}],
	    "inventory":{"entries":[{"id":"ml-team-a_team-settings__ConfigMap","v":"v1"},{"id":"_ml-team-a__Namespace","v":"v1"},{"id":"ml-team-a_team-a-edit_rbac.authorization.k8s.io_RoleBinding","v":"v1"},{"id":"odd","v":"v1"}]}}}`)
	if ok, msg := ks.Ready(); !ok || msg != "Applied revision: main@sha1:abc" {
		t.Errorf("Ready = %v, %q", ok, msg)
	}
	if ks.Revision() != "main@sha1:abc" || ks.Spec.SourceRef.Kind != "GitRepository" {
		t.Errorf("Revision %q, sourceRef %+v", ks.Revision(), ks.Spec.SourceRef)
	}
	want := "ConfigMap ml-team-a/team-settings, Namespace ml-team-a, RoleBinding ml-team-a/team-a-edit, odd"
	if got := strings.Join(ks.Inventory(), ", "); got != want {
		t.Errorf("Inventory = %s\nwant        %s", got, want)
	}

	src := fluxObject(t, `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"generation":3},"status":{"observedGeneration":2,"artifact":{"revision":"main@sha1:def"},
	  "conditions":[{"type":"Ready","status":"True","reason":"Succeeded","message":"stored artifact","lastTransitionTime":"2026-12-02T10:00:00Z"}]}}`)
	if ok, why := src.Ready(); ok || !strings.Contains(why, "generation 3 not yet observed") {
		t.Errorf("an old status: Ready = %v, %q", ok, why)
	}
	if src.Revision() != "main@sha1:def" {
		t.Errorf("a source's revision is its artifact's: %q", src.Revision())
	}
	failed := fluxObject(t, `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"generation":1},"status":{"observedGeneration":1,
	  "conditions":[{"type":"Ready","status":"False","reason":"GitOperationFailed","message":"failed to checkout","lastTransitionTime":"2026-12-02T10:00:00Z"}]}}`)
	if ok, why := failed.Ready(); ok || why != "Ready=False (GitOperationFailed): failed to checkout" {
		t.Errorf("a failed source: Ready = %v, %q", ok, why)
	}
	if ok, why := fluxObject(t, `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"generation":1},"status":{"observedGeneration":1}}`).Ready(); ok || !strings.Contains(why, "no Ready condition") {
		t.Errorf("no conditions: Ready = %v, %q", ok, why)
	}
	if inv := fluxObject(t, `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{}}`).Inventory(); inv != nil {
		t.Errorf("no inventory: %v", inv)
	}
}

func TestSplitRef(t *testing.T) {
	if ns, n, err := SplitRef("flux-system/series"); err != nil || ns != "flux-system" || n != "series" {
		t.Errorf("SplitRef = %q %q %v", ns, n, err)
	}
	for _, bad := range []string{"series", "/series", "flux-system/", "Flux/series", "a/b/c", ""} {
		if _, _, err := SplitRef(bad); err == nil {
			t.Errorf("SplitRef(%q): no error", bad)
		}
	}
}

func TestFluxChecksValidation(t *testing.T) {
	types := Builtin().Spec()
	ch := &series.Chapter{}
	sync := series.Check{Name: "s", Type: TypeFluxSync, Component: "git-server", Port: 80,
		Params: map[string]string{FluxParamRepository: "series", FluxParamKustomization: "series"}}
	ps := types[TypeFluxSync].Validate(ch, sync)
	if len(ps) != 1 || ps[0].Field != "params.kustomization" || !strings.Contains(ps[0].Message, "want namespace/name") {
		t.Errorf("flux-sync with kustomization \"series\": %+v", ps)
	}
	drift := series.Check{Name: "d", Type: TypeFluxDrift, Params: map[string]string{FluxParamKustomization: "flux-system/series", FluxParamConfigMap: "team-settings"}}
	ps = types[TypeFluxDrift].Validate(ch, drift)
	if len(ps) != 1 || ps[0].Field != "params.configmap" {
		t.Errorf("flux-drift with configmap \"team-settings\": %+v", ps)
	}
	drift.Params[FluxParamConfigMap] = "ml-team-a/team-settings"
	if ps := types[TypeFluxDrift].Validate(ch, drift); len(ps) != 0 {
		t.Errorf("a valid flux-drift: %+v", ps)
	}
}

func TestPodsComponentsParam(t *testing.T) {
	ch := &series.Chapter{Number: 2, Slug: "gitops", Components: []series.Component{{Name: "git-server"}, {Name: "flux"}, {Name: "flux-sync"}}}
	types := Builtin().Spec()
	ok := series.Check{Name: "pods", Type: TypePods, Params: map[string]string{PodsParamComponents: "git-server, flux"}}
	if ps := types[TypePods].Validate(ch, ok); len(ps) != 0 {
		t.Errorf("valid components: %+v", ps)
	}
	comps, err := podsComponents(ch, "git-server, flux")
	if err != nil || len(comps) != 2 || comps[1].Name != "flux" {
		t.Errorf("podsComponents = %v, %v", comps, err)
	}
	bad := series.Check{Name: "pods", Type: TypePods, Params: map[string]string{PodsParamComponents: "git-server,nope"}}
	if ps := types[TypePods].Validate(ch, bad); len(ps) != 1 || !strings.Contains(ps[0].Message, `"nope" is not a component of chapter-2`) {
		t.Errorf("unknown component: %+v", ps)
	}
	both := series.Check{Name: "pods", Type: TypePods, Component: "flux", Params: map[string]string{PodsParamComponents: "flux"}}
	if ps := types[TypePods].Validate(ch, both); len(ps) != 1 || !strings.Contains(ps[0].Message, "not both") {
		t.Errorf("component and components: %+v", ps)
	}
}
