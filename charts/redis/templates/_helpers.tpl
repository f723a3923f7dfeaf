{{/*
Named templates shared by the redis chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "redis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: the release name unless fullnameOverride. Clients find the server at
<fullname>.<namespace>:<port>, so naming it after the release keeps that address obvious.
*/}}
{{- define "redis.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "redis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels that select this release's pods; they never change after install. */}}
{{- define "redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels on every object. */}}
{{- define "redis.labels" -}}
{{ include "redis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "redis.chart" . }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "redis.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default (printf "%s-alpine" .Chart.AppVersion)) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The Secret holding the password: the user's existing one, or the chart's own. */}}
{{- define "redis.secretName" -}}
{{- default (include "redis.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/* The key of the password in that Secret. */}}
{{- define "redis.passwordKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretKey | default "password" }}
{{- else -}}
password
{{- end }}
{{- end }}

{{/* The in-cluster DNS name of the Service, for the connection details in the Secret and NOTES. */}}
{{- define "redis.host" -}}
{{- printf "%s.%s.svc" (include "redis.fullname" .) .Release.Namespace }}
{{- end }}
