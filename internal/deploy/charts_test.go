package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/series"
)

type obj = map[string]any

func get(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(obj)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

// Every component of every available chapter renders through the Helm SDK, and what it renders
// follows the series' chart rules: requests and limits on every container, non-root, pinned image
// tags, nothing kind-specific (no hostPath, no privileged, no LoadBalancer/NodePort, no baked
// StorageClass).
func TestChartsRenderAndFollowTheRules(t *testing.T) {
	lib, err := series.Load(mlopsseries.Series(), "embedded")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range lib.IDs() {
		waves, err := PrepareChapter(mlopsseries.Charts(), lib.FS, lib.Chapters[id])
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range waves {
			for _, r := range w {
				t.Run(id+"/"+r.Name(), func(t *testing.T) {
					m, err := Render(context.Background(), r)
					if err != nil {
						t.Fatal(err)
					}
					checkManifest(t, m)
				})
			}
		}
	}
}

func checkManifest(t *testing.T, m string) {
	t.Helper()
	workloads, objects, fluxObjects := 0, 0, 0
	for _, doc := range splitDocs(m) {
		var o obj
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if o == nil {
			continue
		}
		kind, _ := o["kind"].(string)
		name, _ := get(o, "metadata", "name").(string)
		where := kind + "/" + name
		objects++
		if av, _ := o["apiVersion"].(string); strings.Contains(av, ".toolkit.fluxcd.io/") {
			fluxObjects++
		}
		switch kind {
		case "Service":
			if ty, _ := get(o, "spec", "type").(string); ty == "LoadBalancer" || ty == "NodePort" {
				t.Errorf("%s is %s: the series uses ClusterIP and port-forward", where, ty)
			}
		case "PersistentVolumeClaim":
			if sc := get(o, "spec", "storageClassName"); sc != nil {
				t.Errorf("%s bakes storageClassName %v: use the cluster default", where, sc)
			}
		case "RayCluster":
			// KubeRay's operator starts its pods: the head's and each worker group's template.
			for _, ps := range PodSpecs(&unstructured.Unstructured{Object: o}) {
				workloads++
				checkPodSpec(t, where+" "+ps.Name, ps.Spec)
				if ps.Replicas < 1 && ps.Name != "head" {
					t.Errorf("%s %s: %d pods, want at least 1", where, ps.Name, ps.Replicas)
				}
			}
		case "Deployment", "StatefulSet", "Job", "DaemonSet":
			workloads++
			spec := get(o, "spec", "template", "spec")
			checkPodSpec(t, where, spec)
			// A Job's failed attempt must not leave a Failed pod beside the one that succeeds (the
			// pods check reports it; seen with Feast's apply Job on real pods): retry in place.
			if rp, _ := get(spec, "restartPolicy").(string); kind == "Job" && rp != "OnFailure" {
				t.Errorf("%s has restartPolicy %q: want OnFailure, so a retry does not leave a Failed pod", where, rp)
			}
			if kind == "StatefulSet" {
				for _, vct := range asList(get(o, "spec", "volumeClaimTemplates")) {
					if sc := get(vct, "spec", "storageClassName"); sc != nil {
						t.Errorf("%s volumeClaimTemplate bakes storageClassName %v", where, sc)
					}
				}
			}
		}
		keys := []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"}
		if kind == "CustomResourceDefinition" {
			// A chart's crds/ are applied as written, not templated: no release to name.
			keys = []string{"app.kubernetes.io/name", "app.kubernetes.io/part-of"}
		}
		for _, key := range keys {
			if get(o, "metadata", "labels", key) == nil {
				t.Errorf("%s lacks label %s", where, key)
			}
		}
	}
	// A chart of Flux objects only (charts/flux-sync) runs nothing itself: Flux's controllers act on it.
	if workloads == 0 && (objects == 0 || fluxObjects != objects) {
		t.Error("no workload rendered")
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func checkPodSpec(t *testing.T, where string, spec any) {
	t.Helper()
	if b, _ := get(spec, "hostNetwork").(bool); b {
		t.Errorf("%s uses hostNetwork", where)
	}
	for _, v := range asList(get(spec, "volumes")) {
		if get(v, "hostPath") != nil {
			t.Errorf("%s mounts a hostPath", where)
		}
	}
	podNonRoot, _ := get(spec, "securityContext", "runAsNonRoot").(bool)
	containers := append(asList(get(spec, "initContainers")), asList(get(spec, "containers"))...)
	if len(containers) == 0 {
		t.Errorf("%s has no containers", where)
	}
	for _, c := range containers {
		cn := fmt.Sprintf("%s container %v", where, get(c, "name"))
		img, _ := get(c, "image").(string)
		tag := img[strings.LastIndex(img, "/")+1:]
		if !strings.Contains(tag, ":") && !strings.Contains(img, "@sha256:") {
			t.Errorf("%s image %q has no tag", cn, img)
		}
		if strings.HasSuffix(img, ":latest") {
			t.Errorf("%s image %q uses latest", cn, img)
		}
		for _, k := range []string{"requests", "limits"} {
			for _, r := range []string{"memory", "cpu"} {
				if get(c, "resources", k, r) == nil {
					t.Errorf("%s lacks resources.%s.%s", cn, k, r)
				}
			}
		}
		nonRoot, set := get(c, "securityContext", "runAsNonRoot").(bool)
		if !(nonRoot || (!set && podNonRoot)) {
			t.Errorf("%s may run as root (runAsNonRoot not true)", cn)
		}
		if b, _ := get(c, "securityContext", "privileged").(bool); b {
			t.Errorf("%s is privileged", cn)
		}
		if b, ok := get(c, "securityContext", "allowPrivilegeEscalation").(bool); !ok || b {
			t.Errorf("%s does not set allowPrivilegeEscalation: false", cn)
		}
	}
}

// The digest identifies chart files + values: stable across loads, different when either changes.
func TestDigest(t *testing.T) {
	lib, err := series.Load(mlopsseries.Series(), "embedded")
	if err != nil {
		t.Fatal(err)
	}
	ch := lib.Chapters["chapter-6"]
	comp := ch.Components[1]
	a, err := Prepare(mlopsseries.Charts(), lib.FS, ch, comp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Prepare(mlopsseries.Charts(), lib.FS, ch, comp)
	if a.Digest != b.Digest {
		t.Fatalf("digest not stable: %s vs %s", a.Digest, b.Digest)
	}
	// Same chart, one value changed.
	vals, err := fsRead(lib, ch, comp.Values[0])
	if err != nil {
		t.Fatal(err)
	}
	changed := fstest.MapFS{ch.Dir + "/" + comp.Values[0]: {Data: append(vals, []byte("\nextraEnv: [{name: X, value: \"1\"}]\n")...)}}
	c, err := Prepare(mlopsseries.Charts(), changed, ch, comp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Digest == a.Digest {
		t.Fatal("digest did not change with the values")
	}
	// Same values, chart changed.
	charts := fstest.MapFS{}
	for _, f := range []string{"Chart.yaml", "values.yaml"} {
		data, err := fsReadCharts("mlflow/" + f)
		if err != nil {
			t.Fatal(err)
		}
		charts["mlflow/"+f] = &fstest.MapFile{Data: data}
	}
	tpl := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
	charts["mlflow/templates/x.yaml"] = &fstest.MapFile{Data: []byte(tpl)}
	d, err := Prepare(charts, lib.FS, ch, comp)
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest == a.Digest {
		t.Fatal("digest did not change with the chart")
	}
}

func fsRead(lib *series.Library, ch *series.Chapter, file string) ([]byte, error) {
	return readFS(lib.FS, ch.Dir+"/"+file)
}

func fsReadCharts(file string) ([]byte, error) { return readFS(mlopsseries.Charts(), file) }

func TestMeasure(t *testing.T) {
	m := `apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - {name: init, image: "x:1", resources: {requests: {memory: 1Gi, cpu: "1"}}}
      containers:
        - {name: a, image: "a:1", resources: {requests: {memory: 100Mi, cpu: 100m}, limits: {memory: 200Mi}}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers:
        - {name: j, image: "a:1", resources: {requests: {memory: 56Mi, cpu: 50m}}}
`
	f, err := Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	if f.MiB() != 256 || f.MilliCPU() != 250 || f.MemoryLimit.Value() != 400<<20 || f.Workloads != 2 {
		t.Fatalf("footprint = %d MiB, %dm, limit %s, %d workloads", f.MiB(), f.MilliCPU(), f.MemoryLimit.String(), f.Workloads)
	}
	if strings.Join(f.Images, ",") != "a:1,x:1" {
		t.Fatalf("images = %v", f.Images)
	}

	// A RayCluster counts its head and, per worker group, replicas × numOfHosts pods; another
	// group's kind of the same name does not count.
	ray := `apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: r}
spec:
  headGroupSpec:
    template:
      spec:
        containers:
          - {name: head, image: "ray:1", resources: {requests: {memory: 1Gi, cpu: 250m}, limits: {memory: 2Gi}}}
  workerGroupSpecs:
    - groupName: small
      replicas: 2
      numOfHosts: 1
      template:
        spec:
          containers:
            - {name: w, image: "ray:1", resources: {requests: {memory: 512Mi, cpu: 500m}, limits: {memory: 1Gi}}}
    - groupName: none
      replicas: 0
      template:
        spec:
          containers:
            - {name: w, image: "ray-big:1", resources: {requests: {memory: 8Gi}}}
---
apiVersion: example.com/v1
kind: RayCluster
metadata: {name: other}
spec: {headGroupSpec: {template: {spec: {containers: [{name: x, image: "other:1"}]}}}}
`
	f, err = Measure(ray)
	if err != nil {
		t.Fatal(err)
	}
	if f.MiB() != 2048 || f.MilliCPU() != 1250 || f.MemoryLimit.Value() != 4<<30 || f.Workloads != 3 {
		t.Fatalf("RayCluster footprint = %d MiB, %dm, limit %s, %d workloads", f.MiB(), f.MilliCPU(), f.MemoryLimit.String(), f.Workloads)
	}
	if strings.Join(f.Images, ",") != "ray-big:1,ray:1" {
		t.Fatalf("RayCluster images = %v", f.Images)
	}
}

// Every image a chart renders is listed in series/images.yaml (the one place that pins images and
// says which architectures they exist for), and everything listed is used.
func TestImagesAreListed(t *testing.T) {
	lib, err := series.Load(mlopsseries.Series(), "embedded")
	if err != nil {
		t.Fatal(err)
	}
	listed := lib.Archs()
	used := map[string]bool{}
	for _, id := range lib.IDs() {
		waves, err := PrepareChapter(mlopsseries.Charts(), lib.FS, lib.Chapters[id])
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range waves {
			for _, r := range w {
				m, err := Render(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				f, err := Measure(m)
				if err != nil {
					t.Fatal(err)
				}
				for _, img := range append(slices.Clip(f.Images), f.OptionalImages...) {
					used[img] = true
					if _, ok := listed[img]; !ok {
						t.Errorf("%s/%s runs %s, which series/images.yaml does not list", id, r.Name(), img)
					}
				}
			}
		}
	}
	for ref := range listed {
		if !used[ref] {
			t.Errorf("series/images.yaml lists %s, which no chart runs", ref)
		}
	}
}

// A workload's spawns annotation counts one spawned pod and its image; a malformed one is an error.
func TestMeasureSpawns(t *testing.T) {
	m := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hub
  annotations:
    mlops-series.io/spawns: '{"image":"nb:1","cpu":"0.1","memory":"256M","memoryLimit":"1G"}'
spec:
  template:
    spec:
      containers:
        - {name: hub, image: "hub:1", resources: {requests: {memory: 192Mi, cpu: 100m}, limits: {memory: 512Mi}}}
`
	f, err := Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	if f.Workloads != 2 || f.MilliCPU() != 200 || f.Memory.Value() != 192<<20+256e6 || f.MemoryLimit.Value() != 512<<20+1e9 {
		t.Fatalf("footprint = %d workloads, %dm, %s, limit %s", f.Workloads, f.MilliCPU(), f.Memory.String(), f.MemoryLimit.String())
	}
	if strings.Join(f.Images, ",") != "hub:1,nb:1" {
		t.Fatalf("images = %v", f.Images)
	}
	for _, bad := range []string{`'{"cpu":"1"}'`, `'not json'`, `'{"image":"nb:1","memory":"lots"}'`, `'{"image":"nb:1","optional":"yes"}'`} {
		if _, err := Measure(strings.Replace(m, `'{"image":"nb:1","cpu":"0.1","memory":"256M","memoryLimit":"1G"}'`, bad, 1)); err == nil || !strings.Contains(err.Error(), "annotation mlops-series.io/spawns") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

// An optional spawned pod (chapter 5's training pod) counts its requests apart (OptionalMemory and
// OptionalCPU, not compared with the targets), and its image is optional: not required unless a
// container of the manifest, or of another footprint added to it, runs it.
func TestMeasureOptionalSpawns(t *testing.T) {
	m := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: scheduler
  annotations:
    mlops-series.io/spawns: '{"image":"train:1","cpu":"100m","memory":"256Mi","memoryLimit":"1Gi","optional":true}'
spec:
  template:
    spec:
      containers:
        - {name: s, image: "sched:1", resources: {requests: {memory: 384Mi, cpu: 100m}, limits: {memory: 1Gi}}}
`
	f, err := Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	if f.Workloads != 2 || f.MilliCPU() != 100 || f.MiB() != 384 || f.MemoryLimit.Value() != 2<<30 ||
		f.OptionalMiB() != 256 || f.OptionalCPU.MilliValue() != 100 {
		t.Fatalf("footprint = %d workloads, %dm (+%dm), %dMi (+%dMi), limit %s", f.Workloads, f.MilliCPU(), f.OptionalCPU.MilliValue(),
			f.MiB(), f.OptionalMiB(), f.MemoryLimit.String())
	}
	if strings.Join(f.Images, ",") != "sched:1" || strings.Join(f.OptionalImages, ",") != "train:1" {
		t.Fatalf("images = %v, optional = %v", f.Images, f.OptionalImages)
	}
	var sum Footprint
	sum.Add(f)
	sum.Add(Footprint{Images: []string{"other:1"}})
	if strings.Join(sum.Images, ",") != "other:1,sched:1" || strings.Join(sum.OptionalImages, ",") != "train:1" {
		t.Fatalf("sum: images = %v, optional = %v", sum.Images, sum.OptionalImages)
	}
	// Once a chapter runs the image itself, it is required, not optional.
	sum.Add(Footprint{Images: []string{"train:1"}})
	if strings.Join(sum.Images, ",") != "other:1,sched:1,train:1" || sum.OptionalImages != nil {
		t.Fatalf("sum: images = %v, optional = %v", sum.Images, sum.OptionalImages)
	}
	same, err := Measure(m + "---\n" + strings.ReplaceAll(strings.ReplaceAll(m, "sched:1", "train:1"), "name: scheduler", "name: s2"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(same.Images, ",") != "sched:1,train:1" || same.OptionalImages != nil {
		t.Fatalf("one manifest: images = %v, optional = %v", same.Images, same.OptionalImages)
	}
}
