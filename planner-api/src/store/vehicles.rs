//! SQL for vehicles, which reference a vehicle type, a depot and optionally their usual driver.

use super::page::{fetch_page, Conditions, IdOrder};
use super::{unique, with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{NewVehicle, Vehicle};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, plate, vehicle_type_id, depot_id, active, default_driver_id, created_at, updated_at";

/// Reads a vehicle from a row of either backend.
macro_rules! vehicle_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<Vehicle, sqlx::Error>(Vehicle {
            id: row.try_get("id")?,
            data: NewVehicle {
                plate: row.try_get("plate")?,
                vehicle_type_id: row.try_get("vehicle_type_id")?,
                depot_id: row.try_get("depot_id")?,
                active: row.try_get("active")?,
                default_driver_id: row.try_get("default_driver_id")?,
            },
            created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
            updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
        })
    }};
}

impl Store {
    /// Lists vehicles by id, a page at a time (by offset or by key).
    pub async fn list_vehicles(&self, page: PageRequest) -> Result<Page<Vehicle>, StoreError> {
        let query = page.query(COLUMNS, "vehicles", Conditions::default(), IdOrder::Ascending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| vehicle_from_row!(r)));
        Ok(query.page(items, total, |v| v.id))
    }

    /// Reads one vehicle.
    pub async fn get_vehicle(&self, id: i64) -> Result<Vehicle, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM vehicles WHERE id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            Ok(vehicle_from_row!(&row)?)
        })
    }

    /// Names the reference fields of `v` whose ids exist nowhere.
    async fn missing_references(&self, v: &NewVehicle) -> Result<Vec<&'static str>, StoreError> {
        let sql = "SELECT (SELECT COUNT(*) FROM vehicle_types WHERE id = $1) AS types, (SELECT COUNT(*) FROM depots WHERE id = $2) AS depots, \
                   (SELECT COUNT(*) FROM drivers WHERE id = $3) AS drivers";
        let (types, depots, drivers): (i64, i64, i64) = with_pool!(self, pool => {
            let row = sqlx::query(sql).bind(v.vehicle_type_id).bind(v.depot_id).bind(v.default_driver_id.unwrap_or(0)).fetch_one(pool).await?;
            (row.try_get("types")?, row.try_get("depots")?, row.try_get("drivers")?)
        });
        let drivers = if v.default_driver_id.is_some() { drivers } else { 1 };
        Ok([("vehicle_type_id", types), ("depot_id", depots), ("default_driver_id", drivers)].into_iter().filter(|(_, n)| *n == 0).map(|(f, _)| f).collect())
    }

    /// Turns a failed write into the precise error: a foreign-key violation names the missing
    /// references, a unique violation is a duplicate plate.
    async fn write_error(&self, v: &NewVehicle, e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => match self.missing_references(v).await {
                Ok(fields) if !fields.is_empty() => StoreError::UnknownReference(fields),
                Ok(_) => StoreError::Database(e),
                Err(other) => other,
            },
            _ => unique("plate")(e),
        }
    }

    /// Stores a new vehicle; a taken plate gives [`StoreError::Duplicate`], unknown type or
    /// depot ids give [`StoreError::UnknownReference`].
    pub async fn create_vehicle(&self, v: &NewVehicle) -> Result<Vehicle, StoreError> {
        let now = Utc::now();
        let sql = format!(
            "INSERT INTO vehicles (plate, vehicle_type_id, depot_id, active, created_at, updated_at, default_driver_id) \
             VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING {COLUMNS}"
        );
        let result = with_pool!(self, pool => {
            match sqlx::query(&sql).bind(&v.plate).bind(v.vehicle_type_id).bind(v.depot_id).bind(v.active).bind(now).bind(v.default_driver_id)
                .fetch_one(pool).await
            {
                Ok(row) => Ok(vehicle_from_row!(&row)?),
                Err(e) => Err(e),
            }
        });
        match result {
            Ok(vehicle) => Ok(vehicle),
            Err(e) => Err(self.write_error(v, e).await),
        }
    }

    /// Replaces a vehicle's fields, with the same errors as [`Store::create_vehicle`].
    pub async fn update_vehicle(&self, id: i64, v: &NewVehicle) -> Result<Vehicle, StoreError> {
        let now = Utc::now();
        let sql = format!(
            "UPDATE vehicles SET plate = $1, vehicle_type_id = $2, depot_id = $3, active = $4, updated_at = $5, default_driver_id = $7 \
             WHERE id = $6 RETURNING {COLUMNS}"
        );
        let result = with_pool!(self, pool => {
            match sqlx::query(&sql).bind(&v.plate).bind(v.vehicle_type_id).bind(v.depot_id).bind(v.active).bind(now).bind(id)
                .bind(v.default_driver_id)
                .fetch_optional(pool).await
            {
                Ok(Some(row)) => Ok(Some(vehicle_from_row!(&row)?)),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            }
        });
        match result {
            Ok(Some(vehicle)) => Ok(vehicle),
            Ok(None) => Err(StoreError::NotFound),
            Err(e) => Err(self.write_error(v, e).await),
        }
    }

    /// Deletes a vehicle.
    pub async fn delete_vehicle(&self, id: i64) -> Result<(), StoreError> {
        let affected = with_pool!(self, pool => sqlx::query("DELETE FROM vehicles WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
