{{/*
Named templates shared by the raycluster chart's manifests.
*/}}

{{- define "raycluster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The RayCluster's name: the release name unless fullnameOverride (KubeRay adds suffixes). */}}
{{- define "raycluster.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "raycluster.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the RayCluster and of its pods (KubeRay copies the templates' labels to the pods
and adds its own ray.io/* ones): the series' `pods` check finds the pods by instance. */}}
{{- define "raycluster.labels" -}}
app.kubernetes.io/name: {{ include "raycluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "raycluster.chart" . }}
{{- end }}

{{- define "raycluster.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* The pod-level settings shared by head and workers. */}}
{{- define "raycluster.podSpec" -}}
securityContext:
  # The series' image runs Ray as the user "ray" (uid 1000), as Ray's own images do.
  runAsNonRoot: true
  runAsUser: 1000
  runAsGroup: 100
  fsGroup: 100
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The Ray container's common part; . is a dict: root, resources, objectStore. */}}
{{- define "raycluster.container" -}}
image: {{ include "raycluster.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
env:
  - name: RAY_USAGE_STATS_ENABLED
    value: "0"
  {{- with .root.Values.env }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
resources:
  {{- toYaml .resources | nindent 2 }}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
volumeMounts:
  # Ray's object store lives in /dev/shm; a container's own is 64 MiB, less than the store.
  - name: shm
    mountPath: /dev/shm
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/* The volumes that go with raycluster.container; . is the object store's size in bytes. */}}
{{- define "raycluster.volumes" -}}
volumes:
  - name: shm
    emptyDir:
      medium: Memory
      sizeLimit: {{ add (div (int64 .) 1048576) 64 }}Mi
  - name: tmp
    emptyDir:
      sizeLimit: 2Gi
{{- end }}
