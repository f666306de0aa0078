{#- Helpers for part B's marts (checklist, re-engagement); kept beside the classifier macros. -#}

{#- The n-th Monday-to-Friday day after a date (public holidays are not modelled). -#}
{% macro add_business_days(date_expression, days) %}
    list_filter(
        generate_series(
            cast({{ date_expression }} as date) + 1,
            cast({{ date_expression }} as date) + {{ days * 2 + 7 }},
            interval 1 day
        ),
        lambda candidate: isodow(candidate) < 6
    )[{{ days }}]::date
{% endmacro %}


{#- A SQL boolean: does the lower-cased text contain any of the substrings? -#}
{% macro contains_any(text_expression, substrings) %}
    {%- if substrings | length == 0 -%}
        false
    {%- else -%}
        ({%- for substring in substrings -%}
            contains(lower(coalesce({{ text_expression }}, '')), '{{ substring | lower | replace("'", "''") }}')
            {%- if not loop.last %} or {% endif -%}
        {%- endfor -%})
    {%- endif -%}
{% endmacro %}


{#- The warehouse section of churnkb.yaml, as vars from churnkb/warehouse.py, with defaults. -#}
{% macro warehouse_setting(section, key, default) %}
    {%- set values = var(section, {}) or {} -%}
    {{ return(values.get(key, default)) }}
{% endmacro %}


{#- "Today" for SLA and eligibility checks: var as_of_date (YYYY-MM-DD) or the current date. -#}
{% macro as_of_date() %}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of -%}date '{{ as_of }}'{%- else -%}current_date{%- endif -%}
{% endmacro %}


