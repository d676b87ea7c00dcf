---
materialized: view
tags: [staging, app]
description: App accounts with a normalised email (the app trims input but keeps the case people typed).
---
SELECT
  user_id AS user_id,
  {{normalize "email"}} AS email,
  NULLIF(trim(phone), '') AS phone,
  NULLIF(trim(first_name), '') AS first_name,
  NULLIF(trim(last_name), '') AS last_name,
  created_at AS created_at
FROM {{source "raw" "app_users"}}
