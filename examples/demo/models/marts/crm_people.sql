---
materialized: table
unique_key: email
tags: [marts, crm]
description: One CRM record per normalised email — the most recently updated duplicate wins.
---
SELECT
  email AS email,
  contact_id AS contact_id,
  first_name AS first_name,
  last_name AS last_name,
  phone AS phone,
  company_name AS company_name,
  updated_at AS updated_at,
  duplicate_count AS duplicate_count
FROM (
  SELECT
    c.email AS email,
    c.contact_id AS contact_id,
    c.first_name AS first_name,
    c.last_name AS last_name,
    c.phone AS phone,
    c.company_name AS company_name,
    c.updated_at AS updated_at,
    COUNT(*) OVER (PARTITION BY c.email) AS duplicate_count,
    ROW_NUMBER() OVER (PARTITION BY c.email ORDER BY c.updated_at DESC, c.contact_id DESC) AS recency
  FROM {{ref "stg_crm_contacts"}} AS c
  WHERE c.email IS NOT NULL
) AS ranked
WHERE recency = 1
