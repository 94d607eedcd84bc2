{{/* The release's full name: "patchgate" for release patchgate. */}}
{{- define "patchgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "patchgate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "patchgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "patchgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "patchgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "patchgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "patchgate.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* The environment variable that carries a token: PATCHGATE_TOKEN_<NAME>. */}}
{{- define "patchgate.tokenEnv" -}}
PATCHGATE_TOKEN_{{ regexReplaceAll "[^A-Z0-9]+" (upper .name) "_" }}
{{- end -}}

{{- define "patchgate.dsnEnv" -}}PATCHGATE_POSTGRES_DSN{{- end -}}

{{- define "patchgate.sqlitePath" -}}/var/lib/patchgate/patchgate.db{{- end -}}

{{/* Refuse values that cannot run; every template includes this. */}}
{{- define "patchgate.check" -}}
{{- if and (gt (int .Values.replicaCount) 1) (eq .Values.store.driver "sqlite") -}}
{{- fail (printf "replicaCount is %d but store.driver is sqlite: an SQLite file serves one replica. Set store.driver: postgres (the DSN in existingSecret, key store.postgres.dsnSecretKey) to run more." (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and (or .Values.tokens (eq .Values.store.driver "postgres")) (not .Values.existingSecret) -}}
{{- fail "existingSecret is empty: tokens and the PostgreSQL DSN come from a Secret the chart does not create; name it in existingSecret" -}}
{{- end -}}
{{- range $k := list "listen" "tokens" "store" -}}
{{- if hasKey $.Values.config $k -}}
{{- fail (printf "config.%s: set by the chart from the values (service, tokens, store); leave it out of config" $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* patchgate.yaml: config with listen, tokens and store from the values. */}}
{{- define "patchgate.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $_ := set $cfg "listen" ":8080" -}}
{{- $tokens := list -}}
{{- range .Values.tokens -}}
{{- $tokens = append $tokens (dict "name" .name "scopes" .scopes "token_env" (include "patchgate.tokenEnv" .)) -}}
{{- end -}}
{{- if $tokens -}}
{{- $_ := set $cfg "tokens" $tokens -}}
{{- end -}}
{{- if eq .Values.store.driver "postgres" -}}
{{- $_ := set $cfg "store" (dict "driver" "postgres" "dsn_env" (include "patchgate.dsnEnv" .)) -}}
{{- else -}}
{{- $_ := set $cfg "store" (dict "driver" "sqlite" "dsn" (include "patchgate.sqlitePath" .)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
