//! SQL for driver assignments: which driver drives a vehicle on a day (overriding the vehicle's
//! `default_driver_id`), and the reverse question a driver asks: which vehicles do I drive today.

use super::{with_pool, Store, StoreError};
use crate::domain::Assignment;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

const COLUMNS: &str = "vehicle_id, work_date, driver_id, created_at";

macro_rules! assignment_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<Assignment, sqlx::Error>(Assignment {
            vehicle_id: row.try_get("vehicle_id")?,
            date: row.try_get("work_date")?,
            driver_id: row.try_get("driver_id")?,
            created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
        })
    }};
}

impl Store {
    /// Makes `driver_id` the driver of vehicle `vehicle_id` on `date`, replacing the day's
    /// previous assignment of the vehicle. An unknown vehicle is [`StoreError::NotFound`], an
    /// unknown driver [`StoreError::UnknownReference`], a driver who already drives another
    /// vehicle that day [`StoreError::Duplicate`] on `driver_id`.
    pub async fn assign_driver(&self, vehicle_id: i64, date: NaiveDate, driver_id: i64) -> Result<Assignment, StoreError> {
        self.get_vehicle(vehicle_id).await?;
        let sql = format!(
            "INSERT INTO driver_assignments (vehicle_id, work_date, driver_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (vehicle_id, work_date) DO UPDATE SET driver_id = excluded.driver_id, created_at = excluded.created_at \
             RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        let result = with_pool!(self, pool => {
            match sqlx::query(&sql).bind(vehicle_id).bind(date).bind(driver_id).bind(now).fetch_one(pool).await {
                Ok(row) => Ok(assignment_from_row!(&row)?),
                Err(e) => Err(e),
            }
        });
        result.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::UnknownReference(vec!["driver_id"]),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate { field: "driver_id" },
            _ => StoreError::Database(e),
        })
    }

    /// Removes the assignment of vehicle `vehicle_id` on `date` (its usual driver drives again).
    pub async fn unassign_driver(&self, vehicle_id: i64, date: NaiveDate) -> Result<(), StoreError> {
        let sql = "DELETE FROM driver_assignments WHERE vehicle_id = $1 AND work_date = $2";
        let affected = with_pool!(self, pool => sqlx::query(sql).bind(vehicle_id).bind(date).execute(pool).await?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The day-by-day assignments of a vehicle, oldest day first.
    pub async fn list_assignments(&self, vehicle_id: i64) -> Result<Vec<Assignment>, StoreError> {
        self.get_vehicle(vehicle_id).await?;
        let sql = format!("SELECT {COLUMNS} FROM driver_assignments WHERE vehicle_id = $1 ORDER BY work_date");
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(vehicle_id).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| assignment_from_row!(r)).collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Who drives each vehicle on `date`: `vehicle → (driver, name)`, the driver assigned that
    /// day, else the vehicle's usual driver unless that driver is assigned to another vehicle
    /// that day (the converse of [`Store::vehicles_driven_by`]).
    pub async fn drivers_on(&self, date: NaiveDate) -> Result<std::collections::HashMap<i64, (i64, String)>, StoreError> {
        let sql = "SELECT a.vehicle_id AS vehicle_id, d.id AS driver_id, d.name AS name \
                   FROM driver_assignments a JOIN drivers d ON d.id = a.driver_id WHERE a.work_date = $1 \
                   UNION ALL \
                   SELECT v.id AS vehicle_id, d.id AS driver_id, d.name AS name FROM vehicles v JOIN drivers d ON d.id = v.default_driver_id \
                   WHERE NOT EXISTS (SELECT 1 FROM driver_assignments a WHERE a.vehicle_id = v.id AND a.work_date = $1) \
                   AND NOT EXISTS (SELECT 1 FROM driver_assignments b WHERE b.driver_id = v.default_driver_id AND b.work_date = $1)";
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(date).fetch_all(pool).await?;
            let mut m = std::collections::HashMap::new();
            for r in &rows {
                let vehicle: i64 = sqlx::Row::try_get(r, "vehicle_id")?;
                m.insert(vehicle, (sqlx::Row::try_get(r, "driver_id")?, sqlx::Row::try_get(r, "name")?));
            }
            Ok(m)
        })
    }

    /// The vehicles `driver_id` drives on `date`: the one they are assigned to that day, or, if
    /// they have no assignment that day, the vehicles they usually drive that nobody else is
    /// assigned to that day.
    pub async fn vehicles_driven_by(&self, driver_id: i64, date: NaiveDate) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT vehicle_id AS id FROM driver_assignments WHERE driver_id = $1 AND work_date = $2 \
                   UNION \
                   SELECT v.id FROM vehicles v WHERE v.default_driver_id = $1 \
                   AND NOT EXISTS (SELECT 1 FROM driver_assignments a WHERE a.vehicle_id = v.id AND a.work_date = $2) \
                   AND NOT EXISTS (SELECT 1 FROM driver_assignments b WHERE b.driver_id = $1 AND b.work_date = $2) \
                   ORDER BY id";
        with_pool!(self, pool => {
            let ids: Vec<i64> = sqlx::query_scalar(sql).bind(driver_id).bind(date).fetch_all(pool).await?;
            Ok(ids)
        })
    }
}
