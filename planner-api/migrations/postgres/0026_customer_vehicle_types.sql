-- Allowed vehicle types per customer (issue 21): the only vehicle types that may serve a
-- customer (a loading dock only a small truck fits, a permit held for one class of vehicle),
-- as a JSON list of vehicle type ids like the other list columns; `[]` is any vehicle. Additive
-- only (expand): the previous release neither reads nor writes it, and its inserts get `[]`.
ALTER TABLE customers ADD COLUMN allowed_vehicle_type_ids TEXT NOT NULL DEFAULT '[]';
