-- Vehicle types (SQLite). Cylinder slots and required skills are JSON text.
CREATE TABLE vehicle_types (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('truck', 'heavy_motorcycle')),
    cylinder_slots  TEXT NOT NULL,
    max_load_kg     INTEGER NOT NULL,
    max_gas_kg      INTEGER NOT NULL,
    required_skills TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
