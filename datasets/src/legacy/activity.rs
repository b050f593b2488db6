//! A period of orders and deliveries following the customers' schedules, with the noise of a
//! real distributor: skipped and shifted deliveries, extra urgent calls, failed and cancelled
//! attempts, a cylinder fewer than ordered. No deliveries on Sundays.

use super::{days_after, stamp, LegacyError, LegacyOptions, Profile, CLERKS};
use crate::rng::SplitMix64;
use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};
use einvoice::calendar::{format_roc, RocStyle};
use einvoice::money::Ntd;
use legacy::codes::{DeliveryResult, OrderSource, OrderStatus, Payment, Schedule, TimePref, SIZES_KG};
use legacy::{Delivery, Order, OrderLine, Quantities, Stamp};
use std::collections::HashMap;

/// What the period produced, each list in key order.
pub(super) struct Activity {
    pub orders: Vec<Order>,
    pub lines: Vec<OrderLine>,
    pub deliveries: Vec<Delivery>,
}

/// List prices at the start, NT$ per cylinder of 4, 10, 16, 20 and 50 kg (Taipei, 2025).
const BASE_PRICES: [i64; 5] = [230, 480, 720, 880, 2100];

/// Daily sequence numbers: `ROC date` + four digits.
struct Numbers(HashMap<NaiveDate, u32>);

impl Numbers {
    fn next(&mut self, date: NaiveDate) -> Result<String, LegacyError> {
        let seq = self.0.entry(date).or_insert(0);
        *seq += 1;
        if *seq > 9999 {
            return Err(LegacyError::TooManyOnOneDay(date));
        }
        let roc = format_roc(date, RocStyle::Compact).map_err(|_| LegacyError::TooManyOnOneDay(date))?;
        Ok(format!("{roc}{:04}", *seq))
    }
}

/// The next day deliveries are made on (not a Sunday).
fn next_working_day(date: NaiveDate) -> NaiveDate {
    let next = days_after(date, 1);
    if next.weekday() == Weekday::Sun {
        days_after(next, 1)
    } else {
        next
    }
}

/// The working day before `date`.
fn previous_working_day(date: NaiveDate) -> NaiveDate {
    let prev = date - Days::new(1);
    if prev.weekday() == Weekday::Sun {
        prev - Days::new(1)
    } else {
        prev
    }
}

/// A time within the customer's preferred part of the day.
fn time_in(rng: &mut SplitMix64, pref: TimePref) -> NaiveTime {
    let (from, to): (u32, u32) = match pref {
        TimePref::Morning => (8 * 60, 12 * 60),
        TimePref::Afternoon => (13 * 60, 18 * 60),
        TimePref::Any => (8 * 60, 18 * 60),
    };
    let minute = from + rng.below((to - from) as usize) as u32;
    NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN)
}

/// Prices per month: a random walk of at most ±2% a month (CPC's monthly price moves).
fn price_table(rng: &mut SplitMix64, options: &LegacyOptions) -> HashMap<(i32, u32), i64> {
    let mut table = HashMap::new();
    let mut percent: i64 = 100;
    let mut date = options.start.with_day(1).unwrap_or(options.start) - Days::new(1);
    let end = days_after(options.start, u64::from(options.days) + 31);
    while date <= end {
        table.insert((date.year(), date.month()), percent);
        percent = (percent + rng.between(-2, 2)).clamp(90, 115);
        date = days_after(date.with_day(1).unwrap_or(date), 32).with_day(1).unwrap_or(date);
    }
    table
}

/// Runs the period for `profiles`.
pub(super) fn simulate(rng: &mut SplitMix64, profiles: &[Profile], options: &LegacyOptions) -> Result<Activity, LegacyError> {
    let prices = price_table(rng, options);
    let price = |date: NaiveDate, size: usize| BASE_PRICES[size] * prices.get(&(date.year(), date.month())).copied().unwrap_or(100) / 100;
    let end = days_after(options.start, u64::from(options.days) - 1);
    let mut order_numbers = Numbers(HashMap::new());
    let mut delivery_numbers = Numbers(HashMap::new());
    let mut next_call: Vec<NaiveDate> =
        profiles.iter().map(|p| days_after(p.created.max(options.start), rng.below(p.interval.max(1) as usize) as u64)).collect();
    let mut activity = Activity { orders: Vec::new(), lines: Vec::new(), deliveries: Vec::new() };

    for d in 0..u64::from(options.days) {
        let date = days_after(options.start, d);
        if date.weekday() == Weekday::Sun {
            continue;
        }
        for (i, p) in profiles.iter().enumerate() {
            if date <= p.created || p.stop.is_some_and(|s| date > s) {
                continue;
            }
            let (source, urgent, delivery_date) = match p.schedule {
                Schedule::OnCall if date >= next_call[i] => {
                    let factor = 80 + rng.below(41) as u32;
                    next_call[i] = days_after(date, u64::from(p.interval * factor / 100).max(1));
                    let urgent = rng.chance(0.1);
                    (OrderSource::Phone, urgent, if urgent { date } else { next_working_day(date) })
                }
                Schedule::OnCall => continue,
                schedule => {
                    // A monthly day that falls on a Sunday is delivered on the Monday.
                    let due = schedule.is_due(p.day, date)
                        || (date.weekday() == Weekday::Mon && schedule == Schedule::Monthly && schedule.is_due(p.day, date - Days::new(1)));
                    if due && !rng.chance(0.05) {
                        let shifted = if rng.chance(0.1) { next_working_day(date) } else { date };
                        (OrderSource::Schedule, false, shifted)
                    } else if !due && rng.chance(0.003) {
                        (OrderSource::Phone, true, date)
                    } else {
                        continue;
                    }
                }
            };
            let ordered = if urgent { date } else { previous_working_day(delivery_date) };
            let customer = match &p.twin {
                Some((code, made)) if date >= *made && rng.chance(0.6) => code.clone(),
                _ => p.code.clone(),
            };
            let mut quantities = p.usual;
            if rng.chance(0.1) {
                if let Some((kg, n)) = quantities.nonzero().last() {
                    let changed = if n > 1 && rng.chance(0.5) { n - 1 } else { n + 1 };
                    quantities.set(kg, changed);
                }
            }
            // Now and then a small cylinder for a portable stove comes along.
            if quantities.of(4) == 0 && rng.chance(0.03) {
                quantities.set(4, 1);
            }
            let number = order_numbers.next(ordered)?;
            let mut total = 0;
            for (seq, (kg, qty)) in quantities.nonzero().enumerate() {
                let size = SIZES_KG.iter().position(|s| *s == kg).unwrap_or(0);
                let unit = price(ordered, size);
                total += unit * i64::from(qty);
                activity.lines.push(OrderLine {
                    order: number.clone(),
                    seq: seq as u16 + 1,
                    size_kg: kg,
                    quantity: qty,
                    unit_price: Ntd(unit),
                    amount: Ntd(unit * i64::from(qty)),
                });
            }
            let time_pref = if source == OrderSource::Phone && rng.chance(0.2) { TimePref::Any } else { p.time_pref };
            let mut order = Order {
                number: number.clone(),
                ordered,
                customer: customer.clone(),
                delivery_date,
                time_pref,
                source,
                urgent,
                status: OrderStatus::Open,
                total: Ntd(total),
                memo: if urgent { ["瓦斯快用完了", "急件", "沒瓦斯了"][rng.below(3)].into() } else { String::new() },
                updated: stamp(rng, ordered),
            };
            deliver(rng, &mut order, p, &quantities, end, &mut delivery_numbers, &mut activity.deliveries, &|size| price(ordered, size))?;
            activity.orders.push(order);
        }
    }
    activity.orders.sort_by(|a, b| a.number.cmp(&b.number));
    let order_rank: HashMap<&str, usize> = activity.orders.iter().enumerate().map(|(k, o)| (o.number.as_str(), k)).collect();
    activity.lines.sort_by_key(|l| (order_rank.get(l.order.as_str()).copied().unwrap_or(usize::MAX), l.seq));
    activity.deliveries.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(activity)
}

/// The delivery attempts of `order`, and its final status.
#[allow(clippy::too_many_arguments)]
fn deliver(
    rng: &mut SplitMix64,
    order: &mut Order,
    p: &Profile,
    quantities: &Quantities,
    end: NaiveDate,
    numbers: &mut Numbers,
    out: &mut Vec<Delivery>,
    price: &dyn Fn(usize) -> i64,
) -> Result<(), LegacyError> {
    if order.delivery_date > end {
        return Ok(());
    }
    if rng.chance(0.02) {
        // Cancelled by phone before the truck left.
        order.status = OrderStatus::Cancelled;
        order.updated = stamp(rng, order.delivery_date.min(end));
        return Ok(());
    }
    let mut date = order.delivery_date;
    let mut weights: [u32; 3] = [955, 30, 15];
    loop {
        let result = [DeliveryResult::Delivered, DeliveryResult::NotHome, DeliveryResult::Cancelled][rng.weighted(&weights)];
        let time = time_in(rng, order.time_pref);
        let mut delivered = Quantities::default();
        if result == DeliveryResult::Delivered {
            delivered = *quantities;
            // Now and then the customer still had a spare and took one fewer.
            if let Some((kg, n)) = quantities.nonzero().last().filter(|(_, n)| *n > 1 && rng.chance(0.02)) {
                delivered.set(kg, n - 1);
            }
        }
        let collected = match p.payment {
            Payment::Cash => delivered.0.iter().enumerate().map(|(size, q)| price(size) * i64::from(*q)).sum(),
            _ => 0,
        };
        let driver = if rng.chance(0.1) { 1 + rng.below(12) } else { 1 + p.district % 12 };
        let keyed = NaiveTime::from_num_seconds_from_midnight_opt((18 * 3600 + rng.below(2 * 3600)) as u32, 0).unwrap_or(time);
        let updated = Stamp { date, time: keyed, user: rng.pick(&CLERKS).to_string() };
        out.push(Delivery {
            number: numbers.next(date)?,
            order: order.number.clone(),
            customer: order.customer.clone(),
            date,
            time,
            driver: format!("D{driver:03}"),
            result,
            delivered,
            collected: Ntd(collected),
            updated: updated.clone(),
        });
        order.updated = updated;
        match result {
            DeliveryResult::Delivered => {
                order.status = OrderStatus::Delivered;
                return Ok(());
            }
            DeliveryResult::Cancelled => {
                order.status = OrderStatus::Cancelled;
                return Ok(());
            }
            DeliveryResult::NotHome => {
                date = next_working_day(date);
                if date > end {
                    return Ok(());
                }
                // A second attempt is delivered or given up.
                weights = [90, 0, 10];
            }
        }
    }
}
