-- Keyset pages of every collection (SQLite): `WHERE <filters> AND id > cursor ORDER BY id LIMIT n`
-- (or `id < cursor … DESC` for the lists shown newest first). Each filter's index ends with the
-- id, so a page is one range scan in the list's order, whatever the number of matching rows.
-- (Orders got theirs in 0019; plans use `plan_jobs_claim (status, id)` and the audit log's
-- users `audit_log_user (user_id, id)`, both older.)
DROP INDEX customers_district;
CREATE INDEX customers_district_id ON customers (district, id);

DROP INDEX invoices_period;
CREATE INDEX invoices_period_status_id ON invoices (period, status, id);
CREATE INDEX invoices_period_id ON invoices (period, id);
CREATE INDEX invoices_status_id ON invoices (status, id);
-- An order's invoices (`?order_id=`) through the lines that name it.
CREATE INDEX invoice_items_order ON invoice_items (order_id);

CREATE INDEX einvoice_messages_status_id ON einvoice_messages (status, id);

-- The audit log of one record (`?path=/v1/orders/7`): the path itself and the paths under it
-- are one equality and one range of this index, compared byte by byte (SQLite's default).
CREATE INDEX audit_log_path_id ON audit_log (path, id);
