-- Legacy sync (PostgreSQL); see the SQLite twin for the design.
ALTER TABLE customers ADD COLUMN position_approximate BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE outbox ADD COLUMN entity TEXT;
ALTER TABLE outbox ADD COLUMN dead_at TIMESTAMPTZ;
CREATE INDEX outbox_entity_pending ON outbox (entity, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_channel_pending ON outbox (channel, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_legacy_held ON outbox (entity, id) WHERE delivered_at IS NULL AND (dead_at IS NOT NULL OR lease_expires_ms IS NOT NULL);

CREATE TABLE legacy_links (
    entity      TEXT NOT NULL CHECK (entity IN ('customer', 'order', 'delivery')),
    legacy_no   TEXT NOT NULL,
    id          BIGINT NOT NULL,
    merged_into TEXT,
    digest      TEXT,
    linked_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (entity, legacy_no)
);
CREATE UNIQUE INDEX legacy_links_id ON legacy_links (entity, id) WHERE merged_into IS NULL;

CREATE TABLE legacy_imports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    report      TEXT
);

CREATE TABLE legacy_sync (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    enabled    BOOLEAN NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO legacy_sync (id, enabled, changed_at) VALUES (1, FALSE, now());

CREATE FUNCTION legacy_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ent TEXT := TG_ARGV[0];
    rid BIGINT;
BEGIN
    IF NOT (SELECT enabled FROM legacy_sync WHERE id = 1) THEN
        RETURN NULL;
    END IF;
    -- A collection changes its order; the row's fields are read by name, as the trigger serves
    -- tables with and without an order_id.
    IF TG_OP = 'DELETE' THEN
        rid := (to_jsonb(OLD) ->> CASE WHEN ent = 'collection' THEN 'order_id' ELSE 'id' END)::BIGINT;
    ELSE
        rid := (to_jsonb(NEW) ->> CASE WHEN ent = 'collection' THEN 'order_id' ELSE 'id' END)::BIGINT;
    END IF;
    IF ent = 'collection' THEN
        ent := 'order';
    END IF;
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', ent || '/' || rid || '/' || replace(gen_random_uuid()::text, '-', ''),
            convert_to(json_build_object('entity', ent, 'id', rid, 'op', lower(TG_OP))::text, 'UTF8'),
            clock_timestamp(), ent || ':' || rid);
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_legacy_outbox AFTER INSERT OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION legacy_outbox('customer');
CREATE TRIGGER customers_legacy_outbox_update AFTER UPDATE ON customers
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION legacy_outbox('customer');
CREATE TRIGGER orders_legacy_outbox AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION legacy_outbox('order');
CREATE TRIGGER orders_legacy_outbox_update AFTER UPDATE ON orders
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION legacy_outbox('order');
CREATE TRIGGER collections_legacy_outbox AFTER INSERT OR UPDATE ON collections
    FOR EACH ROW EXECUTE FUNCTION legacy_outbox('collection');
