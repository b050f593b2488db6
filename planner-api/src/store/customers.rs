//! SQL for customers. Time windows, usual cylinders and access restrictions are stored as JSON
//! text in both backends.

use super::page::{fetch_page, Bound, Conditions, IdOrder};
use super::{in_use, unique, with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{Customer, FieldError, FieldProblem, NewCustomer, PaymentMethod};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, code, name, phone, address, district, lat, lon, time_windows, usual_cylinders, \
                       access_restrictions, payment_method, allowed_vehicle_type_ids, position_approximate, created_at, updated_at";

/// Which customers a list query returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Only customers in this district.
    pub district: Option<String>,
    /// Only customers whose name, code or address contains this text (case-insensitive), or
    /// whose phone number contains its digits (`0912-345` finds `0912345678`).
    pub search: Option<String>,
}

/// `text` as a `LIKE` pattern matching it anywhere, its wildcards escaped (with `\`).
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The raw columns of a customer row, before the JSON columns are parsed.
struct CustomerRow {
    id: i64,
    code: String,
    name: String,
    phone: Option<String>,
    address: String,
    district: String,
    lat: f64,
    lon: f64,
    time_windows: String,
    usual_cylinders: String,
    access_restrictions: String,
    payment_method: String,
    allowed_vehicle_type_ids: String,
    position_approximate: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Reads the raw columns from a row of either backend.
macro_rules! customer_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<CustomerRow, sqlx::Error>(CustomerRow {
            id: row.try_get("id")?,
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            phone: row.try_get("phone")?,
            address: row.try_get("address")?,
            district: row.try_get("district")?,
            lat: row.try_get("lat")?,
            lon: row.try_get("lon")?,
            time_windows: row.try_get("time_windows")?,
            usual_cylinders: row.try_get("usual_cylinders")?,
            access_restrictions: row.try_get("access_restrictions")?,
            payment_method: row.try_get("payment_method")?,
            allowed_vehicle_type_ids: row.try_get("allowed_vehicle_type_ids")?,
            position_approximate: row.try_get("position_approximate")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }};
}

fn json<T: serde::de::DeserializeOwned>(column: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt { column, source })
}

impl CustomerRow {
    fn into_customer(self) -> Result<Customer, StoreError> {
        let payment_method = PaymentMethod::parse(&self.payment_method).ok_or_else(|| StoreError::Corrupt {
            column: "payment_method",
            source: <serde_json::Error as serde::de::Error>::custom(format!("unknown payment method {}", self.payment_method)),
        })?;
        Ok(Customer {
            id: self.id,
            data: NewCustomer {
                code: self.code,
                name: self.name,
                phone: self.phone,
                address: self.address,
                district: self.district,
                lat: self.lat,
                lon: self.lon,
                time_windows: json("time_windows", &self.time_windows)?,
                usual_cylinders: json("usual_cylinders", &self.usual_cylinders)?,
                access_restrictions: json("access_restrictions", &self.access_restrictions)?,
                payment_method,
                allowed_vehicle_type_ids: json("allowed_vehicle_type_ids", &self.allowed_vehicle_type_ids)?,
            },
            position_approximate: self.position_approximate,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The JSON texts of a customer's list columns.
pub(crate) struct JsonColumns {
    pub(crate) time_windows: String,
    pub(crate) usual_cylinders: String,
    pub(crate) access_restrictions: String,
    pub(crate) allowed_vehicle_type_ids: String,
}

impl JsonColumns {
    pub(crate) fn of(c: &NewCustomer) -> Result<Self, StoreError> {
        let enc = |column, r: Result<String, serde_json::Error>| r.map_err(|source| StoreError::Corrupt { column, source });
        Ok(JsonColumns {
            time_windows: enc("time_windows", serde_json::to_string(&c.time_windows))?,
            usual_cylinders: enc("usual_cylinders", serde_json::to_string(&c.usual_cylinders))?,
            access_restrictions: enc("access_restrictions", serde_json::to_string(&c.access_restrictions))?,
            allowed_vehicle_type_ids: enc("allowed_vehicle_type_ids", serde_json::to_string(&c.allowed_vehicle_type_ids))?,
        })
    }
}

impl Store {
    /// Lists customers by id, optionally in one district, a page at a time (by offset or by
    /// key; the district's keyset pages scan the index `customers_district_id`).
    pub async fn list_customers(&self, filter: &CustomerFilter, page: PageRequest) -> Result<Page<Customer>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(district) = &filter.district {
            conditions.eq("district", Bound::Text(district.into()));
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let text = conditions.param(Bound::Text(contains_pattern(&search.to_lowercase()).into()));
            let mut terms = vec![
                format!("LOWER(name) LIKE {text} ESCAPE '\\'"),
                format!("LOWER(code) LIKE {text} ESCAPE '\\'"),
                format!("LOWER(address) LIKE {text} ESCAPE '\\'"),
            ];
            let digits: String = search.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 3 {
                let phone = conditions.param(Bound::Text(contains_pattern(&digits).into()));
                terms.push(format!("REPLACE(REPLACE(REPLACE(COALESCE(phone, ''), '-', ''), ' ', ''), '+886', '0') LIKE {phone}"));
            }
            conditions.term(format!("({})", terms.join(" OR ")));
        }
        let query = page.query(COLUMNS, "customers", conditions, IdOrder::Ascending);
        let (rows, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| customer_row!(r)));
        let items = rows.into_iter().map(CustomerRow::into_customer).collect::<Result<_, _>>()?;
        Ok(query.page(items, total, |c| c.id))
    }

    /// Reads one customer.
    pub async fn get_customer(&self, id: i64) -> Result<Customer, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            customer_row!(&row)?
        });
        row.into_customer()
    }

    /// The customers with these codes (for the legacy import), in no particular order.
    pub async fn customers_by_codes(&self, codes: &[String]) -> Result<Vec<Customer>, StoreError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE code IN ({})", super::jobs::placeholders(1, codes.len()));
        let rows = with_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for c in codes {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?.iter().map(|r| customer_row!(r)).collect::<Result<Vec<_>, _>>()?
        });
        rows.into_iter().map(CustomerRow::into_customer).collect()
    }

    /// Every customer, by id (the legacy reconciliation compares them all).
    pub async fn all_customers(&self) -> Result<Vec<Customer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM customers ORDER BY id");
        let rows = with_pool!(self, pool => sqlx::query(&sql).fetch_all(pool).await?.iter().map(|r| customer_row!(r)).collect::<Result<Vec<_>, _>>()?);
        rows.into_iter().map(CustomerRow::into_customer).collect()
    }

    /// Stores a new customer; a taken code gives [`StoreError::Duplicate`].
    pub async fn create_customer(&self, c: &NewCustomer) -> Result<Customer, StoreError> {
        self.check_vehicle_types(&c.allowed_vehicle_type_ids).await?;
        let now = Utc::now();
        let j = JsonColumns::of(c)?;
        let sql = format!(
            "INSERT INTO customers (code, name, phone, address, district, lat, lon, time_windows, usual_cylinders, \
             access_restrictions, payment_method, created_at, updated_at, allowed_vehicle_type_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING {COLUMNS}"
        );
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&c.code).bind(&c.name).bind(&c.phone).bind(&c.address).bind(&c.district).bind(c.lat).bind(c.lon)
                .bind(&j.time_windows).bind(&j.usual_cylinders).bind(&j.access_restrictions).bind(c.payment_method.as_str()).bind(now)
                .bind(&j.allowed_vehicle_type_ids)
                .fetch_one(pool).await.map_err(unique("code"))?;
            customer_row!(&row)?
        });
        row.into_customer()
    }

    /// Replaces a customer's fields (a new position is no longer approximate); a code taken by
    /// another customer gives [`StoreError::Duplicate`].
    pub async fn update_customer(&self, id: i64, c: &NewCustomer) -> Result<Customer, StoreError> {
        self.check_vehicle_types(&c.allowed_vehicle_type_ids).await?;
        let now = Utc::now();
        let j = JsonColumns::of(c)?;
        let sql = format!(
            "UPDATE customers SET code = $1, name = $2, phone = $3, address = $4, district = $5, lat = $6, lon = $7, \
             time_windows = $8, usual_cylinders = $9, access_restrictions = $10, payment_method = $11, updated_at = $12, \
             position_approximate = CASE WHEN lat = $6 AND lon = $7 THEN position_approximate ELSE FALSE END, \
             allowed_vehicle_type_ids = $14 \
             WHERE id = $13 RETURNING {COLUMNS}"
        );
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&c.code).bind(&c.name).bind(&c.phone).bind(&c.address).bind(&c.district).bind(c.lat).bind(c.lon)
                .bind(&j.time_windows).bind(&j.usual_cylinders).bind(&j.access_restrictions).bind(c.payment_method.as_str()).bind(now)
                .bind(id).bind(&j.allowed_vehicle_type_ids)
                .fetch_optional(pool).await.map_err(unique("code"))?.ok_or(StoreError::NotFound)?;
            customer_row!(&row)?
        });
        row.into_customer()
    }

    /// [`StoreError::Invalid`] naming each of `ids` (a customer's allowed vehicle types) that is
    /// no vehicle type.
    async fn check_vehicle_types(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut errors = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let found: i64 = with_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM vehicle_types WHERE id = $1").bind(id).fetch_one(pool).await?);
            if found == 0 {
                errors.push(FieldError::new(format!("allowed_vehicle_type_ids[{i}]"), FieldProblem::UnknownReference));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Invalid(errors))
        }
    }

    /// Whether some customer may be served only by vehicle types that include `vehicle_type_id`.
    pub(crate) async fn vehicle_type_allowed_by_customers(&self, vehicle_type_id: i64) -> Result<bool, StoreError> {
        // The column is written by `JsonColumns` as `[2,9]`: without brackets, between commas.
        let sql = "SELECT COUNT(*) FROM customers \
                   WHERE ',' || REPLACE(REPLACE(allowed_vehicle_type_ids, '[', ''), ']', '') || ',' LIKE $1";
        let pattern = format!("%,{vehicle_type_id},%");
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(sql).bind(&pattern).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// Deletes a customer; one with orders gives [`StoreError::InUse`].
    pub async fn delete_customer(&self, id: i64) -> Result<(), StoreError> {
        let affected =
            with_pool!(self, pool => sqlx::query("DELETE FROM customers WHERE id = $1").bind(id).execute(pool).await.map_err(in_use)?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
