-- Exit feedback each department received in the last 90 days, by theme (a feedback item with
-- several reasons reaches every owning department).
select
    department,
    top_category as theme,
    count(distinct feedback_id) as feedback_items,
    count(distinct account_id) as accounts,
    max(noted_at) as latest
from fct_feedback_routing
where noted_at >= current_date - interval 90 day
group by department, top_category
order by department asc, feedback_items desc, theme asc
