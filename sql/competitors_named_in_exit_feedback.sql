-- Accounts lost to a competitor or a suite: the competitor the CRM names and the exit feedback,
-- for the sales and product digests.
select
    accounts.account_name,
    events.churned_at,
    events.amount_lost,
    events.competitor_name,
    feedback.body_text
from fct_churn_events as events
left join dim_accounts as accounts on events.account_id = accounts.account_id
left join fct_feedback_items as feedback
    on events.churn_event_id = feedback.churn_event_id and list_contains(feedback.categories, 'competitor')
where
    events.primary_reason_category = 'competitor'
    or feedback.feedback_id is not null
order by events.churned_at desc nulls last, accounts.account_name asc
