-- Vehicles (PostgreSQL): a plate, its vehicle type and its depot. Types and depots in use cannot
-- be deleted (the default NO ACTION, as in SQLite).
CREATE TABLE vehicles (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plate           TEXT NOT NULL UNIQUE,
    vehicle_type_id BIGINT NOT NULL REFERENCES vehicle_types (id),
    depot_id        BIGINT NOT NULL REFERENCES depots (id),
    active          BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX vehicles_vehicle_type ON vehicles (vehicle_type_id);
CREATE INDEX vehicles_depot ON vehicles (depot_id);
