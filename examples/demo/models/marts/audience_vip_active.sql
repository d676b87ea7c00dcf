---
materialized: view
tags: [marts, audiences]
description: >
  VIP and active customers: the audience the demo syncs to a file and a webhook. Consent is
  not filtered here — each sync's consent purpose (consent.yml) decides who may be sent.
---
SELECT
  c.email AS email,
  c.first_name AS first_name,
  c.last_name AS last_name,
  c.lifecycle_stage AS lifecycle_stage,
  c.lifetime_revenue_usd AS lifetime_revenue_usd,
  c.orders_count AS orders_count,
  c.last_order_at AS last_order_at,
  c.email_consent AS email_consent
FROM {{ref "customer_360"}} AS c
WHERE c.lifecycle_stage IN ('vip', 'active_customer')
