-- Every collected piece of feedback with its reason categories and departments.
-- The SQL comes from the classify_texts macro, the same SQL `churnkb classify` runs.
-- Incremental: a build classifies only items that are new or changed since the last build (any
-- column, the text included) and removes items no longer collected (post-hook); a change to the
-- rules, cues or routing seeds changes `classified_with` and so reclassifies everything.
-- `churnkb build --full-refresh` classifies everything from scratch.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='feedback_id',
    on_schema_change='append_new_columns',
    post_hook="
        delete from {{ this }} as kept
        where not exists (
            select 1 from {{ ref('int_feedback_items_collected') }} as collected
            where collected.feedback_id = kept.feedback_id
        )"
) }}
{%- set item_columns = ['feedback_id', 'churn_event_id', 'account_id', 'source_system', 'source_record_id',
                        'feedback_source', 'noted_at', 'body_text', 'is_exit_interview'] %}
{#- an earlier build without `classified_with` cannot tell what it classified with: redo all -#}
{%- set reuse_earlier_build = false %}
{%- if is_incremental() %}
    {%- set earlier_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    {%- set reuse_earlier_build = 'classified_with' in earlier_columns %}
{%- endif %}
with

classified_with as (
    -- a fingerprint of everything the classification reads besides the text
    select md5(concat_ws('|',
        (select string_agg(cast(rules as varchar), ',' order by cast(rules as varchar))
         from {{ ref('feedback_classification_rules') }} as rules),
        (select string_agg(cast(cues as varchar), ',' order by cast(cues as varchar))
         from {{ ref('feedback_negation_cues') }} as cues),
        (select string_agg(cast(routing as varchar), ',' order by cast(routing as varchar))
         from {{ ref('category_departments') }} as routing)
    )) as fingerprint
),

to_classify as (
    select {{ item_columns | join(', ') }}
    from {{ ref('int_feedback_items_collected') }}
    {%- if reuse_earlier_build %}
    except
    select {{ item_columns | join(', ') }}
    from {{ this }}
    where classified_with = (select fingerprint from classified_with)
    {%- endif %}
),

classified as (
    {{ classify_texts(
        'to_classify',
        ref('feedback_classification_rules'),
        ref('feedback_negation_cues'),
        ref('category_departments'),
        id_column='feedback_id',
        text_column='body_text'
    ) }}
),

final as (
    select
        to_classify.feedback_id,
        to_classify.churn_event_id,
        to_classify.account_id,
        to_classify.source_system,
        to_classify.source_record_id,
        to_classify.feedback_source,
        to_classify.noted_at,
        to_classify.body_text,
        to_classify.is_exit_interview,
        classified.primary_category as category,
        classified.categories,
        classified.department,
        classified.departments,
        classified.matched_rule_ids,
        classified.negated_rule_ids,
        (select fingerprint from classified_with) as classified_with
    from to_classify
    inner join classified on classified.text_id = to_classify.feedback_id
)

select * from final
