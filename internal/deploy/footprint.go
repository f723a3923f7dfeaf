package deploy

import (
	"encoding/json"
	"fmt"
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
	// Images used by any container (init containers included), sorted.
	Images []string `json:"images"`
	// Workloads counts the pod-owning objects.
	Workloads int `json:"workloads"`
}

// Add sums another footprint into f.
func (f *Footprint) Add(o Footprint) {
	f.Memory.Add(o.Memory)
	f.CPU.Add(o.CPU)
	f.MemoryLimit.Add(o.MemoryLimit)
	f.Workloads += o.Workloads
	seen := map[string]bool{}
	for _, i := range f.Images {
		seen[i] = true
	}
	for _, i := range o.Images {
		if !seen[i] {
			f.Images = append(f.Images, i)
			seen[i] = true
		}
	}
	sort.Strings(f.Images)
}

// MiB is the memory request in MiB.
func (f Footprint) MiB() int64 { return f.Memory.Value() / (1 << 20) }

// MilliCPU is the CPU request in millicores.
func (f Footprint) MilliCPU() int64 { return f.CPU.MilliValue() }

// SpawnsAnnotation, on a workload, declares a pod the workload starts itself at run time (JupyterHub's
// notebook server per user): JSON {"image", "cpu", "memory", "memoryLimit"}. Measure counts one such
// pod (the first user's) as a workload, and its image as used.
const SpawnsAnnotation = "mlops-series.io/spawns"

// Measure reads a multi-document manifest and sums the requests of its workloads. Jobs count too
// (they run during install); init containers do not add to the steady-state total; a workload's
// SpawnsAnnotation adds one spawned pod.
func Measure(manifest string) (Footprint, error) {
	var f Footprint
	images := map[string]bool{}
	for _, doc := range splitDocs(manifest) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return f, fmt.Errorf("measure manifest: %w", err)
		}
		if obj == nil {
			continue
		}
		u := unstructured.Unstructured{Object: obj}
		var podSpecPath []string
		replicas := int64(1)
		switch u.GetKind() {
		case "Deployment", "StatefulSet", "ReplicaSet":
			podSpecPath = []string{"spec", "template", "spec"}
			if r, found, _ := unstructured.NestedFieldNoCopy(obj, "spec", "replicas"); found {
				switch n := r.(type) {
				case float64:
					replicas = int64(n)
				case int64:
					replicas = n
				}
			}
		case "DaemonSet", "Job":
			podSpecPath = []string{"spec", "template", "spec"}
		case "CronJob":
			podSpecPath = []string{"spec", "jobTemplate", "spec", "template", "spec"}
		case "Pod":
			podSpecPath = []string{"spec"}
		default:
			continue
		}
		f.Workloads++
		if spec, ok := u.GetAnnotations()[SpawnsAnnotation]; ok {
			var sp struct {
				Image       string `json:"image"`
				CPU         string `json:"cpu"`
				Memory      string `json:"memory"`
				MemoryLimit string `json:"memoryLimit"`
			}
			if err := json.Unmarshal([]byte(spec), &sp); err != nil || sp.Image == "" {
				return f, fmt.Errorf("measure manifest: %s %s: annotation %s: want JSON {image, cpu, memory, memoryLimit}, got %q",
					u.GetKind(), u.GetName(), SpawnsAnnotation, spec)
			}
			images[sp.Image] = true
			f.Workloads++
			for _, q := range []struct {
				sum *resource.Quantity
				v   string
			}{{&f.CPU, sp.CPU}, {&f.Memory, sp.Memory}, {&f.MemoryLimit, sp.MemoryLimit}} {
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
		for _, kind := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(obj, append(append([]string{}, podSpecPath...), kind)...)
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
				for i := int64(0); i < replicas; i++ {
					addQ(&f.Memory, cm, "requests", "memory")
					addQ(&f.CPU, cm, "requests", "cpu")
					addQ(&f.MemoryLimit, cm, "limits", "memory")
				}
			}
		}
	}
	for i := range images {
		f.Images = append(f.Images, i)
	}
	sort.Strings(f.Images)
	return f, nil
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
