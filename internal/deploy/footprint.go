package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Footprint is what a set of manifests asks of the cluster.
type Footprint struct {
	// Memory and CPU requested by all long-running containers (times replicas).
	Memory resource.Quantity `json:"memory"`
	CPU    resource.Quantity `json:"cpu"`
	// MemoryLimit is the sum of memory limits.
	MemoryLimit resource.Quantity `json:"memoryLimit"`
	// OptionalMemory and OptionalCPU are the requests of the optional spawned pods (SpawnsAnnotation
	// with "optional": true): a run the reader starts adds them for a while (chapter 5's training
	// pod). They are not in Memory and CPU, which the targets compare.
	OptionalMemory resource.Quantity `json:"optionalMemory"`
	OptionalCPU    resource.Quantity `json:"optionalCpu"`
	// Images used by any container (init containers included), sorted.
	Images []string `json:"images"`
	// OptionalImages are the images of optional spawned pods (SpawnsAnnotation with "optional":
	// true) that no container of the manifests runs, sorted. They are not in Images: doctor does
	// not require them, `up` does not load them and `images pull` does not pull them.
	OptionalImages []string `json:"optionalImages,omitempty"`
	// Workloads counts the pod-owning objects.
	Workloads int `json:"workloads"`
}

// Add sums another footprint into f.
func (f *Footprint) Add(o Footprint) {
	f.Memory.Add(o.Memory)
	f.CPU.Add(o.CPU)
	f.MemoryLimit.Add(o.MemoryLimit)
	f.OptionalMemory.Add(o.OptionalMemory)
	f.OptionalCPU.Add(o.OptionalCPU)
	f.Workloads += o.Workloads
	f.Images = union(f.Images, o.Images)
	// An image another workload requires is not optional.
	f.OptionalImages = union(f.OptionalImages, o.OptionalImages)
	f.OptionalImages = slices.DeleteFunc(f.OptionalImages, func(i string) bool { return slices.Contains(f.Images, i) })
	if len(f.OptionalImages) == 0 {
		f.OptionalImages = nil
	}
}

// union is a and the elements of b it lacks, sorted.
func union(a, b []string) []string {
	seen := map[string]bool{}
	for _, i := range a {
		seen[i] = true
	}
	for _, i := range b {
		if !seen[i] {
			a = append(a, i)
			seen[i] = true
		}
	}
	sort.Strings(a)
	return a
}

// OptionalMiB is the optional spawned pods' memory request in MiB.
func (f Footprint) OptionalMiB() int64 { return f.OptionalMemory.Value() / (1 << 20) }

// MiB is the memory request in MiB.
func (f Footprint) MiB() int64 { return f.Memory.Value() / (1 << 20) }

// MilliCPU is the CPU request in millicores.
func (f Footprint) MilliCPU() int64 { return f.CPU.MilliValue() }

// SpawnsAnnotation, on a workload, declares a pod the workload starts itself at run time (JupyterHub's
// notebook server per user, the training pod an Airflow task starts): JSON {"image", "cpu",
// "memory", "memoryLimit", "optional"}. Measure counts one such pod (the first user's) as a
// workload, and its image as used; with "optional": true (a pod that only a run the reader starts
// needs, whose image may come from another chapter) the image is one of OptionalImages instead and
// its requests go to OptionalMemory and OptionalCPU.
const SpawnsAnnotation = "mlops-series.io/spawns"

// Measure reads a multi-document manifest and sums the requests of its workloads. Jobs count too
// (they run during install); init containers do not add to the steady-state total; a workload's
// SpawnsAnnotation adds one spawned pod.
func Measure(manifest string) (Footprint, error) {
	var f Footprint
	images := map[string]bool{}
	optional := map[string]bool{}
	for _, doc := range splitDocs(manifest) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return f, fmt.Errorf("measure manifest: %w", err)
		}
		if obj == nil {
			continue
		}
		u := unstructured.Unstructured{Object: obj}
		specs := PodSpecs(&u)
		if len(specs) == 0 {
			continue
		}
		f.Workloads++
		if spec, ok := u.GetAnnotations()[SpawnsAnnotation]; ok {
			var sp struct {
				Image       string `json:"image"`
				CPU         string `json:"cpu"`
				Memory      string `json:"memory"`
				MemoryLimit string `json:"memoryLimit"`
				Optional    bool   `json:"optional"`
			}
			if err := json.Unmarshal([]byte(spec), &sp); err != nil || sp.Image == "" {
				return f, fmt.Errorf("measure manifest: %s %s: annotation %s: want JSON {image, cpu, memory, memoryLimit, optional}, got %q",
					u.GetKind(), u.GetName(), SpawnsAnnotation, spec)
			}
			cpu, mem := &f.CPU, &f.Memory
			if sp.Optional {
				optional[sp.Image] = true
				cpu, mem = &f.OptionalCPU, &f.OptionalMemory
			} else {
				images[sp.Image] = true
			}
			f.Workloads++
			for _, q := range []struct {
				sum *resource.Quantity
				v   string
			}{{cpu, sp.CPU}, {mem, sp.Memory}, {&f.MemoryLimit, sp.MemoryLimit}} {
				if q.v == "" {
					continue
				}
				v, err := resource.ParseQuantity(q.v)
				if err != nil {
					return f, fmt.Errorf("measure manifest: %s %s: annotation %s: %q: %w", u.GetKind(), u.GetName(), SpawnsAnnotation, q.v, err)
				}
				q.sum.Add(v)
			}
		}
		f.Workloads += len(specs) - 1
		for _, ps := range specs {
			for _, kind := range []string{"initContainers", "containers"} {
				cs, _, _ := unstructured.NestedSlice(ps.Spec, kind)
				for _, c := range cs {
					cm, ok := c.(map[string]any)
					if !ok {
						continue
					}
					if img, ok := cm["image"].(string); ok {
						images[img] = true
					}
					if kind == "initContainers" {
						continue
					}
					for i := int64(0); i < ps.Replicas; i++ {
						addQ(&f.Memory, cm, "requests", "memory")
						addQ(&f.CPU, cm, "requests", "cpu")
						addQ(&f.MemoryLimit, cm, "limits", "memory")
					}
				}
			}
		}
	}
	for i := range images {
		f.Images = append(f.Images, i)
	}
	sort.Strings(f.Images)
	for i := range optional {
		if !images[i] {
			f.OptionalImages = append(f.OptionalImages, i)
		}
	}
	sort.Strings(f.OptionalImages)
	return f, nil
}

// PodSpec is one pod template of a workload: its pod spec and how many pods run it.
type PodSpec struct {
	// Name says which template ("" for a workload's only one; "head", "worker group workers" for a
	// RayCluster).
	Name     string
	Spec     map[string]any
	Replicas int64
}

// PodSpecs returns the pod templates of a rendered workload: Deployments, StatefulSets, ReplicaSets
// (times spec.replicas), DaemonSets and Jobs (one pod counted), CronJobs, Pods, and KubeRay's
// RayCluster, whose operator starts a head pod and, per worker group, replicas × numOfHosts pods.
// Anything else has none.
func PodSpecs(u *unstructured.Unstructured) []PodSpec {
	obj := u.Object
	spec := func(path ...string) map[string]any {
		m, _, _ := unstructured.NestedMap(obj, path...)
		return m
	}
	switch u.GetKind() {
	case "Deployment", "StatefulSet", "ReplicaSet":
		replicas := int64(1)
		if r, found, _ := unstructured.NestedFieldNoCopy(obj, "spec", "replicas"); found {
			replicas = toInt64(r, 1)
		}
		return []PodSpec{{Spec: spec("spec", "template", "spec"), Replicas: replicas}}
	case "DaemonSet", "Job":
		return []PodSpec{{Spec: spec("spec", "template", "spec"), Replicas: 1}}
	case "CronJob":
		return []PodSpec{{Spec: spec("spec", "jobTemplate", "spec", "template", "spec"), Replicas: 1}}
	case "Pod":
		return []PodSpec{{Spec: spec("spec"), Replicas: 1}}
	case "RayCluster":
		if !strings.HasPrefix(u.GetAPIVersion(), "ray.io/") {
			return nil
		}
		out := []PodSpec{{Name: "head", Spec: spec("spec", "headGroupSpec", "template", "spec"), Replicas: 1}}
		groups, _, _ := unstructured.NestedSlice(obj, "spec", "workerGroupSpecs")
		for _, g := range groups {
			gm, ok := g.(map[string]any)
			if !ok {
				continue
			}
			hosts := toInt64(gm["numOfHosts"], 1)
			if hosts < 1 {
				hosts = 1
			}
			ps, _, _ := unstructured.NestedMap(gm, "template", "spec")
			name, _ := gm["groupName"].(string)
			out = append(out, PodSpec{Name: "worker group " + name, Spec: ps, Replicas: toInt64(gm["replicas"], 0) * hosts})
		}
		return out
	}
	return nil
}

// toInt64 reads a number decoded from YAML or JSON, or def when v is none.
func toInt64(v any, def int64) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return def
}

func addQ(sum *resource.Quantity, c map[string]any, kind, name string) {
	v, found, _ := unstructured.NestedFieldNoCopy(c, "resources", kind, name)
	if !found {
		return
	}
	q, err := resource.ParseQuantity(fmt.Sprint(v))
	if err == nil {
		sum.Add(q)
	}
}

func splitDocs(manifest string) []string {
	var out []string
	for _, d := range strings.Split("\n"+manifest, "\n---") {
		if strings.TrimSpace(d) != "" {
			out = append(out, d)
		}
	}
	return out
}
