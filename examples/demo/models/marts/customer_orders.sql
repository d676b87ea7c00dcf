---
materialized: table
unique_key: email
tags: [marts, commerce]
description: >
  Order history per normalised email: counts by status, completed revenue in USD, first and
  last order, and days since the last order as of the project's as_of date.
---
SELECT
  o.email AS email,
  MAX(o.user_id) AS user_id,
  COUNT(*) AS orders_count,
  SUM(CASE WHEN o.status = 'completed' THEN 1 ELSE 0 END) AS completed_orders,
  SUM(CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END) AS refunded_orders,
  SUM(CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled_orders,
  SUM(CASE WHEN o.status = 'completed' THEN o.amount_usd ELSE CAST(0 AS DECIMAL(18, 2)) END) AS revenue_usd,
  MIN(o.ordered_at) AS first_order_at,
  MAX(o.ordered_at) AS last_order_at,
  {{date_diff "day" "MAX(o.ordered_at)" (to_timestamp (literal (var "as_of")))}} AS days_since_last_order
FROM {{ref "stg_orders"}} AS o
WHERE o.email IS NOT NULL
GROUP BY o.email
