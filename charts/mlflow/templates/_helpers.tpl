{{/*
Named templates shared by the mlflow chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "mlflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: the release name unless fullnameOverride. */}}
{{- define "mlflow.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "mlflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels that select this release's pods; they never change after install. */}}
{{- define "mlflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels on every object. */}}
{{- define "mlflow.labels" -}}
{{ include "mlflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: tracking-server
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "mlflow.chart" . }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "mlflow.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default (printf "v%s-full" .Chart.AppVersion)) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* true when the chart builds a PostgreSQL URI itself (backendStore.uri is empty). */}}
{{- define "mlflow.usePostgres" -}}
{{- if not .Values.backendStore.uri }}true{{ end }}
{{- end }}

{{/*
The backend store URI given to `mlflow server --backend-store-uri`. For PostgreSQL it carries no
password: libpq takes it from the PGPASSWORD environment variable.
*/}}
{{- define "mlflow.backendStoreURI" -}}
{{- if .Values.backendStore.uri }}
{{- .Values.backendStore.uri }}
{{- else }}
{{- $pg := .Values.backendStore.postgres }}
{{- $scheme := "postgresql" }}
{{- if $pg.driver }}
{{- $scheme = printf "postgresql+%s" $pg.driver }}
{{- end }}
{{- printf "%s://%s@%s:%v/%s" $scheme ($pg.username | urlquery) $pg.host $pg.port $pg.database }}
{{- end }}
{{- end }}

{{/*
The Host header values the server accepts (MLFLOW_SERVER_ALLOWED_HOSTS), comma-separated:
the Service's names with and without the port, localhost on any port (port-forward), optionally the
private IPv4 ranges (pod and Service IPs), then server.allowedHosts.extra.
*/}}
{{- define "mlflow.allowedHosts" -}}
{{- $name := include "mlflow.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $port := .Values.service.port | toString }}
{{- $hosts := list }}
{{- range (list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.%s" $name $ns .Values.clusterDomain)) }}
{{- $hosts = append $hosts . }}
{{- $hosts = append $hosts (printf "%s:%s" . $port) }}
{{- end }}
{{- $hosts = concat $hosts (list "localhost" "localhost:*" "127.0.0.1" "127.0.0.1:*") }}
{{- if .Values.server.allowedHosts.privateNetworks }}
{{- $hosts = append $hosts "10.*" }}
{{- range $i := untilStep 16 32 1 }}
{{- $hosts = append $hosts (printf "172.%d.*" $i) }}
{{- end }}
{{- $hosts = append $hosts "192.168.*" }}
{{- end }}
{{- $hosts = concat $hosts (.Values.server.allowedHosts.extra | default list) }}
{{- $hosts | uniq | join "," }}
{{- end }}
