---
materialized: incremental
unique_key: [activity_date, event_type]
tags: [marts, web]
description: >
  Site activity per day and event type. Incremental: a run re-reads only the last three days
  before the newest day already built (late events land there) and replaces those days.
---
SELECT
  e.event_date AS activity_date,
  e.event_type AS event_type,
  COUNT(*) AS events,
  COUNT(DISTINCT e.anonymous_id) AS visitors,
  COUNT(DISTINCT e.user_id) AS known_users
FROM {{ref "stg_web_events"}} AS e
{{#if is_incremental}}
-- Whole days from three days before the newest built day, so replaced days are complete.
WHERE e.event_date >= (SELECT {{cast (date_add "day" -3 "MAX(activity_date)") "date"}} FROM {{this}})
{{/if}}
GROUP BY e.event_date, e.event_type
