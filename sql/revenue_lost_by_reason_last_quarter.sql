-- Revenue lost by primary reason in the last full calendar quarter (churn recognised on the churn
-- date; amounts in the CRM's currency). Primary reason = derived from exit feedback, else stated.
select
    primary_reason_category as reason,
    count(*) as churn_events,
    sum(coalesce(amount_lost, 0)) as amount_lost,
    round(100.0 * sum(coalesce(amount_lost, 0)) / nullif(sum(sum(coalesce(amount_lost, 0))) over (), 0), 1)
        as share_of_amount_pct
from fct_churn_events
where
    churn_status = 'churned'
    and churned_at >= date_trunc('quarter', current_date) - interval 3 month
    and churned_at < date_trunc('quarter', current_date)
group by primary_reason_category
order by amount_lost desc, reason asc
