{{/* Named templates shared by the flux chart's manifests. */}}

{{/* The standard labels of one controller's objects (argument: a dict with root and name). */}}
{{- define "flux.labels" -}}
{{ include "flux.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: gitops
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* The labels that select one controller's pod. */}}
{{- define "flux.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* An image reference (argument: a dict with root and image). */}}
{{- define "flux.image" -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end }}

{{/* The arguments both controllers share. */}}
{{- define "flux.commonArgs" -}}
- --watch-all-namespaces={{ .Values.watchAllNamespaces }}
- --log-level=info
- --log-encoding={{ .Values.logEncoding }}
# One replica: no leader election (and no Lease to write).
- --enable-leader-election=false
- --metrics-addr=:8080
- --health-addr=:9440
{{- end }}

{{/* The security settings both controllers' pods share: Flux's images run as nobody (65534). */}}
{{- define "flux.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
fsGroup: 65534
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "flux.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}
