-- Win-back list grouped by the former account owner: who should call whom, and why.
select
    coalesce(owner_id, '(no owner)') as owner_id,
    priority,
    account_name,
    contact_name,
    contact_email,
    trigger,
    reason_category,
    eligible_from,
    trigger_detail
from mart_reengagement_candidates
where is_eligible_now
order by owner_id, priority, eligible_from, account_name
