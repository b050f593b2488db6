//! The rows of the old tables as typed values: what a valid row means. Text fields keep what the
//! clerks typed (phones and addresses in every spelling; [`crate::clean`] normalises them), with
//! surrounding spaces trimmed; codes, dates, times and numbers are parsed.
//!
//! [`crate::export`] reads and writes them (the [`crate::export::Record`] trait); the same
//! conversion serves rows read from the legacy database as text.

use crate::codes::{CustomerKind, DeliveryResult, OrderSource, OrderStatus, Payment, Schedule, TimePref, SIZES_KG};
use chrono::{NaiveDate, NaiveTime};
use einvoice::money::Ntd;

/// Customer numbers are `C` and four digits.
pub const CUSTOMER_NO_LEN: usize = 5;
/// Order and delivery numbers are eleven digits: the ROC date of the day it was made and a
/// four-digit sequence of that day (`11512040001`).
pub const SERIAL_LEN: usize = 11;
/// The largest quantity of one size on a line or a delivery (a `SMALLINT`, kept to three digits).
pub const MAX_QUANTITY: u16 = 999;
/// The largest amount of an order, a line or a collection: NT$ 99,999,999.
pub const MAX_AMOUNT: i64 = 99_999_999;

/// Cylinder counts per size, in the order of [`SIZES_KG`] (4, 10, 16, 20, 50 kg).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quantities(pub [u16; 5]);

impl Quantities {
    /// The count of `size_kg` cylinders (0 for a size the old program does not know).
    pub fn of(&self, size_kg: u16) -> u16 {
        SIZES_KG.iter().position(|s| *s == size_kg).map_or(0, |i| self.0[i])
    }

    /// Sets the count of `size_kg` cylinders; `false` (and nothing changed) for an unknown size.
    pub fn set(&mut self, size_kg: u16, count: u16) -> bool {
        match SIZES_KG.iter().position(|s| *s == size_kg) {
            Some(i) => {
                self.0[i] = count;
                true
            }
            None => false,
        }
    }

    /// The total number of cylinders.
    pub fn total(&self) -> u32 {
        self.0.iter().map(|q| u32::from(*q)).sum()
    }

    /// `(size_kg, count)` for every size with a count above zero.
    pub fn nonzero(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        SIZES_KG.iter().zip(self.0).filter(|(_, q)| *q > 0).map(|(s, q)| (*s, q))
    }
}

/// A position in microdegrees (WGS 84): the six decimals of the old `NUMERIC(9,6)` columns,
/// kept as integers so that nothing compares floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LatLon {
    /// Latitude × 10⁶, −90,000,000 ..= 90,000,000.
    pub lat_e6: i32,
    /// Longitude × 10⁶, −180,000,000 ..= 180,000,000.
    pub lon_e6: i32,
}

impl LatLon {
    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        f64::from(self.lat_e6) / 1e6
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        f64::from(self.lon_e6) / 1e6
    }

    /// The position nearest `lat`, `lon` degrees, if they are finite and in range.
    pub fn from_degrees(lat: f64, lon: f64) -> Option<LatLon> {
        let e6 = |v: f64, max: f64| (v.is_finite() && v.abs() <= max).then(|| (v * 1e6).round() as i32);
        Some(LatLon { lat_e6: e6(lat, 90.0)?, lon_e6: e6(lon, 180.0)? })
    }
}

/// The old program's "last changed" stamp: `UPD_DT`, `UPD_TM`, `UPD_USER`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stamp {
    /// The day (Taipei), from the ROC date `UPD_DT`.
    pub date: NaiveDate,
    /// The time to the second, `UPD_TM` `HHMMSS`.
    pub time: NaiveTime,
    /// Who changed it last: a clerk's login, or [`crate::schema::SYNC_USER`].
    pub user: String,
}

/// A row of `CUST_MST` 客戶主檔.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// `CUST_NO`: `C` and four digits.
    pub code: String,
    /// `CUST_NM`: at most 40 Big5 bytes, not empty.
    pub name: String,
    /// `CUST_TYP`.
    pub kind: CustomerKind,
    /// `TEL1`, as typed (see [`crate::clean::phone`]); may be empty.
    pub tel1: String,
    /// `TEL2`, as typed; often empty.
    pub tel2: String,
    /// `CITY` 縣市 (`台北市`, `臺北市`, `新北市`); may be empty.
    pub city: String,
    /// `AREA` 區 (`信義區`); may be empty.
    pub area: String,
    /// `ADDR`, as typed: sometimes with the city and district again (see
    /// [`crate::clean::address`]).
    pub address: String,
    /// `LAT` and `LON`: both present or both NULL.
    pub position: Option<LatLon>,
    /// `SCHED`.
    pub schedule: Schedule,
    /// `SCHED_DAY`, within [`Schedule::days`].
    pub schedule_day: u8,
    /// `USU_04` … `USU_50`: the usual order.
    pub usual: Quantities,
    /// `TIME_PREF`.
    pub time_pref: TimePref,
    /// `PAY_TYPE`.
    pub payment: Payment,
    /// `MEMO` 備註: directions, gate codes, "請按門鈴".
    pub memo: String,
    /// `STOP_FG` `Y`: no longer served.
    pub stopped: bool,
    /// `CRT_DT`: the day the record was created.
    pub created: NaiveDate,
    /// `UPD_DT`, `UPD_TM`, `UPD_USER`.
    pub updated: Stamp,
}

/// A row of `ORD_HDR` 訂單主檔.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// `ORD_NO`: eleven digits.
    pub number: String,
    /// `ORD_DT`: the day the order was taken.
    pub ordered: NaiveDate,
    /// `CUST_NO`: the customer (not checked to exist: the old database has no foreign keys).
    pub customer: String,
    /// `DLV_DT`: the day the delivery is wanted.
    pub delivery_date: NaiveDate,
    /// `TIME_PREF`.
    pub time_pref: TimePref,
    /// `ORD_SRC`.
    pub source: OrderSource,
    /// `URGENT` `Y`: out of gas.
    pub urgent: bool,
    /// `STATUS`.
    pub status: OrderStatus,
    /// `TOT_AMT`: NT$, 0 ..= [`MAX_AMOUNT`] (the old program does not check it against the lines).
    pub total: Ntd,
    /// `MEMO`.
    pub memo: String,
    /// `UPD_DT`, `UPD_TM`, `UPD_USER` (a change to a line stamps the header).
    pub updated: Stamp,
}

/// A row of `ORD_DTL` 訂單明細.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    /// `ORD_NO`: the order.
    pub order: String,
    /// `SEQ`: 1, 2, … within the order.
    pub seq: u16,
    /// `CYL_KG`: one of [`SIZES_KG`].
    pub size_kg: u16,
    /// `QTY`: 0 ..= [`MAX_QUANTITY`].
    pub quantity: u16,
    /// `PRICE`: NT$ per cylinder.
    pub unit_price: Ntd,
    /// `AMT`: NT$ (normally `PRICE × QTY`; not checked, the old program allowed discounts).
    pub amount: Ntd,
}

/// A row of `DLV_REC` 送貨紀錄: one attempt to deliver an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// `DLV_NO`: eleven digits.
    pub number: String,
    /// `ORD_NO`: the order.
    pub order: String,
    /// `CUST_NO`: the customer.
    pub customer: String,
    /// `DLV_DT`.
    pub date: NaiveDate,
    /// `DLV_TM` `HHMM`: when the driver reported it.
    pub time: NaiveTime,
    /// `DRV_NO`: the driver's code (`D001`).
    pub driver: String,
    /// `RESULT`.
    pub result: DeliveryResult,
    /// `DLV_04` … `DLV_50`: full cylinders left (zero unless delivered).
    pub delivered: Quantities,
    /// `COLL_AMT`: cash taken at the door, NT$ (zero for transfer and monthly customers).
    pub collected: Ntd,
    /// `UPD_DT`, `UPD_TM`, `UPD_USER`.
    pub updated: Stamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_by_size() {
        let mut q = Quantities::default();
        assert!(q.set(20, 2) && q.set(50, 1));
        assert!(!q.set(18, 1));
        assert_eq!((q.of(20), q.of(50), q.of(4), q.of(18)), (2, 1, 0, 0));
        assert_eq!(q.total(), 3);
        assert_eq!(q.nonzero().collect::<Vec<_>>(), [(20, 2), (50, 1)]);
    }

    #[test]
    fn positions_round_to_microdegrees() {
        let p = LatLon::from_degrees(25.0330124, 121.5680).unwrap();
        assert_eq!((p.lat_e6, p.lon_e6), (25_033_012, 121_568_000));
        assert!(LatLon::from_degrees(91.0, 0.0).is_none());
        assert!(LatLon::from_degrees(f64::NAN, 0.0).is_none());
    }
}
