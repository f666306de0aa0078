-- CRM activities (tasks, logged calls, meetings, events, emails) that complete an offboarding
-- step, each on the churn event it belongs to.
-- Matching rules come from config warehouse.checklist_activity_patterns, one entry per step:
--   a list of subject substrings, or a mapping with
--     subject:        substrings of the subject
--     body:           substrings of the body text (call notes, meeting notes, descriptions)
--     body_activity:  activity types or subtypes whose body is read (default: conversations,
--                     [call, meeting, event]; a Salesforce Log a Call is a task of subtype Call)
--     activity_types: only activities of these types or subtypes match at all (default: any)
-- All case-insensitive. A subject match wins over a body match, then the step order decides.
-- An activity belongs to its account's latest churn event noticed on or before the activity's
-- due (or done) date: a step is never done for a notice that has not arrived yet.
{%- set default_rules = {
    'acknowledge': {'subject': ['acknowledg', 'ack call']},
    'save_assessment': {'subject': ['save call', 'save assessment', 'retention offer']},
    'data_handover': {'subject': ['data export', 'data hand-over', 'data handover']},
    'exit_interview': {'subject': ['exit interview'], 'body': ['exit interview', 'exit call', 'offboarding interview']},
    'followup': {'subject': ['follow-up', 'follow up', 'check-in']},
} %}
{%- set configured = var('checklist_activity_patterns', default_rules) or default_rules %}
{%- set steps = ['acknowledge', 'save_assessment', 'data_handover', 'exit_interview', 'followup'] %}
{%- set rules = {} %}
{%- for step in steps %}
    {%- set rule = configured.get(step, default_rules[step]) %}
    {%- if rule is mapping %}
        {%- do rules.update({step: rule}) %}
    {%- else %}
        {%- do rules.update({step: {'subject': rule or []}}) %}
    {%- endif %}
{%- endfor %}


with

activities as (
    select
        source_system,
        task_id as activity_id,
        account_id,
        activity_type,
        activity_subtype,
        subject,
        body_text,
        cast(coalesce(due_at, completed_at) as date) as due_date,
        completed_at
    from {{ ref('int_account_tasks_unioned') }}
),

churn_events as (
    select
        churn_event_id,
        account_id,
        notice_at,
        churned_at
    from {{ ref('int_churn_events_merged') }}
),

stepped as (
    select
        *,
        case
            {%- for step in steps %}
                {%- set rule = rules[step] %}
                when
                    {{ activity_kind_in(rule.get('activity_types', [])) }}
                    and {{ contains_any('subject', rule.get('subject', [])) }} then '{{ step }}'
            {%- endfor %}
            {%- for step in steps %}
                {%- set rule = rules[step] %}
                when
                    {{ activity_kind_in(rule.get('activity_types', [])) }}
                    and {{ activity_kind_in(rule.get('body_activity', ['call', 'meeting', 'event'])) }}
                    and {{ contains_any('body_text', rule.get('body', [])) }} then '{{ step }}'
            {%- endfor %}
        end as checklist_step
    from activities
),

events as (
    select
        churn_event_id,
        account_id,
        cast(coalesce(notice_at, churned_at) as date) as notice_date
    from churn_events
),

final as (
    select
        stepped.source_system,
        stepped.activity_id,
        stepped.account_id,
        events.churn_event_id,
        stepped.checklist_step,
        stepped.activity_type,
        stepped.activity_subtype,
        stepped.subject,
        stepped.due_date,
        stepped.completed_at
    from stepped
    inner join events
        on
            stepped.account_id = events.account_id
            and stepped.due_date >= events.notice_date
    where stepped.checklist_step is not null
    qualify row_number() over (
        partition by stepped.source_system, stepped.activity_type, stepped.activity_id
        order by events.notice_date desc, events.churn_event_id asc
    ) = 1
)

select * from final
