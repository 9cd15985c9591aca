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
Environment shared by every container (web, workers, relay, migration hook).
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
