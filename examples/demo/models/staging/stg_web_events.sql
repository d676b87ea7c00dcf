---
materialized: view
tags: [staging, web]
description: Site tracker events, one row per event (tracker retries removed), event names lower-cased.
---
-- The tracker sometimes delivers an event twice with the same event_id; keep one.
-- The legacy tracker shouts its event names (PAGE_VIEW); lower-case them.
SELECT
  event_id AS event_id,
  anonymous_id AS anonymous_id,
  user_id AS user_id,
  lower(event_type) AS event_type,
  url AS url,
  occurred_at AS occurred_at,
  {{cast "occurred_at" "date"}} AS event_date
FROM (
  SELECT
    e.*,
    ROW_NUMBER() OVER (PARTITION BY e.event_id ORDER BY e.occurred_at, e.anonymous_id) AS copy_number
  FROM {{source "raw" "web_events"}} AS e
) AS deduplicated
WHERE copy_number = 1
