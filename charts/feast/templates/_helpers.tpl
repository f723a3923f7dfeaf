{{/*
Named templates shared by the feast chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "feast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: the release name unless fullnameOverride (short enough for the Job's suffix). */}}
{{- define "feast.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "feast.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels on every object, except app.kubernetes.io/component (set per object). */}}
{{- define "feast.labels" -}}
app.kubernetes.io/name: {{ include "feast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "feast.chart" . }}
{{- end }}

{{/*
The labels that select the feature server's pods. The component label keeps the Job's pods (same
name and instance) out of the Deployment and the Service.
*/}}
{{- define "feast.serverSelectorLabels" -}}
app.kubernetes.io/name: {{ include "feast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: feature-server
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "feast.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
A short digest of everything the Job's result depends on: the repository files, the scripts and
commands, the online store and the image. It names the Job (a changed repository runs a new Job;
Jobs cannot be changed in place) and the marker file the Job writes when done, which the server's
init container waits for.
*/}}
{{- define "feast.repoChecksum" -}}
{{- list .Values.featureRepo .Values.onlineStore (include "feast.image" .) | toJson | sha256sum | trunc 10 }}
{{- end }}

{{/* The feature repository folder on the data volume. */}}
{{- define "feast.repoDir" -}}
{{- printf "%s/repo" (.Values.persistence.mountPath | trimSuffix "/") }}
{{- end }}

{{/* The marker file the Job writes (with the checksum) once apply and materialize succeeded. */}}
{{- define "feast.readyFile" -}}
{{- printf "%s/data/.mlops-series-applied" (include "feast.repoDir" .) }}
{{- end }}

{{/* The claim of the data volume. */}}
{{- define "feast.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "feast.fullname" .)) }}
{{- end }}

{{/*
Environment shared by the Job and the server: the online store's connection (read by
feature_store.yaml as ${REDIS_CONNECTION_STRING}), a writable HOME, and extraEnv. Kubernetes
replaces $(REDIS_PASSWORD) with the variable defined before it.
*/}}
{{- define "feast.env" -}}
{{- $r := .Values.onlineStore.redis }}
{{- $conn := printf "%s:%v" $r.host $r.port }}
{{- if $r.passwordSecret.name }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $r.passwordSecret.name }}
      key: {{ $r.passwordSecret.key | default "password" }}
{{- $conn = printf "%s,password=$(REDIS_PASSWORD)" $conn }}
{{- end }}
{{- range $r.extraParams }}
{{- $conn = printf "%s,%s" $conn . }}
{{- end }}
- name: REDIS_CONNECTION_STRING
  value: {{ $conn | quote }}
- name: REDIS_HOST
  value: {{ $r.host | quote }}
- name: REDIS_PORT
  value: {{ $r.port | quote }}
# The image's HOME is on the read-only root filesystem.
- name: HOME
  value: /tmp
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
