{{/*
Named templates shared by the prometheus chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label of the server: the chart name unless nameOverride. */}}
{{- define "prometheus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the server's objects: the release name unless fullnameOverride. */}}
{{- define "prometheus.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the Pushgateway's objects: <release>-pushgateway unless pushgateway.fullnameOverride. */}}
{{- define "prometheus.pushgateway.fullname" -}}
{{- default (printf "%s-pushgateway" .Release.Name) .Values.pushgateway.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "prometheus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels that select the server's pod; they never change after install. */}}
{{- define "prometheus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "prometheus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The labels that select the Pushgateway's pod. Its own app.kubernetes.io/name keeps the server's
Service from selecting it; app.kubernetes.io/instance is the release, as for every pod of the release.
*/}}
{{- define "prometheus.pushgateway.selectorLabels" -}}
app.kubernetes.io/name: pushgateway
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels every object of the release carries. */}}
{{- define "prometheus.commonLabels" -}}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "prometheus.chart" . }}
{{- end }}

{{/* The standard labels of the server's objects. */}}
{{- define "prometheus.labels" -}}
{{ include "prometheus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: server
{{ include "prometheus.commonLabels" . }}
{{- end }}

{{/* The standard labels of the Pushgateway's objects. */}}
{{- define "prometheus.pushgateway.labels" -}}
{{ include "prometheus.pushgateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.pushgateway.image.tag | trimPrefix "v" | quote }}
app.kubernetes.io/component: pushgateway
{{ include "prometheus.commonLabels" . }}
{{- end }}

{{/* The ServiceAccount the server runs as. */}}
{{- define "prometheus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "prometheus.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The name of the ClusterRole and its binding. Cluster-scoped names are shared by every namespace, so
the namespace is part of the name: two releases in two namespaces do not overwrite each other.
*/}}
{{- define "prometheus.clusterRoleName" -}}
{{- printf "%s-%s" .Release.Namespace (include "prometheus.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "prometheus.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default (printf "v%s" .Chart.AppVersion)) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{- define "prometheus.pushgateway.image" -}}
{{- $img := .Values.pushgateway.image }}
{{- $ref := printf "%s:%s" $img.repository $img.tag }}
{{- if $img.digest }}
{{- $ref = printf "%s@%s" $ref $img.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
prometheus.yml: what Prometheus scrapes and how it labels what it stores.

Every job ends up with the labels job and instance (host:port of the target). The pod job adds
namespace, pod and the pod's app.kubernetes.io/{name,instance,component} labels as app, release and
component, so a query can ask for one tool (up{namespace="mlflow", release="mlflow"}) or one chapter's
release without knowing pod names.
*/}}
{{- define "prometheus.config" -}}
{{- $sa := "/var/run/secrets/kubernetes.io/serviceaccount" -}}
global:
  scrape_interval: {{ .Values.server.scrapeInterval }}
  scrape_timeout: {{ .Values.server.scrapeTimeout }}
  evaluation_interval: {{ .Values.server.evaluationInterval }}
  {{- with .Values.server.externalLabels }}
  external_labels:
    {{- toYaml . | nindent 4 }}
  {{- end }}

scrape_configs:
  # Prometheus itself: its own /metrics, over the pod's loopback interface.
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{{ .Values.server.port }}"]
  {{- if .Values.pushgateway.enabled }}

  # The Pushgateway. honor_labels keeps the job and instance labels of what was pushed (e.g.
  # job="mlops_series" for the CLI's metrics) instead of overwriting them with this job's own.
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["{{ include "prometheus.pushgateway.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.pushgateway.service.port }}"]
  {{- end }}
  {{- if .Values.scrape.pods.enabled }}

  # Every running pod annotated prometheus.io/scrape: "true", found through the Kubernetes API.
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        {{- with .Values.scrape.pods.namespaces }}
        namespaces:
          names:
            {{- toYaml . | nindent 12 }}
        {{- end }}
    relabel_configs:
      # Only annotated pods, and only while they run (not Pending, Succeeded or Failed).
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        regex: "true"
        action: keep
      - source_labels: [__meta_kubernetes_pod_phase]
        regex: Running
        action: keep
      # Init containers come and go: their ports are no targets.
      - source_labels: [__meta_kubernetes_pod_container_init]
        regex: "true"
        action: drop
      # prometheus.io/scheme and prometheus.io/path, when set.
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
        regex: (https?)
        target_label: __scheme__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        regex: (.+)
        target_label: __metrics_path__
      # <pod IP>:<prometheus.io/port>; an IPv6 pod IP goes in brackets. The discovery yields one
      # target per container port of the pod; with the same address and labels they are one target.
      - source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port]
        regex: ([^:]+);(\d+)
        replacement: $1:$2
        target_label: __address__
      - source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port]
        regex: (.+:.+);(\d+)
        replacement: "[$1]:$2"
        target_label: __address__
      # Where the series come from.
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_node_name]
        target_label: node
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
        target_label: app
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_instance]
        target_label: release
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_component]
        target_label: component
  {{- end }}
  {{- if .Values.scrape.kubelet.enabled }}

  # Each node's kubelet (its own metrics) and cAdvisor inside it (CPU, memory, network and file
  # system use of every container). The kubelet's HTTPS API accepts the ServiceAccount's token
  # (the ClusterRole grants get on nodes/metrics).
  - job_name: kubelet
    scheme: https
    authorization:
      credentials_file: {{ $sa }}/token
    tls_config:
      ca_file: {{ $sa }}/ca.crt
      insecure_skip_verify: {{ .Values.scrape.kubelet.insecureSkipVerify }}
    kubernetes_sd_configs:
      - role: node
    relabel_configs:
      - source_labels: [__meta_kubernetes_node_address_InternalIP]
        regex: (.+)
        replacement: $1:{{ .Values.scrape.kubelet.port }}
        target_label: __address__
      - source_labels: [__meta_kubernetes_node_name]
        target_label: node
  - job_name: kubernetes-cadvisor
    scheme: https
    metrics_path: /metrics/cadvisor
    authorization:
      credentials_file: {{ $sa }}/token
    tls_config:
      ca_file: {{ $sa }}/ca.crt
      insecure_skip_verify: {{ .Values.scrape.kubelet.insecureSkipVerify }}
    kubernetes_sd_configs:
      - role: node
    relabel_configs:
      - source_labels: [__meta_kubernetes_node_address_InternalIP]
        regex: (.+)
        replacement: $1:{{ .Values.scrape.kubelet.port }}
        target_label: __address__
      - source_labels: [__meta_kubernetes_node_name]
        target_label: node
  {{- end }}
  {{- with .Values.scrape.extraScrapeConfigs }}

  # scrape.extraScrapeConfigs
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
