-- Drivers tied to vehicles (PostgreSQL): a vehicle's usual driver, and the driver of a vehicle on
-- one day, which overrides the usual one. A driver drives at most one vehicle a day. Deleting a
-- vehicle deletes its assignments; a driver still assigned cannot be deleted.
ALTER TABLE vehicles ADD COLUMN default_driver_id BIGINT REFERENCES drivers (id);
CREATE INDEX vehicles_default_driver ON vehicles (default_driver_id);

CREATE TABLE driver_assignments (
    vehicle_id BIGINT NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
    work_date  DATE NOT NULL,
    driver_id  BIGINT NOT NULL REFERENCES drivers (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (vehicle_id, work_date),
    UNIQUE (driver_id, work_date)
);
