// Package cluster provides the Kubernetes cluster the chapters are deployed onto: a kind cluster
// made by the kind Go library (the default), or an existing cluster named by kubeconfig/context.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Provider names the provisioner that reached a cluster.
type Provider string

// The provisioners.
const (
	ProviderKind      Provider = "kind"
	ProviderTerraform Provider = "terraform"
	ProviderExisting  Provider = "existing"
)

// Sentinel errors of the provisioners; match them with errors.Is.
var (
	// ErrNotExist: the cluster does not exist (Connect never creates one).
	ErrNotExist = errors.New("cluster does not exist")
	// ErrNotCreated: mlops-series did not create the cluster, so Delete leaves it as it is.
	ErrNotCreated = errors.New("cluster not created by mlops-series")
)

// kindError is an error that also matches a sentinel (errors.Is) while keeping its own message
// and its own wrapped cause.
type kindError struct {
	err, kind error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// withKind makes err match the sentinel kind.
func withKind(kind, err error) error { return &kindError{err: err, kind: kind} }

// Cluster is a reachable cluster.
type Cluster struct {
	// Provider is the provisioner that reached it.
	Provider Provider
	// Name is the kind cluster name, or the kubeconfig context.
	Name string
	// Kubeconfig is a file path (may be empty: client-go's default loading rules), Context its context.
	Kubeconfig string
	Context    string
	REST       *rest.Config
	CS         kubernetes.Interface
	// Version is the server's Kubernetes version (gitVersion).
	Version string
	// Created is true when this run created the cluster.
	Created bool
}

// Provisioner makes a cluster available.
type Provisioner interface {
	// Name of the provisioner ("kind", "existing").
	Name() string
	// Ensure returns the cluster, creating it if the provisioner can and it does not exist.
	Ensure(ctx context.Context) (*Cluster, error)
	// Connect returns the cluster if it exists and answers; it never creates anything.
	Connect(ctx context.Context) (*Cluster, error)
	// Delete removes the cluster, only if this tool created it (as the provisioner's own record
	// says: the marker ConfigMap, the Terraform state); otherwise it returns an error matching
	// ErrNotCreated and leaves the cluster as it is.
	Delete(ctx context.Context) error
}

// Connect loads a kubeconfig (path may be empty for the default loading rules) and context
// (empty: the current context), and checks that the API server answers.
func connect(ctx context.Context, provider Provider, kubeconfig, kubeContext string) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		if _, err := os.Stat(kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
		rules.ExplicitPath = kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	name := kubeContext
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("no kubeconfig context: pass --context NAME (contexts: %s), or omit --context to use the kind cluster", contextNames(raw.Contexts))
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, fmt.Errorf("context %q not found in kubeconfig (contexts: %s)", name, contextNames(raw.Contexts))
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %s: %w", name, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for context %s: %w", name, err)
	}
	version, err := serverVersion(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster of context %s at %s is unreachable: %w; check it with `kubectl --context %s get nodes`", name, cfg.Host, err, name)
	}
	return &Cluster{Provider: provider, Name: name, Kubeconfig: kubeconfig, Context: name, REST: cfg, CS: cs, Version: version}, nil
}

func serverVersion(ctx context.Context, cfg *rest.Config) (string, error) {
	c := rest.CopyConfig(cfg)
	c.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return "", err
	}
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{v: v.GitVersion}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		return r.v, r.err
	}
}

func contextNames[T any](m map[string]T) string {
	if len(m) == 0 {
		return "none"
	}
	s := ""
	for k := range m {
		if s != "" {
			s += ", "
		}
		s += k
	}
	return s
}

// Existing is a cluster the user already has; nothing is provisioned or deleted.
type Existing struct {
	Kubeconfig string
	Context    string
}

// Name implements Provisioner.
func (e *Existing) Name() string { return "existing" }

// Ensure connects; an existing cluster is never created.
func (e *Existing) Ensure(ctx context.Context) (*Cluster, error) { return e.Connect(ctx) }

// Connect implements Provisioner.
func (e *Existing) Connect(ctx context.Context) (*Cluster, error) {
	return connect(ctx, ProviderExisting, e.Kubeconfig, e.Context)
}

// Delete refuses: mlops-series never deletes a cluster it did not create.
func (e *Existing) Delete(context.Context) error {
	return withKind(ErrNotCreated, fmt.Errorf("not deleting cluster of context %q: mlops-series deletes only the kind cluster it created", e.Context))
}
