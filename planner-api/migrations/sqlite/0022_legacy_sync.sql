-- Legacy sync (issue 18): the data behind `luckygas legacy import` and the dual write to the old
-- system's database.
--
-- customers.position_approximate: the position is the centroid of the customer's district (an
-- imported customer without coordinates), not the address's; a person setting a position clears it.
ALTER TABLE customers ADD COLUMN position_approximate INTEGER NOT NULL DEFAULT 0;

-- The dual write rides on the one outbox: channel 'legacy', `entity` the changed entity
-- ('customer:12', 'order:40'), which orders the changes per entity; `destination` is unique per
-- change and is the idempotency key recorded on the legacy side (SYNC_KEY), so a change the
-- sync worker applied is never applied twice. A change that failed too often is a dead letter
-- (`dead_at`), kept for an operator to inspect and replay. The body names the entity only: the
-- worker applies the entity's state as it is when the change is applied (its latest), so the
-- rows of one entity that wait together are applied as one. The worker reads the oldest due rows
-- (outbox_channel_pending) and the few held back by a retry or a dead letter (outbox_legacy_held),
-- which keep their entity's later rows waiting.
ALTER TABLE outbox ADD COLUMN entity TEXT;
ALTER TABLE outbox ADD COLUMN dead_at TEXT;
CREATE INDEX outbox_entity_pending ON outbox (entity, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_channel_pending ON outbox (channel, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_legacy_held ON outbox (entity, id) WHERE delivered_at IS NULL AND (dead_at IS NOT NULL OR lease_expires_ms IS NOT NULL);

-- legacy_links: which legacy record is which entity here: CUST_NO, ORD_NO, DLV_NO. A merged
-- duplicate customer links its number to the survivor (`merged_into` its number); `digest` is
-- the digest of the legacy record(s) as last agreed by both sides.
CREATE TABLE legacy_links (
    entity      TEXT NOT NULL CHECK (entity IN ('customer', 'order', 'delivery')),
    legacy_no   TEXT NOT NULL,
    id          INTEGER NOT NULL,
    merged_into TEXT,
    digest      TEXT,
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (entity, legacy_no)
);
CREATE UNIQUE INDEX legacy_links_id ON legacy_links (entity, id) WHERE merged_into IS NULL;

-- legacy_imports: each `luckygas legacy import` that wrote, with its report (JSON).
CREATE TABLE legacy_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    report      TEXT
);

-- legacy_sync: whether this installation has a legacy system to keep in step (set by `luckygas
-- legacy init` and by the service started with a legacy database; `luckygas legacy off` clears
-- it once the old system is retired). Without it no change is queued for the old side.
CREATE TABLE legacy_sync (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    enabled    INTEGER NOT NULL,
    changed_at TEXT NOT NULL
);
INSERT INTO legacy_sync (id, enabled, changed_at) VALUES (1, 0, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));

-- Every change of a customer, an order or a collection writes its outbox row in its own
-- transaction, whatever wrote it (the API, the planner, the import): triggers, so no code path
-- can forget one.
CREATE TRIGGER customers_legacy_outbox_insert AFTER INSERT ON customers
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'customer/' || NEW.id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'customer', 'id', NEW.id, 'op', 'insert') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'customer:' || NEW.id);
END;
CREATE TRIGGER customers_legacy_outbox_update AFTER UPDATE ON customers
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'customer/' || NEW.id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'customer', 'id', NEW.id, 'op', 'update') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'customer:' || NEW.id);
END;
CREATE TRIGGER customers_legacy_outbox_delete AFTER DELETE ON customers
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'customer/' || OLD.id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'customer', 'id', OLD.id, 'op', 'delete') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'customer:' || OLD.id);
END;
CREATE TRIGGER orders_legacy_outbox_insert AFTER INSERT ON orders
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'order/' || NEW.id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'order', 'id', NEW.id, 'op', 'insert') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'order:' || NEW.id);
END;
CREATE TRIGGER orders_legacy_outbox_update AFTER UPDATE ON orders
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'order/' || NEW.id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'order', 'id', NEW.id, 'op', 'update') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'order:' || NEW.id);
END;
CREATE TRIGGER collections_legacy_outbox_insert AFTER INSERT ON collections
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'order/' || NEW.order_id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'order', 'id', NEW.order_id, 'op', 'update') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'order:' || NEW.order_id);
END;
CREATE TRIGGER collections_legacy_outbox_update AFTER UPDATE ON collections
    WHEN (SELECT enabled FROM legacy_sync WHERE id = 1) BEGIN
    INSERT INTO outbox (channel, destination, body, created_at, entity)
    VALUES ('legacy', 'order/' || NEW.order_id || '/' || lower(hex(randomblob(16))),
            CAST(json_object('entity', 'order', 'id', NEW.order_id, 'op', 'update') AS BLOB),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'order:' || NEW.order_id);
END;
