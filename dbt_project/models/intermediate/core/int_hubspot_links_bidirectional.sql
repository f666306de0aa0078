-- Every HubSpot association edge in both directions, so a model can ask "deal -> company" whether the
-- connector landed associations_deals_companies or associations_companies_deals.
with edges as (
    select
        from_object_type,
        from_id,
        to_object_type,
        to_id,
        association_type_id,
        association_label
    from {{ ref('stg_hubspot__associations') }}
),

reversed as (
    select
        to_object_type,
        to_id,
        from_object_type,
        from_id,
        association_type_id,
        association_label
    from edges
),

final as (
    select distinct
        from_object_type,
        from_id,
        to_object_type,
        to_id,
        association_type_id,
        association_label
    from (
        select * from edges
        union all by name
        select * from reversed
    ) as both_directions
)

select * from final
