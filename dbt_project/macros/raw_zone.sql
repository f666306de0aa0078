{#- Reading the raw zone (docs/architecture.md): Parquet per stream, every source field VARCHAR. -#}

{% macro raw_files_exist(pattern) %}
  {#- A stream nobody has synced yet has no files, and read_parquet fails on an empty glob. -#}
  {%- if not execute -%}{{ return(false) }}{%- endif -%}
  {%- set result = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
  {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}


{% macro raw_glob(source_name, stream) %}
  {{- return(var('data_dir') ~ '/raw/' ~ source_name ~ '/' ~ stream ~ '/*.parquet') -}}
{% endmacro %}


{% macro raw_stream(source_name, table_name, columns, pattern=none, extra_columns=[]) %}
  {#- An empty relation typed with every column we read, unioned BY NAME with the landed files:
      columns an org lacks come out as typed NULLs, and a stream with no files yet is just empty. -#}
  {%- set pattern = pattern or raw_glob(source_name, table_name) -%}
  {%- set relation = source(source_name, table_name) -%}
  select
    {%- for column in columns | unique %}
    cast(null as varchar) as "{{ column }}",
    {%- endfor %}
    {%- for column in extra_columns %}
    cast(null as varchar) as "{{ column }}",
    {%- endfor %}
    cast(null as timestamptz) as _loaded_at,
    cast(null as varchar) as _sync_id,
    cast(null as bigint) as _batch_seq
  where false
  {%- if raw_files_exist(pattern) %}
  union all by name
  select * from {{ relation }}
  {%- endif %}
{% endmacro %}


{% macro latest_version(id_column, cursor_expression) %}
  {#- Keep the newest landed version of each record: cursor first, then landing order. -#}
  qualify row_number() over (
    partition by {{ id_column }}
    order by {{ cursor_expression }} desc nulls last, _loaded_at desc nulls last, _batch_seq desc nulls last
  ) = 1
{% endmacro %}
