{#- Casts from the raw zone's text values. Bad values become NULL (try_cast) and are tested downstream. -#}

{% macro to_utc_timestamp(expression) %}
  {#- Salesforce `2024-04-01T17:04:12.000+0000`, HubSpot ISO (`...Z`, `...+00:00`), plain dates and
      HubSpot epoch milliseconds all become a naive TIMESTAMP in UTC. -#}
  case
    when regexp_full_match(trim({{ expression }}), '\d{11,14}')
      then make_timestamp(try_cast(trim({{ expression }}) as bigint) * 1000)
    else timezone('UTC', try_cast(trim({{ expression }}) as timestamptz))
  end
{% endmacro %}


{% macro to_date(expression) %}
  cast({{ to_utc_timestamp(expression) }} as date)
{% endmacro %}


{% macro to_bool(expression) %}
  try_cast(lower(trim({{ expression }})) as boolean)
{% endmacro %}


{% macro to_number(expression) %}
  try_cast(trim({{ expression }}) as double)
{% endmacro %}


{% macro nullif_blank(expression) %}
  nullif(trim({{ expression }}), '')
{% endmacro %}


{% macro sf_id18(expression) %}
  {#- Salesforce 15-char ids are unique only case-sensitively; the 18-char form appends three
      checksum characters, one per 5-char chunk, encoding which of its letters are upper case. -#}
  case
    when length(trim({{ expression }})) = 15 then trim({{ expression }})
      {%- for chunk in range(3) %}
      || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 1
        {%- for position in range(5) %}
        + case when regexp_full_match(substr(trim({{ expression }}), {{ chunk * 5 + position + 1 }}, 1), '[A-Z]')
               then {{ 2 ** position }} else 0 end
        {%- endfor %}, 1)
      {%- endfor %}
    else {{ nullif_blank(expression) }}
  end
{% endmacro %}


{% macro strip_html(expression) %}
  {#- Notes arrive as HTML; keep the words, drop tags, decode the common entities, squeeze spaces. -#}
  nullif(trim(regexp_replace(
    replace(replace(replace(replace(replace(replace(
      regexp_replace(regexp_replace({{ expression }}, '<(br|/p|/div|/li)[^>]*>', ' ', 'gi'), '<[^>]*>', '', 'g'),
      '&nbsp;', ' '), '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''), '&amp;', '&'),
    '\s+', ' ', 'g')), '')
{% endmacro %}
