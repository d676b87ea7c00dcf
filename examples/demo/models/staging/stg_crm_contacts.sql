---
materialized: view
tags: [staging, crm]
description: >
  CRM contacts with emails normalised (lower + trim), placeholder junk turned into NULL,
  phones reduced to E.164 (+1 and ten digits), and rows with neither email nor phone dropped.
---
-- Phones arrive as '+1 415-555-0134', '(415) 555 0134', '415.555.0134', '1-415-555-0134' …
-- Stripping separators with REPLACE (not regex) keeps the model portable to every warehouse.
WITH cleaned AS (
  SELECT
    contact_id AS contact_id,
    CASE
      WHEN {{normalize "email"}} IN ('test@test.com', 'null', 'n/a') THEN NULL
      ELSE {{normalize "email"}}
    END AS email,
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(trim(phone), ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', '') AS phone_digits,
    NULLIF(trim(first_name), '') AS first_name,
    NULLIF(trim(last_name), '') AS last_name,
    NULLIF(trim(company_name), '') AS company_name,
    updated_at AS updated_at
  FROM {{source "raw" "crm_contacts"}}
),
phones AS (
  SELECT
    contact_id AS contact_id,
    email AS email,
    CASE
      WHEN LENGTH(phone_digits) = 11 AND SUBSTR(phone_digits, 1, 1) = '1' THEN SUBSTR(phone_digits, 2, 10)
      WHEN LENGTH(phone_digits) = 10 THEN phone_digits
      ELSE NULL
    END AS phone_ten,
    first_name AS first_name,
    last_name AS last_name,
    company_name AS company_name,
    updated_at AS updated_at
  FROM cleaned
)
SELECT
  contact_id AS contact_id,
  email AS email,
  CASE
    WHEN phone_ten IS NULL OR phone_ten IN ('0000000000', '1234567890') THEN NULL
    ELSE '+1' || phone_ten
  END AS phone,
  first_name AS first_name,
  last_name AS last_name,
  company_name AS company_name,
  updated_at AS updated_at
FROM phones
WHERE email IS NOT NULL
   OR (phone_ten IS NOT NULL AND phone_ten NOT IN ('0000000000', '1234567890'))
