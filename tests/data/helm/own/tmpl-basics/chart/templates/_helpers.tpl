{{- define "basics.name" -}}
{{ .Chart.Name }}-{{ .Values.name }}
{{- end -}}
{{- define "basics.labels" }}
app: {{ include "basics.name" . }}
version: {{ .Chart.AppVersion | quote }}
{{- end }}
{{/* a comment */}}
{{- define "basics.recurse" -}}
{{- if gt (int .n) 0 -}}{{ .n }},{{ include "basics.recurse" (dict "n" (sub .n 1)) }}{{- end -}}
{{- end -}}
