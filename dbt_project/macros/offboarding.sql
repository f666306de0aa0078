{#- Helpers for the offboarding checklist (int_offboarding_activities). -#}

{#- A SQL boolean: is the activity's type or subtype one of ``kinds`` (case-insensitive)?
    An empty list matches every activity. -#}
{% macro activity_kind_in(kinds) %}
    {%- if kinds | length == 0 -%}true{%- else -%}
    {%- set quoted = [] -%}
    {%- for kind in kinds -%}{%- do quoted.append("'" ~ (kind | lower | replace("'", "''")) ~ "'") -%}{%- endfor -%}
    (lower(activity_type) in ({{ quoted | join(', ') }})
     or lower(coalesce(activity_subtype, '')) in ({{ quoted | join(', ') }}))
    {%- endif -%}
{% endmacro %}
