-- Vehicle types (PostgreSQL). Cylinder slots and required skills are JSON text, as in SQLite.
CREATE TABLE vehicle_types (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('truck', 'heavy_motorcycle')),
    cylinder_slots  TEXT NOT NULL,
    max_load_kg     BIGINT NOT NULL,
    max_gas_kg      BIGINT NOT NULL,
    required_skills TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
