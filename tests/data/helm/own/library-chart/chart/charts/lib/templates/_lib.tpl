{{- define "lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.name }}
  labels:
    chart: {{ .Chart.Name }}
data:
  {{- range $k, $v := .Values.ports }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end -}}
{{- define "lib.merge" -}}
{{- $top := first . -}}
{{- $overrides := fromYaml (include (index . 1) $top) | default (dict) -}}
{{- $tpl := fromYaml (include (index . 2) $top) | default (dict) -}}
{{- toYaml (merge $overrides $tpl) -}}
{{- end -}}
