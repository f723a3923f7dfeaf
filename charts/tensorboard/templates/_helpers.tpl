{{/*
Named templates shared by the tensorboard chart's manifests.
*/}}

{{- define "tensorboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tensorboard.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "tensorboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tensorboard.labels" -}}
app.kubernetes.io/name: {{ include "tensorboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "tensorboard.chart" . }}
{{- end }}

{{/* The server's pods (the Job's pods carry component "example"). */}}
{{- define "tensorboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tensorboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "tensorboard.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The pod settings the server and the Job share. */}}
{{- define "tensorboard.podCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
A digest of what the Job does (image, epochs). It names the Job: an unchanged release keeps the
completed Job and does not run it again; a change gives a new Job.
*/}}
{{- define "tensorboard.exampleChecksum" -}}
{{- list (include "tensorboard.image" .) .Values.example.epochs | toJson | sha256sum | trunc 10 }}
{{- end }}
