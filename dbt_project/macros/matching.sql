{#- Normalisers used to match one real customer across both CRMs. -#}

{% macro normalize_domain(expression) %}
  {#- `HTTPS://www.Acme.com./pricing` -> `acme.com`: lower-case, no scheme, credentials, `www.`,
      port, path, query or trailing dots. -#}
  nullif(
    regexp_replace(
      regexp_replace(
        regexp_replace(
          regexp_replace(lower(trim({{ expression }})), '^[a-z][a-z0-9+.-]*://', ''),
        '^[^/@]*@', ''),
      '[/?#:].*$', ''),
    '^www\.|\.+$', '', 'g'),
  '')
{% endmacro %}


{% macro email_domain(expression) %}
  {{ normalize_domain("nullif(split_part(lower(trim(" ~ expression ~ ")), '@', 2), '')") }}
{% endmacro %}


{% macro normalize_name(expression) %}
  {#- `Acme, Inc.` and `ACME Inc` match: lower-case, punctuation out, legal suffixes out. -#}
  nullif(trim(regexp_replace(
    trim(regexp_replace(lower(trim({{ expression }})), '[^a-z0-9]+', ' ', 'g')),
    '\s+(inc|incorporated|llc|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|s a|sas|bv|plc|pty)$', '')), '')
{% endmacro %}


{% macro is_free_email_domain(expression) %}
  {{ expression }} in (
    {%- for domain in var('free_email_domains') %}'{{ domain }}'{{ "," if not loop.last }}{% endfor -%}
  )
{% endmacro %}


{% macro sql_list(values) %}
  {#- A var list as an SQL IN-list of strings, compared case-insensitively by callers. -#}
  ({%- for value in values %}'{{ value | lower | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor -%})
{% endmacro %}
