package check

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/series"
)

// runJupyterHubKernel runs a jupyterhub-kernel check: the token from its Secret, and the code that
// logs to MLflow when the registry's chapter is installed (or reached through its --endpoint),
// otherwise the code that only computes.
func (r *Runner) runJupyterHubKernel(ctx context.Context, in Input) (string, error) {
	ck := in.Check
	token, err := r.secretValue(ctx, in.Chapter, ck.Component, JupyterHubParamTokenSecret, ck.Params[JupyterHubParamTokenSecret])
	if err != nil {
		return "", err
	}
	j := JupyterHubKernel{Token: token, User: ck.Params[JupyterHubParamUser], CodeName: ck.Params[JupyterHubParamCode]}
	if reg := ck.Params[JupyterHubParamRegistry]; reg != "" {
		port, _ := strconv.Atoi(ck.Params[JupyterHubParamRegistryPort])
		base, stop, err := r.optionalEndpoint(ctx, reg, port)
		if err != nil {
			return "", fmt.Errorf("jupyterhub-kernel: the registry %s: %w", reg, err)
		}
		if base != "" {
			defer stop()
			j.Registry, j.CodeName = base, ck.Params[JupyterHubParamRegistryCode]
		}
	}
	if j.Code, err = r.chapterFile(in.Chapter, j.CodeName); err != nil {
		return "", fmt.Errorf("jupyterhub-kernel: %w", err)
	}
	return j.Run(ctx, in.HTTP, in.Base)
}

// runTensorBoardScalars runs a tensorboard-scalars check.
func runTensorBoardScalars(ctx context.Context, in Input) (string, error) {
	return TensorBoardScalars{RunName: in.Check.Params[TensorBoardParamRun], Tags: splitList(in.Check.Params[TensorBoardParamTags])}.
		Run(ctx, in.HTTP, in.Base)
}

// secretValue reads ref ("secret/key") from the namespace of the chapter's component; param names
// the check's param in errors.
func (r *Runner) secretValue(ctx context.Context, ch *series.Chapter, component, param, ref string) (string, error) {
	if r.CS == nil {
		return "", fmt.Errorf("params.%s: the secret %s is read from the cluster, and there is none (%s)", param, ref, r.NoCluster)
	}
	owner, comp, err := r.component(ch, component)
	if err != nil {
		return "", err
	}
	name, key, _ := strings.Cut(ref, "/")
	sec, err := r.CS.CoreV1().Secrets(comp.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("secret %s/%s (params.%s) not found: is %s installed?", comp.Namespace, name, param, owner.ID())
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s/%s: %w", comp.Namespace, name, err)
	}
	v, ok := sec.Data[key]
	if !ok {
		return "", fmt.Errorf("secret %s/%s has no key %q (params.%s)", comp.Namespace, name, key, param)
	}
	return string(v), nil
}

// optionalEndpoint reaches "chapter-N/component" at port when that chapter is installed, whether
// or not the check's chapter requires it: its --endpoint, or a port-forward to its Service. It
// returns "" (and no error) when the component's Service is not in the cluster.
func (r *Runner) optionalEndpoint(ctx context.Context, ref string, port int) (string, func(), error) {
	chID, name, ok := strings.Cut(ref, "/")
	if !ok {
		chID, name = "", ref
	}
	if u, ok := r.Endpoints[name]; ok {
		return strings.TrimSuffix(u, "/"), func() {}, nil
	}
	if r.CS == nil {
		return "", nil, nil
	}
	if r.Lib == nil || chID == "" {
		return "", nil, fmt.Errorf("want chapter-N/component, got %q", ref)
	}
	ch, err := r.Lib.Chapter(chID)
	if err != nil {
		return "", nil, err
	}
	comp, ok := ch.Component(name)
	if !ok {
		return "", nil, fmt.Errorf("%s has no component %s", ch.ID(), name)
	}
	if _, err := r.CS.CoreV1().Services(comp.Namespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return "", nil, nil
	} else if err != nil {
		return "", nil, fmt.Errorf("look for service %s/%s: %w", comp.Namespace, name, err)
	}
	fw, err := ForwardService(ctx, r.CS, r.REST, comp.Namespace, name, port)
	if err != nil {
		return "", nil, err
	}
	return fw.URL(), fw.Close, nil
}

// validateJupyterHubKernel: a registry needs the code that logs to it and its port.
func validateJupyterHubKernel(_ *series.Chapter, ck series.Check) []series.FieldProblem {
	var out []series.FieldProblem
	if ref := ck.Params[JupyterHubParamTokenSecret]; !strings.Contains(ref, "/") {
		out = append(out, series.FieldProblem{Field: "params." + JupyterHubParamTokenSecret, Message: fmt.Sprintf("want secret/key, got %q", ref)})
	}
	if reg := ck.Params[JupyterHubParamRegistry]; reg != "" {
		if !strings.Contains(reg, "/") {
			out = append(out, series.FieldProblem{Field: "params." + JupyterHubParamRegistry, Message: fmt.Sprintf("want chapter-N/component, got %q", reg)})
		}
		if ck.Params[JupyterHubParamRegistryCode] == "" {
			out = append(out, series.FieldProblem{Field: "params." + JupyterHubParamRegistryCode, Message: "a registry needs the code that logs to it"})
		}
		if p, err := strconv.Atoi(ck.Params[JupyterHubParamRegistryPort]); err != nil || p <= 0 || p > 65535 {
			out = append(out, series.FieldProblem{Field: "params." + JupyterHubParamRegistryPort, Message: fmt.Sprintf("want the registry's Service port, got %q", ck.Params[JupyterHubParamRegistryPort])})
		}
	}
	return out
}
