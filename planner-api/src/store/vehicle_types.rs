//! SQL for vehicle types. Cylinder slots and required skills are JSON text in both backends.

use super::page::{fetch_page, Conditions, IdOrder};
use super::{in_use, unique, with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{NewVehicleType, VehicleKind, VehicleType};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, name, kind, cylinder_slots, max_load_kg, max_gas_kg, required_skills, created_at, updated_at";

/// The raw columns of a vehicle type row, before the JSON columns are parsed.
struct VehicleTypeRow {
    id: i64,
    name: String,
    kind: String,
    cylinder_slots: String,
    max_load_kg: i64,
    max_gas_kg: i64,
    required_skills: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Reads the raw columns from a row of either backend.
macro_rules! vehicle_type_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<VehicleTypeRow, sqlx::Error>(VehicleTypeRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            cylinder_slots: row.try_get("cylinder_slots")?,
            max_load_kg: row.try_get("max_load_kg")?,
            max_gas_kg: row.try_get("max_gas_kg")?,
            required_skills: row.try_get("required_skills")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }};
}

fn corrupt(column: &'static str, what: String) -> StoreError {
    StoreError::Corrupt { column, source: <serde_json::Error as serde::de::Error>::custom(what) }
}

fn json<T: serde::de::DeserializeOwned>(column: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt { column, source })
}

impl VehicleTypeRow {
    fn into_vehicle_type(self) -> Result<VehicleType, StoreError> {
        let kind = VehicleKind::parse(&self.kind).ok_or_else(|| corrupt("kind", format!("unknown kind {}", self.kind)))?;
        let kg = |column, v: i64| u32::try_from(v).map_err(|_| corrupt(column, format!("{v} out of range")));
        Ok(VehicleType {
            id: self.id,
            data: NewVehicleType {
                name: self.name,
                kind,
                cylinder_slots: json("cylinder_slots", &self.cylinder_slots)?,
                max_load_kg: kg("max_load_kg", self.max_load_kg)?,
                max_gas_kg: kg("max_gas_kg", self.max_gas_kg)?,
                required_skills: json("required_skills", &self.required_skills)?,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn json_columns(v: &NewVehicleType) -> Result<(String, String), StoreError> {
    let slots = serde_json::to_string(&v.cylinder_slots).map_err(|source| StoreError::Corrupt { column: "cylinder_slots", source })?;
    let skills = serde_json::to_string(&v.required_skills).map_err(|source| StoreError::Corrupt { column: "required_skills", source })?;
    Ok((slots, skills))
}

impl Store {
    /// Lists vehicle types by id, a page at a time (by offset or by key).
    pub async fn list_vehicle_types(&self, page: PageRequest) -> Result<Page<VehicleType>, StoreError> {
        let query = page.query(COLUMNS, "vehicle_types", Conditions::default(), IdOrder::Ascending);
        let (rows, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| vehicle_type_row!(r)));
        let items = rows.into_iter().map(VehicleTypeRow::into_vehicle_type).collect::<Result<_, _>>()?;
        Ok(query.page(items, total, |t| t.id))
    }

    /// Reads one vehicle type.
    pub async fn get_vehicle_type(&self, id: i64) -> Result<VehicleType, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM vehicle_types WHERE id = $1");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            vehicle_type_row!(&row)?
        });
        row.into_vehicle_type()
    }

    /// Stores a new vehicle type; a taken name gives [`StoreError::Duplicate`].
    pub async fn create_vehicle_type(&self, v: &NewVehicleType) -> Result<VehicleType, StoreError> {
        let now = Utc::now();
        let (slots, skills) = json_columns(v)?;
        let sql = format!(
            "INSERT INTO vehicle_types (name, kind, cylinder_slots, max_load_kg, max_gas_kg, required_skills, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        );
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&v.name).bind(v.kind.as_str()).bind(&slots).bind(i64::from(v.max_load_kg)).bind(i64::from(v.max_gas_kg))
                .bind(&skills).bind(now)
                .fetch_one(pool).await.map_err(unique("name"))?;
            vehicle_type_row!(&row)?
        });
        row.into_vehicle_type()
    }

    /// Replaces a vehicle type's fields; a name taken by another type gives
    /// [`StoreError::Duplicate`].
    pub async fn update_vehicle_type(&self, id: i64, v: &NewVehicleType) -> Result<VehicleType, StoreError> {
        let now = Utc::now();
        let (slots, skills) = json_columns(v)?;
        let sql = format!(
            "UPDATE vehicle_types SET name = $1, kind = $2, cylinder_slots = $3, max_load_kg = $4, max_gas_kg = $5, \
             required_skills = $6, updated_at = $7 WHERE id = $8 RETURNING {COLUMNS}"
        );
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&v.name).bind(v.kind.as_str()).bind(&slots).bind(i64::from(v.max_load_kg)).bind(i64::from(v.max_gas_kg))
                .bind(&skills).bind(now).bind(id)
                .fetch_optional(pool).await.map_err(unique("name"))?.ok_or(StoreError::NotFound)?;
            vehicle_type_row!(&row)?
        });
        row.into_vehicle_type()
    }

    /// Deletes a vehicle type; one that vehicles still use, or that a customer's allowed vehicle
    /// types name, gives [`StoreError::InUse`].
    pub async fn delete_vehicle_type(&self, id: i64) -> Result<(), StoreError> {
        if self.vehicle_type_allowed_by_customers(id).await? {
            return Err(StoreError::InUse);
        }
        let affected =
            with_pool!(self, pool => sqlx::query("DELETE FROM vehicle_types WHERE id = $1").bind(id).execute(pool).await.map_err(in_use)?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
