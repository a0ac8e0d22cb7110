-- tongka-pgload's tables and views (run by the loader at each start; every
-- statement may run again). One row per op in `tongka_ops`; the figures are
-- views over it, so they never disagree with the rows loaded.

-- Every op of the chain, as the node's export gives it.
CREATE TABLE IF NOT EXISTS tongka_ops (
    origin    text        NOT NULL,  -- the node that made it
    seq       bigint      NOT NULL,  -- its number in the origin's log, from 1
    hlc_ms    bigint      NOT NULL,  -- hybrid logical clock: ms since 1970
    hlc_count integer     NOT NULL,
    at        timestamptz NOT NULL,
    day       date        NOT NULL,  -- the chain's calendar day (China time)
    by_whom   text        NOT NULL,  -- staff id or integration token name
    idem      text,                  -- the request's idempotency key
    kind      text        NOT NULL,  -- member_registered, recharged, checked_out, refunded, ...
    member    text,
    amount    numeric(20, 2),        -- the money it moves, as the audit trail shows it
    ledger    jsonb       NOT NULL,  -- its part of each /ledger/summary total
    body      jsonb       NOT NULL,  -- the op's content
    bytes     bytea       NOT NULL,  -- the op as the node's log holds it (signed)
    hash      text        NOT NULL,  -- BLAKE3 of bytes, hex
    PRIMARY KEY (origin, seq)
);
CREATE INDEX IF NOT EXISTS tongka_ops_day ON tongka_ops (day, origin);
CREATE INDEX IF NOT EXISTS tongka_ops_member ON tongka_ops (member);

-- Where each source's export stopped: written in the transaction that
-- loaded the rows before it.
CREATE TABLE IF NOT EXISTS tongka_export_cursor (
    source    text        PRIMARY KEY,  -- the node's URL (or --source)
    cursor    text        NOT NULL,     -- a version vector: origin.seq joined by _
    ops       bigint      NOT NULL DEFAULT 0,  -- ops loaded from it so far
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- The chain's totals: the same figures as GET /api/v1/ledger/summary.
CREATE OR REPLACE VIEW tongka_ledger AS
SELECT
    coalesce(sum((ledger->>'members')::bigint), 0)                 AS members,
    coalesce(sum((ledger->>'recharges')::bigint), 0)               AS recharges,
    round(coalesce(sum((ledger->>'recharged_principal')::numeric), 0), 2) AS recharged_principal,
    round(coalesce(sum((ledger->>'recharged_bonus')::numeric), 0), 2)     AS recharged_bonus,
    coalesce(sum((ledger->>'orders')::bigint), 0)                  AS orders,
    round(coalesce(sum((ledger->>'sales')::numeric), 0), 2)               AS sales,
    round(coalesce(sum((ledger->>'spent_principal')::numeric), 0), 2)     AS spent_principal,
    round(coalesce(sum((ledger->>'spent_bonus')::numeric), 0), 2)         AS spent_bonus,
    coalesce(sum((ledger->>'refunds')::bigint), 0)                 AS refunds,
    round(coalesce(sum((ledger->>'refunded')::numeric), 0), 2)            AS refunded,
    round(coalesce(sum((ledger->>'refunded_principal')::numeric), 0), 2)  AS refunded_principal,
    round(coalesce(sum((ledger->>'refunded_bonus')::numeric), 0), 2)      AS refunded_bonus,
    -- Stored value members hold: recharged − spent + refunded.
    round(coalesce(sum((ledger->>'recharged_principal')::numeric), 0)
        - coalesce(sum((ledger->>'spent_principal')::numeric), 0)
        + coalesce(sum((ledger->>'refunded_principal')::numeric), 0), 2) AS outstanding_principal,
    round(coalesce(sum((ledger->>'recharged_bonus')::numeric), 0)
        - coalesce(sum((ledger->>'spent_bonus')::numeric), 0)
        + coalesce(sum((ledger->>'refunded_bonus')::numeric), 0), 2)     AS outstanding_bonus,
    coalesce(sum((ledger->>'points_issued')::bigint), 0)           AS points_issued,
    coalesce(sum((ledger->>'points_redeemed')::bigint), 0)         AS points_redeemed
FROM tongka_ops;

-- Sales, recharges and refunds per day and store (the store that made the op).
CREATE OR REPLACE VIEW tongka_daily_store AS
SELECT
    day,
    origin                                                          AS store,
    coalesce(sum((ledger->>'orders')::bigint), 0)                  AS orders,
    round(coalesce(sum((ledger->>'sales')::numeric), 0), 2)               AS sales,
    coalesce(sum((ledger->>'recharges')::bigint), 0)               AS recharges,
    round(coalesce(sum((ledger->>'recharged_principal')::numeric), 0), 2) AS recharged_principal,
    round(coalesce(sum((ledger->>'recharged_bonus')::numeric), 0), 2)     AS recharged_bonus,
    coalesce(sum((ledger->>'refunds')::bigint), 0)                 AS refunds,
    round(coalesce(sum((ledger->>'refunded')::numeric), 0), 2)            AS refunded
FROM tongka_ops
WHERE kind IN ('recharged', 'checked_out', 'refunded')
GROUP BY day, origin;
