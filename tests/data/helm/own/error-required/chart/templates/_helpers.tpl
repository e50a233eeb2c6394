{{- define "req.host" -}}
{{ required "db.host is required: set it in values" .Values.db.host }}
{{- end -}}
