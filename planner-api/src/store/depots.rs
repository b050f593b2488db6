//! SQL for depots.

use super::page::{fetch_page, Conditions, IdOrder};
use super::{in_use, with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{Depot, NewDepot};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, name, address, lat, lon, created_at, updated_at";

/// Reads a depot from a row of either backend.
macro_rules! depot_from_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<Depot, sqlx::Error>(Depot {
            id: row.try_get("id")?,
            data: NewDepot { name: row.try_get("name")?, address: row.try_get("address")?, lat: row.try_get("lat")?, lon: row.try_get("lon")? },
            created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
            updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
        })
    }};
}

impl Store {
    /// Lists depots by id, a page at a time (by offset or by key).
    pub async fn list_depots(&self, page: PageRequest) -> Result<Page<Depot>, StoreError> {
        let query = page.query(COLUMNS, "depots", Conditions::default(), IdOrder::Ascending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| depot_from_row!(r)));
        Ok(query.page(items, total, |d| d.id))
    }

    /// Reads one depot.
    pub async fn get_depot(&self, id: i64) -> Result<Depot, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM depots WHERE id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            Ok(depot_from_row!(&row)?)
        })
    }

    /// Stores a new depot.
    pub async fn create_depot(&self, d: &NewDepot) -> Result<Depot, StoreError> {
        let now = Utc::now();
        let sql = format!("INSERT INTO depots (name, address, lat, lon, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(&d.name).bind(&d.address).bind(d.lat).bind(d.lon).bind(now).fetch_one(pool).await?;
            Ok(depot_from_row!(&row)?)
        })
    }

    /// Replaces a depot's fields.
    pub async fn update_depot(&self, id: i64, d: &NewDepot) -> Result<Depot, StoreError> {
        let now = Utc::now();
        let sql = format!("UPDATE depots SET name = $1, address = $2, lat = $3, lon = $4, updated_at = $5 WHERE id = $6 RETURNING {COLUMNS}");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&d.name).bind(&d.address).bind(d.lat).bind(d.lon).bind(now).bind(id)
                .fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            Ok(depot_from_row!(&row)?)
        })
    }

    /// Deletes a depot; one that vehicles still use gives [`StoreError::InUse`].
    pub async fn delete_depot(&self, id: i64) -> Result<(), StoreError> {
        let affected = with_pool!(self, pool => sqlx::query("DELETE FROM depots WHERE id = $1").bind(id).execute(pool).await.map_err(in_use)?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
