//! SQL for drivers. Skills are JSON text in both backends.

use super::page::{fetch_page, Conditions, IdOrder};
use super::{in_use, with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{Driver, NewDriver};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, name, phone, skills, active, created_at, updated_at";

/// The raw columns of a driver row, before the skills are parsed.
struct DriverRow {
    id: i64,
    name: String,
    phone: Option<String>,
    skills: String,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Reads the raw columns from a row of either backend.
macro_rules! driver_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<DriverRow, sqlx::Error>(DriverRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            phone: row.try_get("phone")?,
            skills: row.try_get("skills")?,
            active: row.try_get("active")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }};
}

impl DriverRow {
    fn into_driver(self) -> Result<Driver, StoreError> {
        let skills = serde_json::from_str(&self.skills).map_err(|source| StoreError::Corrupt { column: "skills", source })?;
        Ok(Driver {
            id: self.id,
            data: NewDriver { name: self.name, phone: self.phone, skills, active: self.active },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn skills_json(d: &NewDriver) -> Result<String, StoreError> {
    serde_json::to_string(&d.skills).map_err(|source| StoreError::Corrupt { column: "skills", source })
}

impl Store {
    /// Lists drivers by id, a page at a time (by offset or by key).
    pub async fn list_drivers(&self, page: PageRequest) -> Result<Page<Driver>, StoreError> {
        let query = page.query(COLUMNS, "drivers", Conditions::default(), IdOrder::Ascending);
        let (rows, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| driver_row!(r)));
        let items = rows.into_iter().map(DriverRow::into_driver).collect::<Result<_, _>>()?;
        Ok(query.page(items, total, |d| d.id))
    }

    /// Reads one driver.
    pub async fn get_driver(&self, id: i64) -> Result<Driver, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM drivers WHERE id = $1");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            driver_row!(&row)?
        });
        row.into_driver()
    }

    /// Stores a new driver.
    pub async fn create_driver(&self, d: &NewDriver) -> Result<Driver, StoreError> {
        let now = Utc::now();
        let skills = skills_json(d)?;
        let sql = format!("INSERT INTO drivers (name, phone, skills, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(&d.name).bind(&d.phone).bind(&skills).bind(d.active).bind(now).fetch_one(pool).await?;
            driver_row!(&row)?
        });
        row.into_driver()
    }

    /// Replaces a driver's fields.
    pub async fn update_driver(&self, id: i64, d: &NewDriver) -> Result<Driver, StoreError> {
        let now = Utc::now();
        let skills = skills_json(d)?;
        let sql = format!("UPDATE drivers SET name = $1, phone = $2, skills = $3, active = $4, updated_at = $5 WHERE id = $6 RETURNING {COLUMNS}");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&d.name).bind(&d.phone).bind(&skills).bind(d.active).bind(now).bind(id)
                .fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            driver_row!(&row)?
        });
        row.into_driver()
    }

    /// Deletes a driver; one that a user account is tied to gives [`StoreError::InUse`].
    pub async fn delete_driver(&self, id: i64) -> Result<(), StoreError> {
        let affected = with_pool!(self, pool => sqlx::query("DELETE FROM drivers WHERE id = $1").bind(id).execute(pool).await.map_err(in_use)?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
