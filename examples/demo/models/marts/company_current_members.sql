---
materialized: table
unique_key: email
tags: [marts, b2b]
description: >
  Each B2B person's current company (membership without an end date; the latest if there are
  several), with firmographics and how many companies they have worked at.
---
WITH history AS (
  SELECT
    {{normalize "email"}} AS email,
    COUNT(*) AS companies_worked_at
  FROM {{source "raw" "memberships"}}
  GROUP BY {{normalize "email"}}
),
current_memberships AS (
  SELECT
    {{normalize "m.email"}} AS email,
    m.company_id AS company_id,
    m.title AS title,
    m.started_at AS started_at,
    ROW_NUMBER() OVER (
      PARTITION BY {{normalize "m.email"}}
      ORDER BY m.started_at DESC, m.company_id DESC
    ) AS recency
  FROM {{source "raw" "memberships"}} AS m
  WHERE m.ended_at IS NULL
)
SELECT
  cm.email AS email,
  cm.company_id AS company_id,
  c.name AS company_name,
  {{normalize "c.domain"}} AS company_domain,
  c.industry AS industry,
  c.employees AS employees,
  -- Firmographics mix ISO codes with spelled-out names; fold the spellings we know.
  CASE upper(trim(c.country))
    WHEN 'USA' THEN 'US'
    WHEN 'UNITED STATES' THEN 'US'
    WHEN 'UNITED KINGDOM' THEN 'GB'
    WHEN 'GERMANY' THEN 'DE'
    WHEN 'THAILAND' THEN 'TH'
    WHEN 'RUSSIA' THEN 'RU'
    WHEN 'CHINA' THEN 'CN'
    ELSE upper(trim(c.country))
  END AS country,
  cm.title AS title,
  cm.started_at AS started_at,
  {{date_diff "day" "cm.started_at" (to_timestamp (literal (var "as_of")))}} AS tenure_days,
  h.companies_worked_at AS companies_worked_at
FROM current_memberships AS cm
JOIN {{source "raw" "companies"}} AS c ON c.company_id = cm.company_id
LEFT JOIN history AS h ON h.email = cm.email
WHERE cm.recency = 1 AND cm.email IS NOT NULL
