{{- define "tpl.helper" -}}helper:{{ .Values.suffix }}{{- end -}}
