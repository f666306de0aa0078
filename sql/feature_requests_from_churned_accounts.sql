-- What churned customers said about the product: every exit feedback item with a product reason,
-- newest first, with the account and the amount its churn cost.
select
    accounts.account_name,
    feedback.noted_at,
    events.churned_at,
    events.amount_lost,
    feedback.categories,
    feedback.body_text
from fct_feedback_items as feedback
inner join fct_churn_events as events on feedback.churn_event_id = events.churn_event_id
left join dim_accounts as accounts on feedback.account_id = accounts.account_id
where
    list_contains(feedback.categories, 'product')
    and events.churn_status = 'churned'
order by feedback.noted_at desc
