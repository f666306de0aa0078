-- Offboarding steps that are overdue right now (missing: due date passed, never done), one row per
-- churn event and step, oldest first, with the CRM owner to chase.
with steps as (
    unpivot (
        select
            churn_event_id,
            account_id,
            owner_id,
            acknowledge_status,
            save_assessment_status,
            data_handover_status,
            exit_interview_status,
            feedback_routed_status,
            followup_status
        from mart_offboarding_checklist
    )
    on acknowledge_status, save_assessment_status, data_handover_status,
    exit_interview_status, feedback_routed_status, followup_status
    into name step value status
),

due as (
    unpivot (
        select
            churn_event_id,
            acknowledge_due_date,
            save_assessment_due_date,
            data_handover_due_date,
            exit_interview_due_date,
            feedback_routed_due_date,
            followup_due_date
        from mart_offboarding_checklist
    )
    on acknowledge_due_date, save_assessment_due_date, data_handover_due_date,
    exit_interview_due_date, feedback_routed_due_date, followup_due_date
    into name step value due_date
)

select
    accounts.account_name,
    replace(steps.step, '_status', '') as step,
    due.due_date,
    current_date - due.due_date as days_overdue,
    steps.owner_id
from steps
inner join due
    on
        steps.churn_event_id = due.churn_event_id
        and replace(due.step, '_due_date', '') = replace(steps.step, '_status', '')
left join dim_accounts as accounts on steps.account_id = accounts.account_id
where steps.status = 'missing'
order by due.due_date, accounts.account_name, step
