---
materialized: table
unique_key: customer_key
tags: [marts, profiles]
description: >
  One row per known person (normalised email) across the app, CRM, orders and B2B
  memberships: identity, contact data, company, order value, recent web activity, consent
  per channel and a lifecycle stage.
---
WITH as_of AS (
  SELECT {{to_timestamp (literal (var "as_of"))}} AS as_of_at
),
emails AS (
  SELECT email AS email FROM (
    SELECT email AS email FROM {{ref "stg_app_users"}} WHERE email IS NOT NULL
    UNION ALL
    SELECT email AS email FROM {{ref "crm_people"}}
    UNION ALL
    SELECT email AS email FROM {{ref "customer_orders"}}
    UNION ALL
    SELECT email AS email FROM {{ref "company_current_members"}}
  ) AS all_emails
  GROUP BY email
),
app_users AS (
  SELECT
    user_id AS user_id,
    email AS email,
    phone AS phone,
    first_name AS first_name,
    last_name AS last_name,
    created_at AS created_at
  FROM (
    SELECT
      u.*,
      ROW_NUMBER() OVER (PARTITION BY u.email ORDER BY u.created_at DESC, u.user_id DESC) AS recency
    FROM {{ref "stg_app_users"}} AS u
    WHERE u.email IS NOT NULL
  ) AS ranked
  WHERE recency = 1
),
web AS (
  SELECT
    w.user_id AS user_id,
    MAX(w.occurred_at) AS last_seen_at,
    SUM(CASE WHEN w.occurred_at >= {{date_add "day" -30 "a.as_of_at"}} THEN 1 ELSE 0 END) AS web_events_30d
  FROM {{ref "stg_web_events"}} AS w
  CROSS JOIN as_of AS a
  WHERE w.user_id IS NOT NULL
  GROUP BY w.user_id
),
profiles AS (
  SELECT
    e.email AS email,
    u.user_id AS user_id,
    COALESCE(u.first_name, p.first_name) AS first_name,
    COALESCE(u.last_name, p.last_name) AS last_name,
    COALESCE(u.phone, p.phone) AS phone,
    u.created_at AS registered_at,
    p.contact_id AS crm_contact_id,
    p.duplicate_count AS crm_duplicates,
    COALESCE(m.company_name, p.company_name) AS company_name,
    m.company_domain AS company_domain,
    m.title AS job_title,
    m.companies_worked_at AS companies_worked_at,
    COALESCE(o.orders_count, 0) AS orders_count,
    COALESCE(o.completed_orders, 0) AS completed_orders,
    COALESCE(o.revenue_usd, CAST(0 AS DECIMAL(18, 2))) AS lifetime_revenue_usd,
    o.first_order_at AS first_order_at,
    o.last_order_at AS last_order_at,
    o.days_since_last_order AS days_since_last_order,
    w.last_seen_at AS last_seen_at,
    COALESCE(w.web_events_30d, 0) AS web_events_30d
  FROM emails AS e
  LEFT JOIN app_users AS u ON u.email = e.email
  LEFT JOIN {{ref "crm_people"}} AS p ON p.email = e.email
  LEFT JOIN {{ref "company_current_members"}} AS m ON m.email = e.email
  LEFT JOIN {{ref "customer_orders"}} AS o ON o.email = e.email
  LEFT JOIN web AS w ON w.user_id = u.user_id
)
SELECT
  {{hash "pr.email"}} AS customer_key,
  pr.email AS email,
  pr.user_id AS user_id,
  pr.first_name AS first_name,
  pr.last_name AS last_name,
  pr.phone AS phone,
  pr.registered_at AS registered_at,
  pr.crm_contact_id AS crm_contact_id,
  pr.crm_duplicates AS crm_duplicates,
  pr.company_name AS company_name,
  pr.company_domain AS company_domain,
  pr.job_title AS job_title,
  pr.companies_worked_at AS companies_worked_at,
  CASE WHEN pr.company_domain IS NOT NULL THEN 1 ELSE 0 END AS is_b2b,
  pr.orders_count AS orders_count,
  pr.completed_orders AS completed_orders,
  pr.lifetime_revenue_usd AS lifetime_revenue_usd,
  pr.first_order_at AS first_order_at,
  pr.last_order_at AS last_order_at,
  pr.days_since_last_order AS days_since_last_order,
  pr.last_seen_at AS last_seen_at,
  pr.web_events_30d AS web_events_30d,
  COALESCE(ce.status, 'unknown') AS email_consent,
  COALESCE(ca.status, 'unknown') AS ads_consent,
  COALESCE(cs.status, 'unknown') AS sms_consent,
  COALESCE(cp.status, 'unknown') AS push_consent,
  CASE
    WHEN pr.completed_orders >= 3 AND pr.lifetime_revenue_usd >= 300 THEN 'vip'
    WHEN pr.completed_orders > 0 AND pr.days_since_last_order <= 90 THEN 'active_customer'
    WHEN pr.completed_orders > 0 THEN 'lapsed_customer'
    WHEN pr.user_id IS NOT NULL THEN 'registered'
    ELSE 'lead'
  END AS lifecycle_stage
FROM profiles AS pr
LEFT JOIN {{ref "consent_latest"}} AS ce
  ON ce.subject_type = 'email' AND ce.channel = 'email' AND ce.subject_value = pr.email
LEFT JOIN {{ref "consent_latest"}} AS ca
  ON ca.subject_type = 'email' AND ca.channel = 'ads' AND ca.subject_value = pr.email
LEFT JOIN {{ref "consent_latest"}} AS cs
  ON cs.subject_type = 'phone' AND cs.channel = 'sms' AND cs.subject_value = pr.phone
LEFT JOIN {{ref "consent_latest"}} AS cp
  ON cp.subject_type = 'user_id' AND cp.channel = 'push' AND cp.subject_value = pr.user_id
