{{/*
Named templates shared by the airflow chart's manifests.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "airflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base name of every object: the release name unless fullnameOverride. The API server's Service
gets exactly this name, so the UI and REST API are at <fullname>:8080 (airflow:8080 in chapter 5).
*/}}
{{- define "airflow.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "airflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that select one component's pods; they never change after install.
Call with (dict "ctx" $ "component" "scheduler").
*/}}
{{- define "airflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airflow.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The standard labels on every object. Call with (dict "ctx" $ "component" "scheduler"). */}}
{{- define "airflow.labels" -}}
{{ include "airflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mlops-series
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "airflow.chart" .ctx }}
{{- end }}

{{/* The labels of a component's pods: the standard ones plus podLabels. Same call as above. */}}
{{- define "airflow.podLabels" -}}
{{ include "airflow.labels" . }}
{{- with .ctx.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "airflow.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{- define "airflow.statsdImage" -}}
{{- $ref := printf "%s:%s" .Values.statsd.image.repository .Values.statsd.image.tag }}
{{- if .Values.statsd.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.statsd.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* Names of the chart's Secrets and ConfigMaps and of the StatsD exporter's Service. */}}
{{- define "airflow.secretName" -}}{{ include "airflow.fullname" . }}{{- end }}
{{- define "airflow.adminSecretName" -}}{{ include "airflow.fullname" . }}-admin{{- end }}
{{- define "airflow.dagsConfigMapName" -}}{{ include "airflow.fullname" . }}-dags{{- end }}
{{- define "airflow.statsdName" -}}{{ include "airflow.fullname" . }}-statsd{{- end }}
{{- define "airflow.podLauncherName" -}}{{ include "airflow.fullname" . }}-pod-launcher{{- end }}

{{/*
The metadata database URI, without a password: libpq (psycopg2) and asyncpg (the API server's async
sessions) take it from PGPASSWORD.
*/}}
{{- define "airflow.sqlAlchemyConn" -}}
{{- $pg := .Values.database.postgres }}
{{- $scheme := "postgresql" }}
{{- if $pg.driver }}
{{- $scheme = printf "postgresql+%s" $pg.driver }}
{{- end }}
{{- printf "%s://%s@%s:%v/%s" $scheme ($pg.username | urlquery) $pg.host $pg.port $pg.database }}
{{- end }}

{{/*
The environment every Airflow container shares: the configuration as AIRFLOW__SECTION__KEY variables
(Airflow reads them over airflow.cfg) and the shared secrets. All components must agree on the
database, the JWT secret and the execution API URL, or tasks fail with "Invalid auth token".
*/}}
{{- define "airflow.env" -}}
# The image's /entrypoint would run its own database check (a Python process per try) before every
# command; the init container already waited for the database and the migration.
- name: CONNECTION_CHECK_MAX_COUNT
  value: "0"
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.postgres.passwordSecret.name }}
      key: {{ .Values.database.postgres.passwordSecret.key }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  value: {{ include "airflow.sqlAlchemyConn" . | quote }}
# Tasks run as processes of the scheduler's pod.
- name: AIRFLOW__CORE__EXECUTOR
  value: LocalExecutor
- name: AIRFLOW__CORE__PARALLELISM
  value: {{ .Values.scheduler.parallelism | quote }}
- name: AIRFLOW__CORE__LOAD_EXAMPLES
  value: "False"
- name: AIRFLOW__CORE__DAGS_FOLDER
  value: /opt/airflow/dags
- name: AIRFLOW__CORE__AUTH_MANAGER
  value: airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
- name: AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS
  value: {{ printf "%s:admin" .Values.auth.username | quote }}
# Where tasks report their state and fetch connections, variables and XComs: the API server's
# execution API, through its Service.
- name: AIRFLOW__CORE__EXECUTION_API_SERVER_URL
  value: {{ printf "http://%s:%v/execution/" (include "airflow.fullname" .) .Values.service.port | quote }}
# Task instances record the pod IP (not the pod name, which has no DNS entry), so that the API server
# can fetch their logs from the scheduler pod's log server.
- name: AIRFLOW__CORE__HOSTNAME_CALLABLE
  value: airflow.utils.net.get_host_ip_address
- name: AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT
  value: {{ .Values.scheduler.logServerPort | quote }}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: fernet-key
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: jwt-secret
- name: AIRFLOW__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.secretName" . }}
      key: api-secret-key
- name: AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL
  value: {{ .Values.dagProcessor.refreshInterval | quote }}
- name: AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL
  value: {{ .Values.dagProcessor.minFileProcessInterval | quote }}
{{- if .Values.statsd.enabled }}
- name: AIRFLOW__METRICS__STATSD_ON
  value: "True"
- name: AIRFLOW__METRICS__STATSD_HOST
  value: {{ include "airflow.statsdName" . }}
- name: AIRFLOW__METRICS__STATSD_PORT
  value: {{ .Values.statsd.statsdPort | quote }}
- name: AIRFLOW__METRICS__STATSD_PREFIX
  value: airflow
{{- end }}
{{- range $k, $v := .Values.config }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The init container of every Airflow pod: waits until PostgreSQL accepts TCP connections (a Service
only forwards to ready pods, so this passes once pg_isready does), then until `airflow db migrate`
(the Job) has brought the schema to this image's version. Pass (dict "ctx" $ "migrations" true) to
wait for the database only (the Job itself).
*/}}
{{- define "airflow.waitContainer" -}}
{{- $ := .ctx -}}
- name: {{ if .migrations }}wait-for-database{{ else }}wait-for-migrations{{ end }}
  image: {{ include "airflow.image" $ }}
  imagePullPolicy: {{ $.Values.image.pullPolicy }}
  args:
    - bash
    - -c
    - |
      deadline=$((SECONDS + DB_WAIT_SECONDS))
      until python -c 'import os, socket; socket.create_connection((os.environ["DB_HOST"], int(os.environ["DB_PORT"])), 3).close()' 2>/dev/null; do
        if (( SECONDS > deadline )); then echo "gave up waiting for $DB_HOST:$DB_PORT"; exit 1; fi
        echo "waiting for $DB_HOST:$DB_PORT"; sleep 2
      done
      echo "$DB_HOST:$DB_PORT accepts connections"
      {{- if not .migrations }}
      exec airflow db check-migrations --migration-wait-timeout "$DB_WAIT_SECONDS"
      {{- end }}
  env:
    - name: DB_HOST
      value: {{ $.Values.database.postgres.host | quote }}
    - name: DB_PORT
      value: {{ $.Values.database.postgres.port | quote }}
    - name: DB_WAIT_SECONDS
      value: {{ $.Values.database.waitTimeoutSeconds | quote }}
    {{- include "airflow.env" $ | nindent 4 }}
  resources:
    {{- toYaml $.Values.initResources | nindent 4 }}
  securityContext:
    {{- toYaml $.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "airflow.baseVolumeMounts" $ | nindent 4 }}
{{- end }}

{{/* The writable folders of every Airflow container (the root filesystem is read-only). */}}
{{- define "airflow.baseVolumeMounts" -}}
- name: home
  mountPath: /opt/airflow
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "airflow.baseVolumes" -}}
- name: home
  emptyDir:
    sizeLimit: {{ .Values.homeSizeLimit | quote }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit | quote }}
{{- end }}

{{/* The DAGs folder: the ConfigMap of .Values.dags. */}}
{{- define "airflow.dagsVolumeMount" -}}
- name: dags
  mountPath: /opt/airflow/dags
  readOnly: true
{{- end }}

{{- define "airflow.dagsVolume" -}}
- name: dags
  configMap:
    name: {{ include "airflow.dagsConfigMapName" . }}
{{- end }}

{{/* Pod-level settings shared by every pod of the chart (the security context is the caller's). */}}
{{- define "airflow.podCommon" -}}
# Airflow never calls the Kubernetes API: no token in the pod (the scheduler's exception is
# airflow.schedulerPodCommon).
automountServiceAccountToken: false
{{ include "airflow.podSettings" . }}
{{- end }}

{{/*
The scheduler's pod-level settings. With podLauncher.enabled its tasks (the LocalExecutor runs them
in this pod) start pods through the Kubernetes API: the pod runs as the pod launcher's
ServiceAccount, with its token mounted. Otherwise the same as every other pod.
*/}}
{{- define "airflow.schedulerPodCommon" -}}
{{- if .Values.podLauncher.enabled -}}
# Tasks that start pods (KubernetesPodOperator) run in this pod: the token of the ServiceAccount
# whose Role allows that in this namespace only (templates/pod-launcher.yaml).
serviceAccountName: {{ include "airflow.podLauncherName" . }}
automountServiceAccountToken: true
{{ include "airflow.podSettings" . }}
{{- else }}
{{- include "airflow.podCommon" . }}
{{- end }}
{{- end }}

{{- define "airflow.podSettings" -}}
# Without this, the Service "airflow" puts AIRFLOW_PORT=tcp://... and friends into every pod's
# environment, next to Airflow's own AIRFLOW__* settings.
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
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

{{/* An exec probe that passes while this pod's job of the given type heartbeats in the database:
files/job_alive.py, the query of `airflow jobs check --local` without importing Airflow.
Argument: a list of the root context and the job type. */}}
{{- define "airflow.jobCheck" -}}
{{- $root := index . 0 }}
exec:
  command: ["python", "-c", {{ $root.Files.Get "files/job_alive.py" | quote }}, {{ index . 1 | quote }}]
{{- end }}
