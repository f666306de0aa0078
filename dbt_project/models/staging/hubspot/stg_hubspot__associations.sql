{%- set object_types = '(companies|contacts|deals|tickets|notes|tasks|feedback_submissions'
    ~ '|calls|emails|meetings|communications)' -%}
{%- set stream_pattern = 'associations_' ~ object_types ~ '_' ~ object_types ~ '/[^/]*$' -%}

-- One row per association edge, from every associations_<from>_<to> stream.
-- Associations are landed for the records synced in a batch, so the newest batch that carried a
-- record holds its full set of edges to that object type: older edges of that record are dropped.
with source as (
    {{ raw_stream('hubspot', 'associations', [
        'from_id', 'to_id', 'association_type_id', 'association_category', 'association_label'
    ], pattern=var('data_dir') ~ '/raw/hubspot/associations_*/*.parquet', extra_columns=['filename']) }}
),

typed as (
    select
        regexp_extract(filename, '{{ stream_pattern }}', 1) as from_object_type,
        regexp_extract(filename, '{{ stream_pattern }}', 2) as to_object_type,
        trim(from_id) as from_id,
        trim(to_id) as to_id,
        try_cast(association_type_id as integer) as association_type_id,
        {{ nullif_blank('association_category') }} as association_category,
        {{ nullif_blank('association_label') }} as association_label,
        _loaded_at,
        _batch_seq
    from source
    where from_id is not null and to_id is not null
),

newest_batch_per_record as (
    select
        *,
        max(_loaded_at) over (partition by from_object_type, to_object_type, from_id) as record_loaded_at
    from typed
),

final as (
    select distinct
        from_object_type,
        from_id,
        to_object_type,
        to_id,
        association_type_id,
        association_category,
        association_label
    from newest_batch_per_record
    where _loaded_at = record_loaded_at
)

select * from final
