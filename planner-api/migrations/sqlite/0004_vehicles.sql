-- Vehicles (SQLite): a plate, its vehicle type and its depot. Types and depots in use cannot be
-- deleted (the default NO ACTION; SQLite reports RESTRICT with a different error code).
CREATE TABLE vehicles (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    plate           TEXT NOT NULL UNIQUE,
    vehicle_type_id INTEGER NOT NULL REFERENCES vehicle_types (id),
    depot_id        INTEGER NOT NULL REFERENCES depots (id),
    active          BOOLEAN NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX vehicles_vehicle_type ON vehicles (vehicle_type_id);
CREATE INDEX vehicles_depot ON vehicles (depot_id);
