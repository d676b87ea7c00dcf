---
materialized: view
tags: [staging, commerce]
description: >
  Orders with normalised email, upper-case currency and amounts as exact decimals, plus the
  amount in USD at fixed demo rates (decimal arithmetic, so every warehouse sums the same).
---
-- amount is a two-decimal float in the source; DECIMAL(18,2) makes sums exact and identical
-- on every warehouse (float sums depend on the order the engine adds them in).
SELECT
  order_id AS order_id,
  user_id AS user_id,
  {{normalize "email"}} AS email,
  CAST(amount AS DECIMAL(18, 2)) AS amount,
  upper(trim(currency)) AS currency,
  CAST(
    CAST(amount AS DECIMAL(18, 2)) *
    CASE upper(trim(currency))
      WHEN 'EUR' THEN CAST(1.0850 AS DECIMAL(10, 4))
      WHEN 'GBP' THEN CAST(1.2700 AS DECIMAL(10, 4))
      WHEN 'THB' THEN CAST(0.0285 AS DECIMAL(10, 4))
      ELSE CAST(1.0000 AS DECIMAL(10, 4))
    END
  AS DECIMAL(18, 2)) AS amount_usd,
  lower(status) AS status,
  ordered_at AS ordered_at
FROM {{source "raw" "orders"}}
