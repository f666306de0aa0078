-- How often the reason sales picked in the CRM agrees with what the customer said in the exit
-- interview (sales-picked reasons skew to price): a confusion table over churned events that have both.
select
    stated_reason_category,
    derived_reason_category,
    count(*) as churn_events,
    sum(coalesce(amount_lost, 0)) as amount_lost
from fct_churn_events
where
    churn_status = 'churned'
    and stated_reason_category is not null
    and derived_reason_category is not null
group by all
order by churn_events desc, stated_reason_category asc, derived_reason_category asc
