package testenv

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// kwokStages is kwok's --config: the node and pod lifecycle stages (KWOK v0.8.0 ships none
// built in) and the PersistentVolume recycling stage of the PV pool.
//
//go:embed kwok-stages.yaml
var kwokStages []byte

// kwokCRDs are the CRDs of the rules kwok reads from the apiserver (--enable-crds).
//
//go:embed kwok-crds.yaml
var kwokCRDs []byte

// kwokCRDKinds are the kinds passed to kwok --enable-crds.
const kwokCRDKinds = "ClusterPortForward,ClusterLogs"

const (
	fakeNodeAnnotation = "kwok.x-k8s.io/node"
	poolLabel          = "testenv.mlops-series.dev/pool"
	managedByLabel     = "app.kubernetes.io/managed-by"
	managedBy          = "testenv"
)

func kwokGVR(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: resource}
}

func crdGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
}

// installKWOKCRDs creates the ClusterPortForward and ClusterLogs CRDs and waits until the
// apiserver serves them.
func installKWOKCRDs(ctx context.Context, dyn dynamic.Interface) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(kwokCRDs), 4096)
	var names []string
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("decode kwok crds: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if _, err := dyn.Resource(crdGVR()).Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create crd %s: %w", obj.GetName(), err)
		}
		names = append(names, obj.GetName())
	}
	for _, name := range names {
		err := poll(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
			crd, err := dyn.Resource(crdGVR()).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("wait for crd %s: %w", name, err)
		}
	}
	return nil
}

// The JSON shapes of kwok.x-k8s.io/v1alpha1 ClusterPortForward and ClusterLogs specs.
type kwokSelector struct {
	MatchNamespaces []string `json:"matchNamespaces,omitempty"`
	MatchNames      []string `json:"matchNames,omitempty"`
}

type kwokForward struct {
	Ports  []int32            `json:"ports,omitempty"`
	Target *kwokForwardTarget `json:"target"`
}

type kwokForwardTarget struct {
	Port    int32  `json:"port"`
	Address string `json:"address"`
}

type kwokLog struct {
	LogsFile string `json:"logsFile"`
	Follow   bool   `json:"follow"`
}

type kwokRuleSpec struct {
	Selector *kwokSelector `json:"selector,omitempty"`
	Forwards []kwokForward `json:"forwards,omitempty"`
	Logs     []kwokLog     `json:"logs,omitempty"`
}

// kwokRule is one ClusterPortForward or ClusterLogs object. KWOK selects pods by namespace and
// name only, so a rule with a label selector is kept up to date by ruleSyncer: its
// spec.selector.matchNames lists the pods the labels select.
type kwokRule struct {
	name      string
	resource  string // clusterportforwards or clusterlogs
	kind      string
	namespace string          // "" for all namespaces
	selector  labels.Selector // nil for all pods
	spec      kwokRuleSpec    // without the selector
	applied   []string        // matchNames last written
}

// noPod is a pod name no pod can have: the matchNames of a selector that matches no pod (an
// empty list would match every pod).
const noPod = ""

// ruleSyncer creates kwok rules and keeps the pod names of label-selector rules current.
type ruleSyncer struct {
	dyn  dynamic.Interface
	pods corelisters.PodLister
	logf func(format string, args ...any)

	trigger chan struct{}

	mu    sync.Mutex // guards rules and n; held across API calls so writes stay ordered
	rules []*kwokRule
	n     int
}

// startRuleSyncer starts a pod informer and the goroutine that follows it; both end with ctx.
func startRuleSyncer(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, wg *sync.WaitGroup, logf func(string, ...any)) (*ruleSyncer, error) {
	factory := informers.NewSharedInformerFactory(client, 0)
	podInformer := factory.Core().V1().Pods()
	s := &ruleSyncer{dyn: dyn, pods: podInformer.Lister(), logf: logf, trigger: make(chan struct{}, 1)}
	_, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.kick() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Pod)
			n, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 || !labels.Equals(o.Labels, n.Labels) {
				s.kick()
			}
		},
		DeleteFunc: func(any) { s.kick() },
	})
	if err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		factory.Shutdown()
	}()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("sync pod informer %v: %w", typ, context.Cause(ctx))
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run(ctx)
	}()
	return s, nil
}

func (s *ruleSyncer) kick() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

func (s *ruleSyncer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.trigger:
		}
		if err := s.syncAll(ctx); err != nil && ctx.Err() == nil {
			s.logf("kwok rules: %v (retrying)", err)
			time.AfterFunc(time.Second, s.kick)
		}
	}
}

// syncAll writes the current pod names into every label-selector rule that needs it.
func (s *ruleSyncer) syncAll(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, r := range s.rules {
		if r.selector == nil {
			continue
		}
		names, err := s.match(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if slices.Equal(names, r.applied) {
			continue
		}
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"selector": map[string]any{"matchNames": names}}})
		if err != nil {
			errs = append(errs, fmt.Errorf("update %s %s: %w", r.kind, r.name, err))
			continue
		}
		if _, err := s.dyn.Resource(kwokGVR(r.resource)).Patch(ctx, r.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("update %s %s: %w", r.kind, r.name, err))
			continue
		}
		r.applied = names
	}
	return errors.Join(errs...)
}

// match returns the sorted names of the pods r selects, or [noPod].
func (s *ruleSyncer) match(r *kwokRule) ([]string, error) {
	var pods []*corev1.Pod
	var err error
	if r.namespace == "" {
		pods, err = s.pods.List(r.selector)
	} else {
		pods, err = s.pods.Pods(r.namespace).List(r.selector)
	}
	if err != nil {
		return nil, fmt.Errorf("list pods for %s %s: %w", r.kind, r.name, err)
	}
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		names = []string{noPod}
	}
	return names, nil
}

// add creates the kwok object of r and, for a label selector, keeps it current from then on.
func (s *ruleSyncer) add(ctx context.Context, r *kwokRule, prefix string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.name = fmt.Sprintf("%s-%d", prefix, s.n)
	s.n++
	spec := r.spec
	if r.namespace != "" || r.selector != nil {
		spec.Selector = &kwokSelector{}
		if r.namespace != "" {
			spec.Selector.MatchNamespaces = []string{r.namespace}
		}
		if r.selector != nil {
			names, err := s.match(r)
			if err != nil {
				return err
			}
			spec.Selector.MatchNames = names
			r.applied = names
		}
	}
	data, err := json.Marshal(map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       r.kind,
		"metadata":   map[string]any{"name": r.name, "labels": map[string]string{managedByLabel: managedBy}},
		"spec":       spec,
	})
	if err != nil {
		return fmt.Errorf("create %s %s: %w", r.kind, r.name, err)
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("create %s %s: %w", r.kind, r.name, err)
	}
	if _, err := s.dyn.Resource(kwokGVR(r.resource)).Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create %s %s: %w", r.kind, r.name, err)
	}
	s.rules = append(s.rules, r)
	return nil
}

func portForwardRule(pf PortForward) (*kwokRule, error) {
	if pf.TargetPort <= 0 || pf.TargetPort > 65535 {
		return nil, fmt.Errorf("port forward: target port %d out of range", pf.TargetPort)
	}
	addr := pf.TargetAddress
	if addr == "" {
		addr = "127.0.0.1"
	}
	r := &kwokRule{
		resource:  "clusterportforwards",
		kind:      "ClusterPortForward",
		namespace: pf.Namespace,
		spec: kwokRuleSpec{Forwards: []kwokForward{{
			Ports:  slices.Clone(pf.Ports),
			Target: &kwokForwardTarget{Port: pf.TargetPort, Address: addr},
		}}},
	}
	if len(pf.Selector) != 0 {
		r.selector = labels.SelectorFromSet(pf.Selector)
	}
	return r, nil
}

func podLogsRule(pl PodLogs) (*kwokRule, error) {
	if pl.LogsFile == "" {
		return nil, errors.New("pod logs: no logs file")
	}
	file, err := filepath.Abs(pl.LogsFile)
	if err != nil {
		return nil, fmt.Errorf("pod logs: %w", err)
	}
	r := &kwokRule{
		resource:  "clusterlogs",
		kind:      "ClusterLogs",
		namespace: pl.Namespace,
		spec:      kwokRuleSpec{Logs: []kwokLog{{LogsFile: file, Follow: pl.Follow}}},
	}
	if len(pl.Selector) != 0 {
		r.selector = labels.SelectorFromSet(pl.Selector)
	}
	return r, nil
}
