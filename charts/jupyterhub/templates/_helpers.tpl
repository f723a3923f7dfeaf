{{/*
Named templates shared by the jupyterhub chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "jupyterhub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the objects: the release name unless fullnameOverride. */}}
{{- define "jupyterhub.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "jupyterhub.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels on every object, except app.kubernetes.io/component (set per object). */}}
{{- define "jupyterhub.labels" -}}
app.kubernetes.io/name: {{ include "jupyterhub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "jupyterhub.chart" . }}
{{- end }}

{{/* The labels that select the hub pod (not the users' pods, which KubeSpawner labels itself). */}}
{{- define "jupyterhub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jupyterhub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: hub
{{- end }}

{{/* The Secret holding the login password and the check service's token. */}}
{{- define "jupyterhub.loginSecret" -}}
{{- printf "%s-login" (include "jupyterhub.fullname" .) }}
{{- end }}

{{/* The Service of the hub's API. */}}
{{- define "jupyterhub.apiService" -}}
{{- printf "%s-api" (include "jupyterhub.fullname" .) }}
{{- end }}

{{/* repository:tag[@digest] of the hub image. */}}
{{- define "jupyterhub.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* settings.json: what files/jupyterhub_config.py reads. */}}
{{- define "jupyterhub.settings" -}}
{{- $su := .Values.singleuser -}}
{{- dict
  "bind" "0.0.0.0"
  "port" .Values.hub.port
  "apiPort" .Values.hub.apiPort
  "hubConnectURL" (printf "http://%s.%s:%d" (include "jupyterhub.apiService" .) .Release.Namespace (int .Values.hub.apiPort))
  "logLevel" .Values.hub.logLevel
  "dataDir" "/srv/jupyterhub/data"
  "runDir" "/tmp"
  "users" .Values.login.users
  "checkService" (ternary .Values.checkService.name "" .Values.checkService.enabled)
  "spawner" (dict
    "kind" "kubernetes"
    "namespace" .Release.Namespace
    "image" (printf "%s:%s" $su.image.repository $su.image.tag)
    "pullPolicy" $su.image.pullPolicy
    "defaultUrl" $su.defaultUrl
    "startTimeout" $su.startTimeout
    "memory" $su.memory
    "cpu" $su.cpu
    "storage" $su.storage
    "env" $su.env)
  | toPrettyJson }}
{{- end }}
