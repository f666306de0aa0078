{#- Local generic tests (no dbt packages: dbt deps is unreachable). -#}

{% test expression_is_true(model, expression) %}
  select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}


{% test unique_combination_of_columns(model, combination_of_columns) %}
  select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
  from {{ model }}
  group by {{ combination_of_columns | join(', ') }}
  having count(*) > 1
{% endtest %}
