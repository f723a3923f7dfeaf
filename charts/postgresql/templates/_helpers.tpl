{{/*
Named templates shared by the postgresql chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "postgresql.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: the release name unless fullnameOverride. Clients find the database at
<fullname>.<namespace>:<port>, so naming it after the release keeps that address obvious.
*/}}
{{- define "postgresql.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "postgresql.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels that select this release's pods; they never change after install. */}}
{{- define "postgresql.selectorLabels" -}}
app.kubernetes.io/name: {{ include "postgresql.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels on every object. */}}
{{- define "postgresql.labels" -}}
{{ include "postgresql.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "postgresql.chart" . }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "postgresql.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The Secret holding the password: the user's existing one, or the chart's own. */}}
{{- define "postgresql.secretName" -}}
{{- default (include "postgresql.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/* The key of the password in that Secret. */}}
{{- define "postgresql.passwordKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.secretKeys.passwordKey | default "password" }}
{{- else -}}
password
{{- end }}
{{- end }}

{{/* PGDATA: a folder inside the mounted volume, never the mount point itself. */}}
{{- define "postgresql.pgdata" -}}
{{- printf "%s/%s" (.Values.persistence.mountPath | trimSuffix "/") (.Values.persistence.subPath | default "pgdata") }}
{{- end }}

{{/* The in-cluster DNS name of the Service, for the connection details in the Secret and NOTES. */}}
{{- define "postgresql.host" -}}
{{- printf "%s.%s.svc" (include "postgresql.fullname" .) .Release.Namespace }}
{{- end }}
