-- Which department receives which feedback: one row per feedback item and department, so a
-- publisher asks "items for department X" with one filter. An item with several reasons reaches
-- every owning department (competitor: product and sales); company churn ('none') is reporting
-- only and routes nowhere.
with

items as (
    select * from {{ ref('fct_feedback_items') }}
),

routing as (
    select * from {{ ref('category_departments') }}
),

item_categories as (
    select
        feedback_id,
        unnest(categories) as category,
        unnest(range(1, len(categories) + 1)) as category_rank
    from items
),

routed as (
    select
        item_categories.feedback_id,
        routing.department,
        list(item_categories.category order by item_categories.category_rank) as routed_categories,
        min_by(item_categories.category, item_categories.category_rank) as top_category
    from item_categories
    inner join routing on item_categories.category = routing.category
    where routing.department <> 'none'
    group by item_categories.feedback_id, routing.department
),

final as (
    select
        routed.feedback_id,
        routed.department,
        routed.top_category,
        routed.routed_categories,
        routed.department = items.department as is_primary_department,
        items.category as primary_category,
        items.churn_event_id,
        items.account_id,
        items.source_system,
        items.noted_at,
        items.is_exit_interview,
        items.body_text
    from routed
    inner join items on routed.feedback_id = items.feedback_id
)

select * from final
