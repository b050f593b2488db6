//! [`Record`] for each exported table: the fields read in the table's column order (see
//! [`crate::schema`]) and written back in the same order.

use super::fields::{self, Cursor};
use super::{FieldError, Record};
use crate::codes::{CustomerKind, DeliveryResult, OrderSource, OrderStatus, Payment, Schedule, TimePref, SIZES_KG};
use crate::record::{Customer, Delivery, Order, OrderLine, Quantities, MAX_QUANTITY};
use crate::schema::{Table, CUST_MST, DLV_REC, ORD_DTL, ORD_HDR};
use einvoice::money::Ntd;

fn quantities<S: AsRef<str>>(c: &mut Cursor<'_, S>) -> Result<Quantities, FieldError> {
    let mut q = [0u16; 5];
    for slot in &mut q {
        *slot = c.count(MAX_QUANTITY)?;
    }
    Ok(Quantities(q))
}

fn amount(n: Ntd) -> String {
    n.0.to_string()
}

impl Record for Customer {
    const TABLE: &'static Table = &CUST_MST;

    fn from_fields<S: AsRef<str>>(f: &[S]) -> Result<Self, FieldError> {
        let mut c = Cursor::new(Self::TABLE, f)?;
        let code = c.customer_no()?;
        let name = c.required_text()?;
        let kind = c.code(CustomerKind::from_code, CustomerKind::ALLOWED)?;
        let (tel1, tel2, city, area, address) = (c.text()?, c.text()?, c.text()?, c.text()?, c.text()?);
        let position = c.position()?;
        let schedule = c.code(Schedule::from_code, Schedule::ALLOWED)?;
        let days = schedule.days();
        let schedule_day = c.number(i64::from(*days.start()), i64::from(*days.end()))? as u8;
        let usual = quantities(&mut c)?;
        let time_pref = c.code(TimePref::from_code, TimePref::ALLOWED)?;
        let payment = c.code(Payment::from_code, Payment::ALLOWED)?;
        let memo = c.text()?;
        let stopped = c.flag()?;
        let created = c.date()?;
        let updated = c.stamp()?;
        Ok(Customer {
            code,
            name,
            kind,
            tel1,
            tel2,
            city,
            area,
            address,
            position,
            schedule,
            schedule_day,
            usual,
            time_pref,
            payment,
            memo,
            stopped,
            created,
            updated,
        })
    }

    fn to_fields(&self) -> Vec<String> {
        let (lat, lon) = match self.position {
            Some(p) => (fields::degrees(p.lat_e6), fields::degrees(p.lon_e6)),
            None => (String::new(), String::new()),
        };
        let mut out = vec![
            self.code.clone(),
            self.name.clone(),
            self.kind.code().to_string(),
            self.tel1.clone(),
            self.tel2.clone(),
            self.city.clone(),
            self.area.clone(),
            self.address.clone(),
            lat,
            lon,
            self.schedule.code().to_string(),
            self.schedule_day.to_string(),
        ];
        out.extend(self.usual.0.iter().map(u16::to_string));
        out.extend([
            self.time_pref.code().to_string(),
            self.payment.code().to_string(),
            self.memo.clone(),
            fields::flag(self.stopped),
            fields::roc(self.created),
        ]);
        out.extend(fields::stamp(&self.updated));
        out
    }

    fn key(&self) -> String {
        self.code.clone()
    }
}

impl Record for Order {
    const TABLE: &'static Table = &ORD_HDR;

    fn from_fields<S: AsRef<str>>(f: &[S]) -> Result<Self, FieldError> {
        let mut c = Cursor::new(Self::TABLE, f)?;
        Ok(Order {
            number: c.serial()?,
            ordered: c.date()?,
            customer: c.customer_no()?,
            delivery_date: c.date()?,
            time_pref: c.code(TimePref::from_code, TimePref::ALLOWED)?,
            source: c.code(OrderSource::from_code, OrderSource::ALLOWED)?,
            urgent: c.flag()?,
            status: c.code(OrderStatus::from_code, OrderStatus::ALLOWED)?,
            total: c.amount()?,
            memo: c.text()?,
            updated: c.stamp()?,
        })
    }

    fn to_fields(&self) -> Vec<String> {
        let mut out = vec![
            self.number.clone(),
            fields::roc(self.ordered),
            self.customer.clone(),
            fields::roc(self.delivery_date),
            self.time_pref.code().to_string(),
            self.source.code().to_string(),
            fields::flag(self.urgent),
            self.status.code().to_string(),
            amount(self.total),
            self.memo.clone(),
        ];
        out.extend(fields::stamp(&self.updated));
        out
    }

    fn key(&self) -> String {
        self.number.clone()
    }
}

impl Record for OrderLine {
    const TABLE: &'static Table = &ORD_DTL;

    fn from_fields<S: AsRef<str>>(f: &[S]) -> Result<Self, FieldError> {
        let mut c = Cursor::new(Self::TABLE, f)?;
        let order = c.serial()?;
        let seq = c.number(1, 999)? as u16;
        let size_kg = c.code(
            |t| t.parse::<u16>().ok().filter(|kg| SIZES_KG.contains(kg) && !t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit())),
            "4, 10, 16, 20 or 50 (kg)",
        )?;
        Ok(OrderLine { order, seq, size_kg, quantity: c.count(MAX_QUANTITY)?, unit_price: c.amount()?, amount: c.amount()? })
    }

    fn to_fields(&self) -> Vec<String> {
        vec![self.order.clone(), self.seq.to_string(), self.size_kg.to_string(), self.quantity.to_string(), amount(self.unit_price), amount(self.amount)]
    }

    fn key(&self) -> String {
        format!("{}/{}", self.order, self.seq)
    }
}

impl Record for Delivery {
    const TABLE: &'static Table = &DLV_REC;

    fn from_fields<S: AsRef<str>>(f: &[S]) -> Result<Self, FieldError> {
        let mut c = Cursor::new(Self::TABLE, f)?;
        Ok(Delivery {
            number: c.serial()?,
            order: c.serial()?,
            customer: c.customer_no()?,
            date: c.date()?,
            time: c.time(4)?,
            driver: c.text()?,
            result: c.code(DeliveryResult::from_code, DeliveryResult::ALLOWED)?,
            delivered: quantities(&mut c)?,
            collected: c.amount()?,
            updated: c.stamp()?,
        })
    }

    fn to_fields(&self) -> Vec<String> {
        let mut out = vec![
            self.number.clone(),
            self.order.clone(),
            self.customer.clone(),
            fields::roc(self.date),
            fields::hhmm(self.time),
            self.driver.clone(),
            self.result.code().to_string(),
        ];
        out.extend(self.delivered.0.iter().map(u16::to_string));
        out.push(amount(self.collected));
        out.extend(fields::stamp(&self.updated));
        out
    }

    fn key(&self) -> String {
        self.number.clone()
    }
}
