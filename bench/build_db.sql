-- Benchmark schema: a few wide-ish SaaS tables; :rows is split across them.
CREATE TABLE bench_orders (
    id bigint PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(14, 2) NOT NULL,
    created_at timestamptz NOT NULL,
    attrs jsonb,
    note text
);
CREATE TABLE bench_events (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    at timestamptz NOT NULL
);
CREATE TABLE bench_blobs (
    id bigint PRIMARY KEY,
    digest bytea NOT NULL,
    body text
);
INSERT INTO bench_orders
SELECT g, 'customer-' || (g % 9973), (g % 100000) / 100.0, timestamptz '2026-01-01' + g * interval '1 second',
       jsonb_build_object('tier', g % 3, 'tags', jsonb_build_array('a', g % 7)),
       CASE WHEN g % 5 = 0 THEN NULL ELSE repeat('x', g % 40) END
FROM generate_series(1, (:rows * 4 / 10)) g;
INSERT INTO bench_events
SELECT g, g % 100000, CASE g % 4 WHEN 0 THEN 'click' WHEN 1 THEN 'view' WHEN 2 THEN 'buy' ELSE 'error' END,
       jsonb_build_object('n', g, 'ok', g % 2 = 0), timestamptz '2026-01-01' + g * interval '250 ms'
FROM generate_series(1, (:rows * 5 / 10)) g;
INSERT INTO bench_blobs
SELECT g, decode(md5(g::text), 'hex'), md5((g * 7)::text) || md5(g::text)
FROM generate_series(1, (:rows / 10)) g;
