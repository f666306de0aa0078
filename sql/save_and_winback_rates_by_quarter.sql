-- Save rate and win-back rate per quarter across all reasons (rates recomputed from the counts,
-- never averaged), plus time to acknowledge weighted by acknowledged notices.
select
    date_trunc('quarter', kpi_month) as quarter,
    sum(notice_count) as notices,
    sum(saved_count) as saved,
    round(sum(saved_count) / nullif(sum(resolved_notice_count), 0), 3) as save_rate,
    sum(churn_count) as churned,
    sum(won_back_count) as won_back,
    round(sum(won_back_count) / nullif(sum(churn_count), 0), 3) as win_back_rate,
    round(sum(avg_days_to_acknowledge * acknowledged_count) / nullif(sum(acknowledged_count), 0), 2)
        as avg_days_to_acknowledge
from mart_churn_kpis_monthly
group by all
order by quarter
