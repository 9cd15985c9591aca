{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "kawasan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, used as the prefix of every resource name. Kept short enough that suffixes
such as "-worker-<name>" and "-migrate" still fit in 63 characters.
*/}}
{{- define "kawasan.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, as used by the helm.sh/chart label.
*/}}
{{- define "kawasan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels. Called with (dict "ctx" $ "component" "<component>"), plus an optional "worker" key for
worker Deployments so that two worker Deployments never select each other's pods.
*/}}
{{- define "kawasan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kawasan.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .worker }}
kawasan.io/worker: {{ .worker }}
{{- end }}
{{- end }}

{{/*
Recommended labels (https://helm.sh/docs/chart_best_practices/labels/). Same arguments as selectorLabels.
*/}}
{{- define "kawasan.labels" -}}
helm.sh/chart: {{ include "kawasan.chart" .ctx }}
{{ include "kawasan.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: kawasan
{{- end }}

{{/*
Container image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "kawasan.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Environment shared by every container (web, workers, relay, migration hook): the Secrets, then each
non-empty `config` value as its KAWASAN_* variable, then `extraEnv`.
The three Secrets are NOT created by this chart; they must exist before `helm install`, which is what lets
the pre-install migration hook read them (hooks run before ordinary release resources are created).
*/}}
{{- define "kawasan.env" -}}
- name: KAWASAN_ENV
  value: "production"
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret.name is required" .Values.database.existingSecret.name | quote }}
      key: {{ .Values.database.existingSecret.key | quote }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "redis.existingSecret.name is required" .Values.redis.existingSecret.name | quote }}
      key: {{ .Values.redis.existingSecret.key | quote }}
- name: KAWASAN_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "secretKey.existingSecret.name is required" .Values.secretKey.existingSecret.name | quote }}
      key: {{ .Values.secretKey.existingSecret.key | quote }}
{{- if .Values.config.publicUrl }}
- name: KAWASAN_PUBLIC_URL
  value: {{ .Values.config.publicUrl | toString | quote }}
{{- end }}
{{- if .Values.config.issuer }}
- name: KAWASAN_ISSUER
  value: {{ .Values.config.issuer | toString | quote }}
{{- end }}
{{- if .Values.config.logLevel }}
- name: KAWASAN_LOG_LEVEL
  value: {{ .Values.config.logLevel | toString | quote }}
{{- end }}
{{- if .Values.config.corsOrigins }}
- name: KAWASAN_CORS_ORIGINS
  value: {{ .Values.config.corsOrigins | toString | quote }}
{{- end }}
{{- if .Values.config.smtpHost }}
- name: KAWASAN_SMTP_HOST
  value: {{ .Values.config.smtpHost | toString | quote }}
{{- end }}
{{- if .Values.config.smtpPort }}
- name: KAWASAN_SMTP_PORT
  value: {{ .Values.config.smtpPort | toString | quote }}
{{- end }}
{{- if .Values.config.smtpFrom }}
- name: KAWASAN_SMTP_FROM
  value: {{ .Values.config.smtpFrom | toString | quote }}
{{- end }}
{{- if .Values.config.mapTiles }}
- name: KAWASAN_MAP_TILES
  value: {{ .Values.config.mapTiles | toString | quote }}
{{- end }}
{{- if .Values.config.mapTilesAttribution }}
- name: KAWASAN_MAP_TILES_ATTRIBUTION
  value: {{ .Values.config.mapTilesAttribution | toString | quote }}
{{- end }}
{{- if .Values.config.outboxRedeliverAfter }}
- name: KAWASAN_OUTBOX_REDELIVER_AFTER
  value: {{ .Values.config.outboxRedeliverAfter | toString | quote }}
{{- end }}
{{- if .Values.config.relayPollInterval }}
- name: KAWASAN_RELAY_POLL_INTERVAL
  value: {{ .Values.config.relayPollInterval | toString | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod-spec fields shared by every pod: service account, pull secrets, security context, scheduling and the
writable /tmp volume. Included at the indentation of the pod spec's keys.
*/}}
{{- define "kawasan.podCommon" -}}
{{- with .Values.serviceAccount.name }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {}
{{- end }}

{{/*
Container fields shared by every container: image, pull policy, security context, env and /tmp mount.
Included at the indentation of the container's keys, right after "- name: <container>".
*/}}
{{- define "kawasan.containerCommon" -}}
image: {{ include "kawasan.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
env:
  {{- include "kawasan.env" . | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/*
Pod annotations shared by every pod.
*/}}
{{- define "kawasan.podAnnotations" -}}
{{- with .Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
