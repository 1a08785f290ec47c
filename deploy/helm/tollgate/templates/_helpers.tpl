{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "tollgate.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "tollgate.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tollgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: web, worker, beat, migrate. Call with (dict "root" $ "component" "web"). */}}
{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tollgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tollgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tollgate.secretName" -}}
{{- default (include "tollgate.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "tollgate.configMapName" -}}
{{- default (include "tollgate.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/* The chart refuses to render without the secrets a production gateway needs. */}}
{{- define "tollgate.validate" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.masterKey -}}
{{- fail "set secrets.masterKey (sk-..., 32+ characters) or secrets.existingSecret" -}}
{{- end -}}
{{- if or (not (hasPrefix "sk-" .Values.secrets.masterKey)) (lt (len .Values.secrets.masterKey) 32) -}}
{{- fail "secrets.masterKey must start with sk- and be at least 32 characters long" -}}
{{- end -}}
{{- if not .Values.secrets.databaseUrl -}}
{{- fail "set secrets.databaseUrl (postgres://...) or secrets.existingSecret: replicas share one PostgreSQL" -}}
{{- end -}}
{{- if not .Values.secrets.redisUrl -}}
{{- fail "set secrets.redisUrl (redis://...) or secrets.existingSecret: replicas share limits and budgets in Redis" -}}
{{- end -}}
{{- if and (contains "+cluster://" .Values.secrets.redisUrl) (not .Values.secrets.celeryBrokerUrl) -}}
{{- fail "secrets.redisUrl is a Redis Cluster, which Celery cannot use: set secrets.celeryBrokerUrl (redis://... of one server, or amqp://...)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The environment of every Tollgate container. Call with (dict "root" $ "secret" <Secret name>). */}}
{{- define "tollgate.env" -}}
{{- $keys := .root.Values.secrets.keys -}}
- name: TOLLGATE_CONFIG
  value: /etc/tollgate/config.yaml
- name: TOLLGATE_VAR_DIR
  value: /var/lib/tollgate
- name: TOLLGATE_PRODUCTION
  value: "1"
- name: TOLLGATE_MASTER_KEY
  valueFrom: {secretKeyRef: {name: {{ .secret }}, key: {{ $keys.masterKey }}}}
- name: DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ .secret }}, key: {{ $keys.databaseUrl }}}}
- name: REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ .secret }}, key: {{ $keys.redisUrl }}}}
- name: SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ .secret }}, key: {{ $keys.secretKey }}}}
- name: TOLLGATE_ENCRYPTION_KEY
  valueFrom: {secretKeyRef: {name: {{ .secret }}, key: {{ $keys.encryptionKey }}, optional: true}}
- name: TOLLGATE_CELERY_BROKER_URL
  valueFrom: {secretKeyRef: {name: {{ .secret }}, key: {{ $keys.celeryBrokerUrl }}, optional: true}}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tollgate.volumeMounts" -}}
- name: config
  mountPath: /etc/tollgate
  readOnly: true
- name: var
  mountPath: /var/lib/tollgate
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "tollgate.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: var
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{/* Pod-level settings every component shares. */}}
{{- define "tollgate.podCommon" -}}
serviceAccountName: {{ include "tollgate.serviceAccountName" . }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Hook copies exist before the release's own objects do: the migration Job runs pre-install. */}}
{{- define "tollgate.hookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{- define "tollgate.secret" -}}
{{- $v := .root.Values.secrets }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  labels:
    {{- include "tollgate.labels" .root | nindent 4 }}
  {{- if .hook }}
  annotations:
    {{- include "tollgate.hookAnnotations" .root | nindent 4 }}
  {{- end }}
type: Opaque
stringData:
  {{ $v.keys.masterKey }}: {{ $v.masterKey | quote }}
  {{ $v.keys.databaseUrl }}: {{ $v.databaseUrl | quote }}
  {{ $v.keys.redisUrl }}: {{ $v.redisUrl | quote }}
  {{ $v.keys.secretKey }}: {{ include "tollgate.djangoSecretKey" .root | quote }}
  {{- if $v.encryptionKey }}
  {{ $v.keys.encryptionKey }}: {{ $v.encryptionKey | quote }}
  {{- end }}
  {{- if $v.celeryBrokerUrl }}
  {{ $v.keys.celeryBrokerUrl }}: {{ $v.celeryBrokerUrl | quote }}
  {{- end }}
{{- end -}}

{{- define "tollgate.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  labels:
    {{- include "tollgate.labels" .root | nindent 4 }}
  {{- if .hook }}
  annotations:
    {{- include "tollgate.hookAnnotations" .root | nindent 4 }}
  {{- end }}
data:
  config.yaml: |
    {{- .root.Values.config | nindent 4 }}
{{- end -}}


{{/* Django's SECRET_KEY: the given one, else the one this release already has, else a new random one (so
every replica signs sessions alike and an upgrade does not log everyone out). */}}
{{- define "tollgate.djangoSecretKey" -}}
{{- if .Values.secrets.secretKey -}}
{{- .Values.secrets.secretKey -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "tollgate.fullname" .) -}}
{{- if and $existing (index ($existing.data | default dict) .Values.secrets.keys.secretKey) -}}
{{- index $existing.data .Values.secrets.keys.secretKey | b64dec -}}
{{- else -}}
{{- randAlphaNum 50 -}}
{{- end -}}
{{- end -}}
{{- end -}}
