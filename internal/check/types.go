package check

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"k8s.io/client-go/dynamic"

	"github.com/mlops-series/mlops-series/internal/series"
)

// The check types of this binary (a spec's checks[].type).
const (
	TypePods                = "pods"
	TypeNodes               = "nodes"
	TypeCoreDNS             = "coredns"
	TypeStorageBinds        = "storage-binds"
	TypeKubernetesVersion   = "kubernetes-version"
	TypeHTTP                = "http"
	TypeMLflowRoundTrip     = "mlflow-roundtrip"
	TypeAirflowDAGRun       = "airflow-dag-run"
	TypeFeastOnlineFeatures = "feast-online-features"
	TypePromQL              = "promql"
	TypeGrafanaDatasource   = "grafana-datasource"
	TypePredict             = "predict"
	TypeLoad                = "load"
	TypeJupyterHubKernel    = "jupyterhub-kernel"
	TypeTensorBoardScalars  = "tensorboard-scalars"
	TypeJenkinsJob          = "jenkins-job"
	TypeRayJob              = "ray-job"
	TypeRayCluster          = "ray-cluster"
	TypeGitHubWorkflow      = "github-workflow"
	TypeFluxSync            = "flux-sync"
	TypeFluxDrift           = "flux-drift"
)

// Type is one check type: what a spec may say of it (its params, whether it reaches a Service,
// its own rules), which validation reads, and how it runs.
type Type struct {
	series.CheckType
	// Run runs one check of this type.
	Run func(ctx context.Context, r *Runner, in Input) (string, error)
	// Local types read only the series' files: they run without a cluster, where the others
	// that are not Endpoint types are skipped.
	Local bool
}

// Input is what a check runs with.
type Input struct {
	Chapter *series.Chapter
	Check   series.Check
	// HTTP and Base (the URL of the Service or of its --endpoint) are set for Endpoint types.
	HTTP *http.Client
	Base string
}

// Types is a table of check types by name.
type Types map[string]Type

// Spec is the table as spec validation reads it (series.WithCheckTypes).
func (t Types) Spec() series.CheckTypes {
	out := make(series.CheckTypes, len(t))
	for name, typ := range t {
		out[name] = typ.CheckType
	}
	return out
}

// Validation is the option that validates specs against the check types of this binary.
func Validation() series.Option { return series.WithCheckTypes(Builtin().Spec()) }

// NeedsEndpoint says whether check c reaches a Service (and so accepts --endpoint).
func NeedsEndpoint(c series.Check) bool { return Builtin()[c.Type].Endpoint }

// credentialParams are the params of the checks that log in.
var credentialParams = []string{"username", "passwordSecret"}

// Builtin returns the table of the check types this binary runs: the one place a type is declared.
func Builtin() Types {
	return Types{
		TypePods: {
			CheckType: series.CheckType{Optional: []string{PodsParamComponents}, Validate: func(ch *series.Chapter, ck series.Check) []series.FieldProblem {
				if ck.Component == "" && len(ch.Components) == 0 {
					return []series.FieldProblem{{Field: "component", Message: "a pods check without a component checks the chapter's components, and this chapter has none: name a component of a required chapter"}}
				}
				if v, ok := ck.Params[PodsParamComponents]; ok {
					if ck.Component != "" {
						return []series.FieldProblem{{Field: "params." + PodsParamComponents, Message: "give component or params.components, not both"}}
					}
					if _, err := podsComponents(ch, v); err != nil {
						return []series.FieldProblem{{Field: "params." + PodsParamComponents, Message: err.Error()}}
					}
				}
				return nil
			}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				if in.Check.Component == "" {
					comps := in.Chapter.Components
					if v, ok := in.Check.Params[PodsParamComponents]; ok {
						var err error
						if comps, err = podsComponents(in.Chapter, v); err != nil {
							return "", err
						}
					}
					return Pods(ctx, r.CS, in.Chapter, comps)
				}
				owner, comp, err := r.component(in.Chapter, in.Check.Component)
				if err != nil {
					return "", err
				}
				return Pods(ctx, r.CS, owner, []series.Component{comp})
			},
		},
		TypeNodes: {Run: func(ctx context.Context, r *Runner, _ Input) (string, error) { return Nodes(ctx, r.CS) }},
		TypeCoreDNS: {Run: func(ctx context.Context, r *Runner, _ Input) (string, error) {
			return CoreDNS(ctx, r.CS)
		}},
		TypeStorageBinds: {Run: func(ctx context.Context, r *Runner, _ Input) (string, error) {
			return StorageBinds(ctx, r.CS)
		}},
		TypeKubernetesVersion: {
			CheckType: series.CheckType{Required: []string{"version"}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				return KubernetesVersion(ctx, r.CS, in.Check.Params["version"])
			},
		},
		TypeHTTP: {
			CheckType: series.CheckType{Endpoint: true, Validate: func(_ *series.Chapter, ck series.Check) []series.FieldProblem {
				if !strings.HasPrefix(ck.Path, "/") {
					return []series.FieldProblem{{Field: "path", Message: fmt.Sprintf("must start with /, got %q", ck.Path)}}
				}
				return nil
			}},
			Run: func(ctx context.Context, _ *Runner, in Input) (string, error) {
				return HTTP(ctx, in.HTTP, in.Base, in.Check.Path, in.Check.Expect.Status, in.Check.Expect.Body)
			},
		},
		TypeMLflowRoundTrip: {
			CheckType: series.CheckType{Endpoint: true},
			Run: func(ctx context.Context, _ *Runner, in Input) (string, error) {
				return MLflowRoundTrip(ctx, in.HTTP, in.Base)
			},
		},
		TypeAirflowDAGRun: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{"dag"}, Optional: credentialParams},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				user, pass, err := r.credentials(ctx, in.Chapter, in.Check, "admin")
				if err != nil {
					return "", err
				}
				return AirflowDAGRun{DAG: in.Check.Params["dag"], Username: user, Password: pass}.Run(ctx, in.HTTP, in.Base)
			},
		},
		TypeFeastOnlineFeatures: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{FeastParamFeatures, FeastParamEntities, FeastParamExpected}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				f, err := ParseFeastParams(in.Check.Params, func(p string) ([]byte, error) { return r.chapterFile(in.Chapter, p) })
				if err != nil {
					return "", err
				}
				return f.Run(ctx, in.HTTP, in.Base)
			},
		},
		TypePromQL: {
			CheckType: series.CheckType{Endpoint: true, Optional: []string{"query", "minSeries"}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				qs, err := r.promQL(in.Check)
				if err != nil {
					return "", err
				}
				var out []string
				for _, q := range qs {
					msg, err := q.Run(ctx, in.HTTP, in.Base)
					if err != nil {
						return "", err
					}
					out = append(out, msg)
				}
				return strings.Join(out, "; "), nil
			},
		},
		TypePredict: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{ServingParamSample},
				Optional: []string{ServingParamExpect, ServingParamClasses, ServingParamModel, ServingParamReady, ServingParamRegistry, ServingParamRegistryPort},
				Validate: validatePredict},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) { return r.runPredict(ctx, in) },
		},
		TypeLoad: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{ServingParamSample},
				Optional: []string{ServingParamRequests, ServingParamConcurrency}, Validate: validateLoad},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) { return r.runLoad(ctx, in) },
		},
		TypeJupyterHubKernel: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{JupyterHubParamTokenSecret, JupyterHubParamCode},
				Optional: []string{JupyterHubParamUser, JupyterHubParamRegistry, JupyterHubParamRegistryCode, JupyterHubParamRegistryPort},
				Validate: validateJupyterHubKernel},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) { return r.runJupyterHubKernel(ctx, in) },
		},
		TypeTensorBoardScalars: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{TensorBoardParamRun, TensorBoardParamTags}},
			Run:       func(ctx context.Context, _ *Runner, in Input) (string, error) { return runTensorBoardScalars(ctx, in) },
		},
		TypeJenkinsJob: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{"job"}, Optional: credentialParams},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				user, pass, err := r.credentials(ctx, in.Chapter, in.Check, "admin")
				if err != nil {
					return "", err
				}
				return JenkinsJob{Job: in.Check.Params["job"], User: user, Password: pass}.Run(ctx, in.HTTP, in.Base)
			},
		},
		TypeRayJob: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{RayParamEntrypoint}, Optional: []string{RayParamWorkers},
				Validate: func(_ *series.Chapter, ck series.Check) []series.FieldProblem {
					if _, err := parseRayWorkers(ck.Params[RayParamWorkers]); err != nil {
						return []series.FieldProblem{{Field: "params." + RayParamWorkers, Message: err.Error()}}
					}
					return nil
				}},
			Run: func(ctx context.Context, _ *Runner, in Input) (string, error) {
				workers, err := parseRayWorkers(in.Check.Params[RayParamWorkers])
				if err != nil {
					return "", err
				}
				return RayJob{Entrypoint: in.Check.Params[RayParamEntrypoint], Workers: workers}.Run(ctx, in.HTTP, in.Base)
			},
		},
		TypeGitHubWorkflow: {
			CheckType: series.CheckType{Required: []string{WorkflowParamFile},
				Validate: func(_ *series.Chapter, ck series.Check) []series.FieldProblem {
					f := ck.Params[WorkflowParamFile]
					if f == "" {
						return nil // reported as a missing param
					}
					if !fs.ValidPath(f) || f == "." {
						return []series.FieldProblem{{Field: "params." + WorkflowParamFile, Message: fmt.Sprintf("must be a path inside the chapter's folder, relative and without ..; got %q", f)}}
					}
					if ext := path.Ext(f); ext != ".yml" && ext != ".yaml" {
						return []series.FieldProblem{{Field: "params." + WorkflowParamFile, Message: fmt.Sprintf("must name a workflow file (.yml or .yaml); got %q", f)}}
					}
					return nil
				}},
			Local: true,
			Run: func(_ context.Context, r *Runner, in Input) (string, error) {
				f := in.Check.Params[WorkflowParamFile]
				b, err := r.chapterFile(in.Chapter, f)
				if err != nil {
					return "", fmt.Errorf("github-workflow: read %s of %s: %v", f, in.Chapter.ID(), err)
				}
				return GitHubWorkflow(f, b)
			},
		},
		TypeRayCluster: {
			CheckType: series.CheckType{Optional: []string{RayClusterParamWorkers, "name"},
				Validate: func(_ *series.Chapter, ck series.Check) []series.FieldProblem {
					var out []series.FieldProblem
					if ck.Component == "" {
						out = append(out, series.FieldProblem{Field: "component", Message: "a ray-cluster check names the component (the raycluster release) whose RayCluster it waits for"})
					}
					if v := ck.Params[RayClusterParamWorkers]; v != "" {
						if _, err := parseRayWorkers(v); err != nil {
							out = append(out, series.FieldProblem{Field: "params." + RayClusterParamWorkers, Message: strings.Replace(err.Error(), RayParamWorkers, RayClusterParamWorkers, 1)})
						}
					}
					return out
				}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				_, comp, err := r.component(in.Chapter, in.Check.Component)
				if err != nil {
					return "", err
				}
				workers := 0
				if v := in.Check.Params[RayClusterParamWorkers]; v != "" {
					if workers, err = parseRayWorkers(v); err != nil {
						return "", err
					}
				}
				dyn, err := r.dynamic(TypeRayCluster)
				if err != nil {
					return "", err
				}
				name := in.Check.Params["name"]
				if name == "" {
					name = comp.Name
				}
				return RayClusterReady(ctx, dyn, r.CS, comp.Namespace, name, workers)
			},
		},
		TypeFluxSync: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{FluxParamRepository, FluxParamKustomization},
				Validate: func(_ *series.Chapter, ck series.Check) []series.FieldProblem {
					return fluxRefProblems(ck, FluxParamKustomization)
				}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				ns, name, err := SplitRef(in.Check.Params[FluxParamKustomization])
				if err != nil {
					return "", err
				}
				dyn, err := r.dynamic(TypeFluxSync)
				if err != nil {
					return "", err
				}
				return FluxSync{GitURL: in.Base + "/" + in.Check.Params[FluxParamRepository] + ".git", Namespace: ns, Name: name}.Run(ctx, dyn)
			},
		},
		TypeFluxDrift: {
			CheckType: series.CheckType{Required: []string{FluxParamKustomization, FluxParamConfigMap},
				Validate: func(_ *series.Chapter, ck series.Check) []series.FieldProblem {
					return append(fluxRefProblems(ck, FluxParamKustomization), fluxRefProblems(ck, FluxParamConfigMap)...)
				}},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				ns, name, err := SplitRef(in.Check.Params[FluxParamKustomization])
				if err != nil {
					return "", err
				}
				cmNS, cmName, err := SplitRef(in.Check.Params[FluxParamConfigMap])
				if err != nil {
					return "", err
				}
				dyn, err := r.dynamic(TypeFluxDrift)
				if err != nil {
					return "", err
				}
				return FluxDrift{Namespace: ns, Name: name, CMNamespace: cmNS, CMName: cmName}.Run(ctx, dyn, r.CS)
			},
		},
		TypeGrafanaDatasource: {
			CheckType: series.CheckType{Endpoint: true, Required: []string{"datasource"}, Optional: credentialParams},
			Run: func(ctx context.Context, r *Runner, in Input) (string, error) {
				user, pass, err := r.credentials(ctx, in.Chapter, in.Check, "admin")
				if err != nil {
					return "", err
				}
				return GrafanaDatasource{UID: in.Check.Params["datasource"], User: user, Password: pass}.Run(ctx, in.HTTP, in.Base)
			},
		},
	}
}

// dynamic is a client for custom resources, for a check of type typ.
func (r *Runner) dynamic(typ string) (dynamic.Interface, error) {
	if r.REST == nil || r.CS == nil {
		return nil, fmt.Errorf("%s: reads objects in the cluster, and no cluster was given (an --endpoint alone is not enough)", typ)
	}
	dyn, err := dynamic.NewForConfig(r.REST)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	return dyn, nil
}
