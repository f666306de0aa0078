-- Were the warning signs there? Pre-notice signals of churned accounts against retained accounts
-- over the same dates, averaged per primary reason.
select
    primary_reason_category as reason,
    count(*) as churn_events,
    round(avg(cases_90d), 2) as cases_90d,
    round(avg(baseline_cases_90d), 2) as retained_cases_90d,
    round(avg(activities_90d), 2) as activities_90d,
    round(avg(baseline_activities_90d), 2) as retained_activities_90d,
    round(avg(nps_avg_90d), 2) as nps_90d,
    round(avg(baseline_nps_avg_90d), 2) as retained_nps_90d,
    count(*) filter (where had_downgrade) as downgraded_before_notice
from mart_churn_lookback
where churn_status = 'churned'
group by primary_reason_category
order by churn_events desc, reason asc
