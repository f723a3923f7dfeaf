package check

// Chapter 1's checks: the cluster itself is usable. They need nothing installed by a chapter and
// talk only to the apiserver, so they run the same on kind, on the test control plane and on any
// cluster reached with --context. Nodes and CoreDNS poll until ctx ends (a cluster that was just
// created becomes Ready within seconds); KubernetesVersion answers at once; StorageBinds creates
// a claim and a pod in a temporary namespace and removes the namespace again, whatever happens.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/ready"
)

// pollInterval is how often Nodes, CoreDNS and StorageBinds look again.
const pollInterval = 500 * time.Millisecond

// Nodes checks that the cluster has at least one node and that every node is Ready, polling until
// ctx ends. On failure it names each node that is not Ready with its Ready condition's reason and
// message (what the kubelet or the node controller said).
func Nodes(ctx context.Context, cs kubernetes.Interface) (string, error) {
	return poll(ctx, func(ctx context.Context) (string, []string, error) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", nil, fmt.Errorf("list nodes: %w", err)
		}
		if len(nodes.Items) == 0 {
			return "", []string{"the cluster has no nodes"}, nil
		}
		var names, problems []string
		for i := range nodes.Items {
			n := &nodes.Items[i]
			names = append(names, n.Name)
			if p := nodeProblem(n); p != "" {
				problems = append(problems, p)
			}
		}
		sort.Strings(names)
		sort.Strings(problems)
		if len(problems) > 0 {
			return "", []string{fmt.Sprintf("%d of %d nodes not Ready: %s", len(problems), len(names), strings.Join(problems, "; "))}, nil
		}
		return fmt.Sprintf("%d %s Ready: %s", len(names), plural(len(names), "node", "nodes"), listShort(names, 5)), nil, nil
	})
}

// nodeProblem says why a node is not Ready, or "" when it is.
func nodeProblem(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		why := c.Reason
		if c.Message != "" {
			why = strings.TrimSpace(why + ": " + c.Message)
		}
		if why == "" {
			why = "no reason given"
		}
		return fmt.Sprintf("node %s is %s (Ready=%s, %s)", n.Name, notReadyWord(c.Status), c.Status, why)
	}
	return fmt.Sprintf("node %s has no Ready condition (its kubelet has never reported)", n.Name)
}

func notReadyWord(s corev1.ConditionStatus) string {
	if s == corev1.ConditionUnknown {
		return "unreachable"
	}
	return "NotReady"
}

// CoreDNS names the cluster DNS: the Deployment kube-system/coredns carries this label, and the
// Service kube-system/kube-dns selects its pods (kubeadm's, and so kind's, layout).
const (
	coreDNSLabel   = "k8s-app=kube-dns"
	coreDNSService = "kube-dns"
)

// CoreDNS checks the cluster DNS at the Kubernetes level, polling until ctx ends: the Deployment(s)
// of kube-system labelled k8s-app=kube-dns (kube-system/coredns) are Available with every replica
// ready, and the Service kube-system/kube-dns lists every ready DNS pod as a ready endpoint on port
// 53 in its EndpointSlices.
// It does not resolve a name: a DNS query from inside the cluster is the kind workflow's job.
func CoreDNS(ctx context.Context, cs kubernetes.Interface) (string, error) {
	return poll(ctx, func(ctx context.Context) (string, []string, error) {
		var problems []string
		deps, err := cs.AppsV1().Deployments(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: coreDNSLabel})
		if err != nil {
			return "", nil, fmt.Errorf("list deployments %s in %s: %w", coreDNSLabel, metav1.NamespaceSystem, err)
		}
		var depSummary []string
		var readyPods int32
		if len(deps.Items) == 0 {
			problems = append(problems, fmt.Sprintf("no Deployment labelled %s in %s (is the cluster's DNS add-on installed?)", coreDNSLabel, metav1.NamespaceSystem))
		}
		for i := range deps.Items {
			d := &deps.Items[i]
			if p := deploymentProblem(d); p != "" {
				problems = append(problems, p)
				continue
			}
			depSummary = append(depSummary, fmt.Sprintf("%s %d/%d ready", d.Name, d.Status.ReadyReplicas, replicas(d)))
			readyPods += d.Status.ReadyReplicas
		}

		svc, err := cs.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, coreDNSService, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			problems = append(problems, fmt.Sprintf("Service %s/%s not found", metav1.NamespaceSystem, coreDNSService))
			return "", problems, nil
		case err != nil:
			return "", nil, fmt.Errorf("get service %s/%s: %w", metav1.NamespaceSystem, coreDNSService, err)
		}
		nReady, protocols, err := dnsEndpoints(ctx, cs)
		if err != nil {
			return "", nil, err
		}
		switch {
		case nReady == 0:
			problems = append(problems, fmt.Sprintf("Service %s/%s has no ready endpoints on port 53 (its EndpointSlices list no ready pod)", metav1.NamespaceSystem, coreDNSService))
		case int32(nReady) < readyPods:
			// The EndpointSlice controller lags the pods for a moment: wait until every ready DNS
			// pod is an endpoint, so that what is reported is one consistent state.
			problems = append(problems, fmt.Sprintf("Service %s/%s lists %d of the %d ready DNS pods as endpoints on port 53", metav1.NamespaceSystem, coreDNSService, nReady, readyPods))
		}
		if len(problems) > 0 {
			return "", problems, nil
		}
		return fmt.Sprintf("%s; Service %s (%s) has %d ready %s on port 53 (%s)",
			strings.Join(depSummary, ", "), coreDNSService, svc.Spec.ClusterIP, nReady,
			plural(nReady, "endpoint", "endpoints"), strings.Join(protocols, ", ")), nil, nil
	})
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// deploymentProblem says why a DNS Deployment does not serve yet, or "".
func deploymentProblem(d *appsv1.Deployment) string {
	name := d.Namespace + "/" + d.Name
	want := replicas(d)
	if want == 0 {
		return fmt.Sprintf("Deployment %s is scaled to 0 replicas", name)
	}
	if d.Status.ObservedGeneration < d.Generation {
		return fmt.Sprintf("Deployment %s: the controller has not seen its latest change yet", name)
	}
	available := false
	var why string
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			available = c.Status == corev1.ConditionTrue
			why = strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	if !available {
		if why == "" || why == ":" {
			why = "no Available condition yet"
		}
		return fmt.Sprintf("Deployment %s is not Available (%s)", name, why)
	}
	if d.Status.ReadyReplicas < want {
		return fmt.Sprintf("Deployment %s has %d of %d replicas ready", name, d.Status.ReadyReplicas, want)
	}
	return ""
}

// dnsEndpoints counts the ready endpoints of kube-dns's EndpointSlices that serve port 53, and
// lists the port-53 protocols ("53/UDP").
func dnsEndpoints(ctx context.Context, cs kubernetes.Interface) (int, []string, error) {
	slices, err := cs.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + coreDNSService,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("list endpointslices of %s/%s: %w", metav1.NamespaceSystem, coreDNSService, err)
	}
	readyPods := map[string]bool{}
	protos := map[string]bool{}
	for _, s := range slices.Items {
		has53 := false
		for _, p := range s.Ports {
			if p.Port != nil && *p.Port == 53 {
				has53 = true
				proto := corev1.ProtocolTCP
				if p.Protocol != nil {
					proto = *p.Protocol
				}
				protos["53/"+string(proto)] = true
			}
		}
		if !has53 {
			continue
		}
		for _, ep := range s.Endpoints {
			// A nil Ready means ready (the API's documented default).
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			// One endpoint is one pod, which can appear in several slices (one per address
			// family); pods that KWOK fakes may even share an address.
			key := strings.Join(ep.Addresses, ",")
			if ep.TargetRef != nil && ep.TargetRef.UID != "" {
				key = string(ep.TargetRef.UID)
			}
			readyPods[key] = true
		}
	}
	var ps []string
	for p := range protos {
		ps = append(ps, p)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ps))) // 53/UDP before 53/TCP
	return len(readyPods), ps, nil
}

// StorageBinds proves that a PersistentVolumeClaim that names no StorageClass gets a volume, as
// every chart of the series asks for one: the cluster must have exactly one default
// StorageClass, and a 1Mi claim in a temporary namespace (mlops-series-check-<random>) must
// become Bound. A small non-root pod mounts the claim, so that classes that bind only for a
// consumer (WaitForFirstConsumer, kind's local-path) bind too. The namespace is deleted when the
// check ends, passed, failed or cancelled. The summary names the class and the time to bind.
func StorageBinds(ctx context.Context, cs kubernetes.Interface) (msg string, err error) {
	sc, err := defaultStorageClass(ctx, cs)
	if err != nil {
		return "", err
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   StorageCheckNamespacePrefix + utilrand.String(5),
		Labels: storageCheckLabels(),
	}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create namespace %s: %w", ns.Name, err)
	}
	defer func() {
		// Also on failure and on Ctrl-C: ctx may be done, the cleanup is not.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		derr := cs.CoreV1().Namespaces().Delete(dctx, ns.Name, metav1.DeleteOptions{})
		if derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("delete namespace %s (delete it by hand: kubectl delete namespace %s): %w", ns.Name, ns.Name, derr))
		}
	}()

	// The namespace's ServiceAccount "default" comes from the controller manager a moment later;
	// until then pods are refused.
	if _, err := poll(ctx, func(ctx context.Context) (string, []string, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", []string{fmt.Sprintf("namespace %s has no ServiceAccount default yet (is kube-controller-manager running?)", ns.Name)}, nil
		}
		return "", nil, err
	}); err != nil {
		return "", err
	}

	const name = "storage-check"
	start := time.Now()
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns.Name).Create(ctx, storageCheckClaim(ns.Name, name), metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create persistentvolumeclaim %s/%s: %w", ns.Name, name, err)
	}
	pod := storageCheckPod(ns.Name, name)
	if _, err := cs.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create pod %s/%s: %w", ns.Name, pod.Name, err)
	}

	var bound time.Duration
	var volume string
	_, err = poll(ctx, func(ctx context.Context) (string, []string, error) {
		got, err := cs.CoreV1().PersistentVolumeClaims(ns.Name).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", nil, fmt.Errorf("get persistentvolumeclaim %s/%s: %w", ns.Name, name, err)
		}
		if got.Status.Phase != corev1.ClaimBound {
			return "", []string{fmt.Sprintf("persistentvolumeclaim %s/%s is %s after %s (StorageClass %s)",
				ns.Name, name, phaseOr(got.Status.Phase), time.Since(start).Round(100*time.Millisecond), scDescription(sc))}, nil
		}
		bound, volume = time.Since(start), got.Spec.VolumeName
		return "", nil, nil
	})
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, strings.TrimRight(storageEvidence(ctx, cs, ns.Name, name), "\n"))
	}
	return fmt.Sprintf("a 1Mi claim bound in %s to %s (default StorageClass %s)",
		bound.Round(10*time.Millisecond), volume, scDescription(sc)), nil
}

// StorageCheckNamespacePrefix starts the name of StorageBinds' temporary namespace.
const StorageCheckNamespacePrefix = "mlops-series-check-"

// StorageCheckImage is the image of StorageBinds' pod: it only has to start and hold the volume.
const StorageCheckImage = "registry.k8s.io/pause:3.10"

// defaultStorageClass returns the one default StorageClass, or says why there is not exactly one.
func defaultStorageClass(ctx context.Context, cs kubernetes.Interface) (*storagev1.StorageClass, error) {
	list, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list storageclasses: %w", err)
	}
	var defaults, all []string
	var found *storagev1.StorageClass
	for i := range list.Items {
		sc := &list.Items[i]
		all = append(all, sc.Name)
		if isDefaultClass(sc) {
			defaults = append(defaults, sc.Name)
			found = sc
		}
	}
	sort.Strings(all)
	sort.Strings(defaults)
	switch len(defaults) {
	case 1:
		return found, nil
	case 0:
		have := "the cluster has no StorageClass at all"
		if len(all) > 0 {
			have = "StorageClasses: " + strings.Join(all, ", ")
		}
		return nil, fmt.Errorf("no default StorageClass (%s): claims that name no class, as the series' charts make, stay Pending; "+
			"mark one as the default: kubectl annotate storageclass NAME %s=true", have, defaultClassAnnotation)
	default:
		return nil, fmt.Errorf("%d default StorageClasses (%s): a claim that names no class gets the newest of them; "+
			"keep one: kubectl annotate storageclass NAME %s-", len(defaults), strings.Join(defaults, ", "), defaultClassAnnotation)
	}
}

const (
	defaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

func isDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[defaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true"
}

// scDescription is "standard (rancher.io/local-path, WaitForFirstConsumer)".
func scDescription(sc *storagev1.StorageClass) string {
	mode := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		mode = string(*sc.VolumeBindingMode)
	}
	return fmt.Sprintf("%s (%s, %s)", sc.Name, sc.Provisioner, mode)
}

func phaseOr(p corev1.PersistentVolumeClaimPhase) string {
	if p == "" {
		return "without a phase"
	}
	return string(p)
}

// storageCheckLabels mark what StorageBinds creates.
func storageCheckLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "mlops-series", "app.kubernetes.io/component": "check"}
}

// storageCheckClaim asks for 1Mi and names no StorageClass: the default class is what is checked.
func storageCheckClaim(namespace, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: storageCheckLabels()},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Mi"),
			}},
		},
	}
}

// storageCheckPod mounts the claim: a pause container, non-root, with nothing it does not need.
// It is named after the claim with "-pod" appended.
func storageCheckPod(namespace, claim string) *corev1.Pod {
	uid := int64(65535)
	no, yes := false, true
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: claim + "-pod", Namespace: namespace, Labels: storageCheckLabels()},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  &no,
			TerminationGracePeriodSeconds: &grace,
			EnableServiceLinks:            &no,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   &yes,
				RunAsUser:      &uid,
				RunAsGroup:     &uid,
				FSGroup:        &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "pause",
				Image: StorageCheckImage,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("8Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no,
					ReadOnlyRootFilesystem:   &yes,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}},
		},
	}
}

// storageEvidence is what explains an unbound claim: its events (the provisioner's and the
// binder's words) and the state and events of the pod that mounts it.
func storageEvidence(ctx context.Context, cs kubernetes.Interface, namespace, name string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var b strings.Builder
	evs, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.kind", "PersistentVolumeClaim"),
		fields.OneTermEqualSelector("involvedObject.name", name),
	).String()})
	switch {
	case err != nil:
		fmt.Fprintf(&b, "  (could not list the claim's events: %v)\n", err)
	case len(evs.Items) == 0:
		b.WriteString("  claim events: none (no provisioner has acted on it)\n")
	default:
		sort.Slice(evs.Items, func(i, j int) bool { return ready.EventTime(evs.Items[i]).Before(ready.EventTime(evs.Items[j])) })
		items := evs.Items
		if len(items) > 5 {
			items = items[len(items)-5:]
		}
		for _, e := range items {
			fmt.Fprintf(&b, "  claim event %s %s: %s\n", e.Type, e.Reason, strings.TrimSpace(e.Message))
		}
	}
	b.WriteString(ready.Explain(ctx, cs, namespace, "app.kubernetes.io/component=check", ready.Options{Events: 3, LogLines: 1}))
	return b.String()
}

// KubernetesVersion checks that the apiserver runs the wanted Kubernetes version: want is
// "v1.37" (any patch release of 1.37) or "v1.37.2" (exactly that release); the leading v is
// optional. Build suffixes of the server's version (v1.37.2+k3s1, -gke.100) are ignored.
func KubernetesVersion(ctx context.Context, cs kubernetes.Interface, want string) (string, error) {
	w, err := utilversion.ParseGeneric(want)
	if err != nil || strings.Count(strings.TrimPrefix(strings.TrimSpace(want), "v"), ".") < 1 {
		return "", fmt.Errorf("params.version %q: want a Kubernetes version as vMAJOR.MINOR, like v1.37", want)
	}
	withPatch := strings.Count(strings.TrimPrefix(strings.TrimSpace(want), "v"), ".") >= 2

	body, err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("get server version: %w", err)
	}
	var info apimachineryversion.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return "", fmt.Errorf("get server version: decode %q: %w", string(body), err)
	}
	got, err := utilversion.ParseGeneric(info.GitVersion)
	if err != nil {
		return "", fmt.Errorf("server version %q is not a Kubernetes version: %w", info.GitVersion, err)
	}
	same := got.Major() == w.Major() && got.Minor() == w.Minor() && (!withPatch || got.Patch() == w.Patch())
	if !same {
		wanted := fmt.Sprintf("v%d.%d", w.Major(), w.Minor())
		if withPatch {
			wanted = fmt.Sprintf("v%d.%d.%d", w.Major(), w.Minor(), w.Patch())
		}
		return "", fmt.Errorf("the cluster runs Kubernetes %s, the chapter is written for %s: "+
			"recreate the cluster with the series' node image (kind-config.yaml), or point --context at a %s cluster",
			info.GitVersion, wanted, wanted)
	}
	return fmt.Sprintf("Kubernetes %s (wanted %s)", info.GitVersion, strings.TrimSpace(want)), nil
}

// poll calls once until it reports no problems (returning its summary), fails, or ctx ends
// (returning the last problems it saw).
func poll(ctx context.Context, once func(context.Context) (string, []string, error)) (string, error) {
	var last []string
	var lastErr error
	for {
		msg, problems, err := once(ctx)
		if err == nil && len(problems) == 0 {
			return msg, nil
		}
		if err != nil {
			// An error the deadline itself caused (the context ended, or client-go's rate limiter
			// refusing to wait past it) says nothing about the cluster: it must not hide what the
			// last attempt that got an answer saw.
			if ctx.Err() == nil && !deadlineCaused(err) {
				lastErr = err
			}
		} else {
			last, lastErr = problems, nil
		}
		select {
		case <-ctx.Done():
			switch {
			case lastErr != nil:
				return "", lastErr
			case len(last) > 0:
				return "", errors.New(strings.Join(last, "; "))
			}
			return "", ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// deadlineCaused reports an error that comes from the caller's deadline rather than from the
// cluster: the context's own error, or client-go's rate limiter declining a wait that would end
// after the deadline ("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed
// context deadline"; golang.org/x/time/rate returns it as a plain error, before the context
// ends).
func deadlineCaused(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "would exceed context deadline")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// listShort joins up to limit names and says how many more there are.
func listShort(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:limit], ", "), len(names)-limit)
}
