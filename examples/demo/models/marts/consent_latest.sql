---
materialized: table
tags: [marts, consent]
description: >
  Current consent per subject and channel: the latest record wins. Email subjects are
  normalised, so an unsubscribe typed as ' John@Example.COM ' withdraws john@example.com.
---
SELECT
  subject_type AS subject_type,
  subject_value AS subject_value,
  channel AS channel,
  status AS status,
  CASE WHEN status = 'granted' THEN 1 ELSE 0 END AS is_granted,
  recorded_at AS updated_at
FROM (
  SELECT
    c.subject_type AS subject_type,
    c.subject_value AS subject_value,
    c.channel AS channel,
    c.status AS status,
    c.recorded_at AS recorded_at,
    -- status DESC breaks a same-instant tie towards 'withdrawn': when in doubt, do not send.
    ROW_NUMBER() OVER (
      PARTITION BY c.subject_type, c.subject_value, c.channel
      ORDER BY c.recorded_at DESC, c.status DESC
    ) AS recency
  FROM (
    SELECT
      lower(trim(subject_type)) AS subject_type,
      CASE
        WHEN lower(trim(subject_type)) = 'email' THEN {{normalize "subject_value"}}
        ELSE NULLIF(trim(subject_value), '')
      END AS subject_value,
      lower(trim(channel)) AS channel,
      lower(trim(status)) AS status,
      recorded_at AS recorded_at
    FROM {{source "raw" "consents"}}
  ) AS c
  WHERE c.subject_value IS NOT NULL
) AS ranked
WHERE recency = 1
