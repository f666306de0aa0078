-- Open cancellation notices worth a save attempt, biggest amount at risk first, with the play.
select
    account_name,
    amount_at_risk,
    reason_category,
    suggested_play,
    notice_stage,
    days_until_churn,
    save_assessment_status,
    owner_id
from mart_save_opportunities
order by amount_at_risk desc, days_until_churn asc
