{{/*
Named templates shared by the serving chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "serving.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: the release name unless fullnameOverride. */}}
{{- define "serving.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "serving.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels on every object, except app.kubernetes.io/component (set per object). */}}
{{- define "serving.labels" -}}
app.kubernetes.io/name: {{ include "serving.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "serving.chart" . }}
{{- end }}

{{/*
The labels that select the app's pods. The component label keeps the Job's pods (same name and
instance) out of the Deployment and the Service.
*/}}
{{- define "serving.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serving.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: model-server
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "serving.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The environment the app and the Job share: where the registry is and which model to use. */}}
{{- define "serving.env" -}}
- name: MLFLOW_TRACKING_URI
  value: {{ .Values.mlflow.trackingURI | quote }}
- name: MODEL_NAME
  value: {{ .Values.model.name | quote }}
- name: MODEL_ALIAS
  value: {{ .Values.model.alias | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
A short digest of what the Job does: the image, the registry and the model. It names the Job: a
Job cannot be changed in place, so a change gives a new Job (and Helm deletes the old one), while
an unchanged release keeps the completed Job and does not run it again.
*/}}
{{- define "serving.registerChecksum" -}}
{{- list (include "serving.image" .) .Values.mlflow .Values.model.name .Values.model.alias .Values.register.experiment .Values.extraEnv | toJson | sha256sum | trunc 10 }}
{{- end }}
