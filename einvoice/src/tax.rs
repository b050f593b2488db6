//! The amounts of an invoice: per-line amounts, the MIG `Amount` block (`SalesAmount`,
//! `FreeTaxSalesAmount`, `ZeroTaxSalesAmount`, `TaxType`, `TaxRate`, `TaxAmount`, `TotalAmount`)
//! and the split of an allowance into amount and tax.
//!
//! The product's prices are tax-inclusive whole NT$. Rules (DOMAIN.md, "Taiwan e-invoice"):
//! - B2C: `SalesAmount` is the tax-inclusive taxable total, `TaxAmount` is 0, and the printed line
//!   amounts are tax-inclusive.
//! - B2B: with a tax-inclusive taxable total `T`, `SalesAmount = round_half_up(T / 1.05)` and
//!   `TaxAmount = T − SalesAmount` (1380 → 1314 + 66). The printed line amounts are tax-exclusive
//!   and add up exactly to `SalesAmount`: `SalesAmount` is shared out over the taxable lines in
//!   proportion to their tax-inclusive amounts by the largest-remainder method, ties going to the
//!   earlier line.
//! - Zero-rated and exempt lines add to `ZeroTaxSalesAmount` / `FreeTaxSalesAmount`, no tax.
//! - `TotalAmount = SalesAmount + FreeTaxSalesAmount + ZeroTaxSalesAmount + TaxAmount`.
//! - Whole NT$, rounded half up (四捨五入); the Ministry's own rounding text is *unverified*.
//!
//! Decisions of ours, each pinned by a test: an invoice needs 1..=9,999 lines (MIG `ProductItem`
//! limit); quantities and prices must be ≥ 0, so are all amounts (DOMAIN.md: "All amounts ≥ 0");
//! a line may be zero (a free item shown on the invoice) but an invoice whose `TotalAmount` is 0
//! is rejected ([`TaxError::ZeroTotal`]): it would spend an invoice number on no sale, and no
//! caller of ours needs one. Arithmetic is in `i128` and every result is checked to fit an
//! [`Ntd`]; nothing here panics.
//!
//! *Unverified* against the MIG text, hence kept visible: the invoice-level `TaxType` 9 (mixed)
//! whenever lines of different tax types meet; `TaxRate` 0 for an invoice without taxable lines;
//! whether a zero-rated invoice needs MIG 4.1's extra zero-tax fields (not produced here).

use crate::money::{div_round_half_up, Ntd, Overflow};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The standard VAT rate (營業稅法 §10: 5%), in percent.
pub const TAX_RATE_PERCENT: i64 = 5;
/// MIG `TaxRate` of an invoice with taxable lines.
pub const TAX_RATE: &str = "0.05";
/// MIG `TaxRate` of an invoice without taxable lines (*unverified*).
pub const NO_TAX_RATE: &str = "0";
/// The most `ProductItem`s one MIG invoice may carry.
pub const MAX_LINES: usize = 9_999;

/// Why amounts cannot be computed. Line numbers count from 1, as printed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    /// An invoice needs at least one line.
    #[error("an invoice needs at least one line")]
    NoLines,
    /// More lines than MIG allows.
    #[error("an invoice may have at most {MAX_LINES} lines, this has {0}")]
    TooManyLines(usize),
    /// A line's quantity is negative.
    #[error("line {0}: the quantity is negative")]
    NegativeQuantity(usize),
    /// A line's unit price is negative.
    #[error("line {0}: the unit price is negative")]
    NegativePrice(usize),
    /// A line's tax type is not taxable, zero-rated or exempt.
    #[error("line {line}: tax type {tax_type:?} is not allowed on a line (taxable, zero-rated or exempt only)")]
    LineTaxType {
        /// 1-based line number.
        line: usize,
        /// The tax type found.
        tax_type: TaxType,
    },
    /// The invoice's total is 0.
    #[error("the invoice total is 0")]
    ZeroTotal,
    /// An amount that must not be negative is.
    #[error("the amount {0} is negative")]
    NegativeAmount(Ntd),
    /// Allowances would exceed what the invoice allows.
    #[error("allowances of {allowed} exceed the invoice's {invoice}")]
    AllowanceExceedsInvoice {
        /// The invoice's amount.
        invoice: Ntd,
        /// The sum of the allowances.
        allowed: Ntd,
    },
    /// A result does not fit in an [`Ntd`] (or a quantity in its range).
    #[error("amount out of range")]
    Overflow,
    /// Not a MIG tax type code.
    #[error("{0} is not a tax type code (1, 2, 3, 4 or 9)")]
    UnknownTaxType(u8),
    /// Not a quantity.
    #[error("{0:?} is not a quantity (digits with at most 3 decimals, e.g. \"2.5\")")]
    Quantity(String),
}

impl From<Overflow> for TaxError {
    fn from(_: Overflow) -> TaxError {
        TaxError::Overflow
    }
}

/// MIG tax types (`TaxType`). Serde: snake_case names (`"taxable"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxType {
    /// 應稅, code 1.
    Taxable = 1,
    /// 零稅率, code 2.
    ZeroRated = 2,
    /// 免稅, code 3.
    Exempt = 3,
    /// 特種稅率, code 4 (not used by this product; rejected on lines).
    Special = 4,
    /// 混合應稅與免稅或零稅率, code 9 (invoice level only).
    Mixed = 9,
}

impl TaxType {
    /// The MIG code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The tax type of a MIG code.
    pub fn from_code(code: u8) -> Result<TaxType, TaxError> {
        Ok(match code {
            1 => TaxType::Taxable,
            2 => TaxType::ZeroRated,
            3 => TaxType::Exempt,
            4 => TaxType::Special,
            9 => TaxType::Mixed,
            other => return Err(TaxError::UnknownTaxType(other)),
        })
    }
}

/// Who buys: the amounts are written differently for a business (B2B, tax shown separately) and
/// a consumer (B2C, tax included). Serde: `"business"`, `"consumer"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerKind {
    /// A business with a 統一編號.
    Business,
    /// A consumer.
    Consumer,
}

/// A quantity with three decimals, stored as thousandths (`2.5` is 2500). Parses and displays as
/// trimmed decimal text (`"2.5"`, `"20"`, `"0.125"`). Serde: the text; deserializes from text, an
/// integer, or a JSON number with at most three decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    /// Thousandths per unit.
    pub const SCALE: i64 = 1000;

    /// The quantity of `thousandths` / 1000.
    pub fn from_thousandths(thousandths: i64) -> Quantity {
        Quantity(thousandths)
    }

    /// `units` whole units, or [`TaxError::Overflow`].
    pub fn whole(units: i64) -> Result<Quantity, TaxError> {
        units.checked_mul(Self::SCALE).map(Quantity).ok_or(TaxError::Overflow)
    }

    /// The quantity in thousandths.
    pub fn thousandths(self) -> i64 {
        self.0
    }

    /// Parses an optional `-`, one or more digits, and optionally `.` with 1–3 digits.
    pub fn parse(text: &str) -> Result<Quantity, TaxError> {
        let err = || TaxError::Quantity(text.to_owned());
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = match rest.split_once('.') {
            Some((int, frac)) if (1..=3).contains(&frac.len()) => (int, frac),
            Some(_) => return Err(err()),
            None => (rest, ""),
        };
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let int: i128 = int.parse().map_err(|_| TaxError::Overflow)?;
        let frac: i128 = format!("{frac:0<3}").parse().map_err(|_| err())?;
        let magnitude = int.checked_mul(1000).and_then(|v| v.checked_add(frac)).ok_or(TaxError::Overflow)?;
        let value = if negative { -magnitude } else { magnitude };
        i64::try_from(value).map(Quantity).map_err(|_| TaxError::Overflow)
    }
}

impl fmt::Display for Quantity {
    /// Trimmed: `2.5`, `20`, `0.125`, `-0.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{sign}{int}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl FromStr for Quantity {
    type Err = TaxError;

    fn from_str(text: &str) -> Result<Quantity, TaxError> {
        Quantity::parse(text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// Reads a [`Quantity`] from text, an integer, or a float that is a whole number of thousandths.
struct QuantityVisitor;

impl serde::de::Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity with at most 3 decimals, as text (\"2.5\") or a number")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Quantity, E> {
        Quantity::parse(text).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, units: i64) -> Result<Quantity, E> {
        Quantity::whole(units).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, units: u64) -> Result<Quantity, E> {
        i64::try_from(units).map_err(|_| E::custom(TaxError::Overflow)).and_then(|u| self.visit_i64(u))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Quantity, E> {
        let scaled = value * 1000.0;
        let rounded = scaled.round();
        // |i64| < 2^63 ≈ 9.22e18; stay well inside so the cast is exact and in range.
        if !scaled.is_finite() || rounded.abs() > 9.0e18 || (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
            return Err(E::custom(TaxError::Quantity(value.to_string())));
        }
        Ok(Quantity(rounded as i64))
    }
}

/// One line of an invoice (MIG `ProductItem`), priced tax-inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// What was sold (`Description`).
    pub description: String,
    /// How many (`Quantity`).
    pub quantity: Quantity,
    /// The unit (`Unit`), e.g. 桶.
    pub unit: String,
    /// The tax-inclusive unit price in whole NT$ (`UnitPrice`).
    pub unit_price: Ntd,
    /// Taxable, zero-rated or exempt (`TaxType`); special and mixed are not line types.
    pub tax_type: TaxType,
}

/// The tax-inclusive amount of a line: quantity × unit price, rounded half up to whole NT$.
/// Errors for negative quantity or price, a line tax type other than 1/2/3 (reported as line 1),
/// or overflow.
pub fn line_amount(line: &Line) -> Result<Ntd, TaxError> {
    checked_line_amount(line, 1)
}

fn checked_line_amount(line: &Line, number: usize) -> Result<Ntd, TaxError> {
    if line.quantity.0 < 0 {
        return Err(TaxError::NegativeQuantity(number));
    }
    if line.unit_price.0 < 0 {
        return Err(TaxError::NegativePrice(number));
    }
    if !matches!(line.tax_type, TaxType::Taxable | TaxType::ZeroRated | TaxType::Exempt) {
        return Err(TaxError::LineTaxType { line: number, tax_type: line.tax_type });
    }
    let amount = div_round_half_up(i128::from(line.quantity.0) * i128::from(line.unit_price.0), i128::from(Quantity::SCALE));
    to_ntd(amount)
}

fn to_ntd(value: i128) -> Result<Ntd, TaxError> {
    i64::try_from(value).map(Ntd).map_err(|_| TaxError::Overflow)
}

/// The tax-exclusive part of a tax-inclusive amount: `round_half_up(t / 1.05)`.
fn exclusive_part(tax_inclusive: i128) -> i128 {
    div_round_half_up(tax_inclusive * 100, 100 + i128::from(TAX_RATE_PERCENT))
}

/// The MIG `Amount` block of an invoice and the amount to print on each line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// `SalesAmount`: taxable sales (tax-inclusive for B2C, tax-exclusive for B2B).
    pub sales_amount: Ntd,
    /// `FreeTaxSalesAmount`: exempt sales.
    pub free_tax_sales_amount: Ntd,
    /// `ZeroTaxSalesAmount`: zero-rated sales.
    pub zero_tax_sales_amount: Ntd,
    /// Invoice-level `TaxType`: the lines' common type, or [`TaxType::Mixed`].
    pub tax_type: TaxType,
    /// `TaxRate`: [`TAX_RATE`] when any line is taxable, else [`NO_TAX_RATE`].
    pub tax_rate: &'static str,
    /// `TaxAmount`: 0 for B2C.
    pub tax_amount: Ntd,
    /// `TotalAmount` = sales + free-tax + zero-tax + tax.
    pub total_amount: Ntd,
    /// Each line's `Amount`, in line order: tax-inclusive for B2C, tax-exclusive for B2B
    /// taxable lines (adding up to `sales_amount`), as computed for zero-rated and exempt lines.
    pub line_amounts: Vec<Ntd>,
}

/// Computes an invoice's amounts from its tax-inclusive lines for `buyer` (see the module docs).
pub fn invoice_totals(lines: &[Line], buyer: BuyerKind) -> Result<Totals, TaxError> {
    if lines.is_empty() {
        return Err(TaxError::NoLines);
    }
    if lines.len() > MAX_LINES {
        return Err(TaxError::TooManyLines(lines.len()));
    }
    let gross: Vec<i128> = lines.iter().enumerate().map(|(i, line)| checked_line_amount(line, i + 1).map(|a| i128::from(a.0))).collect::<Result<_, _>>()?;
    // At most 9,999 amounts below 2^63 each: the sums cannot overflow an i128.
    let sum_of = |kind: TaxType| -> i128 { lines.iter().zip(&gross).filter(|(l, _)| l.tax_type == kind).map(|(_, g)| g).sum() };
    let (taxable, zero, free) = (sum_of(TaxType::Taxable), sum_of(TaxType::ZeroRated), sum_of(TaxType::Exempt));
    // Both ways of writing the amounts total the tax-inclusive sum: check it fits first, which also
    // bounds every product in `allocate` below 2^126.
    let total = taxable + zero + free;
    to_ntd(total)?;

    let mut line_amounts = gross.clone();
    let (sales, tax) = match buyer {
        BuyerKind::Consumer => (taxable, 0),
        BuyerKind::Business => {
            let sales = exclusive_part(taxable);
            let taxable_lines: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].tax_type == TaxType::Taxable).collect();
            allocate(sales, taxable, &taxable_lines, &mut line_amounts);
            (sales, taxable - sales)
        }
    };
    debug_assert_eq!(total, sales + free + zero + tax);
    if total == 0 {
        return Err(TaxError::ZeroTotal);
    }

    let first = lines[0].tax_type;
    let tax_type = if lines.iter().all(|l| l.tax_type == first) { first } else { TaxType::Mixed };
    let tax_rate = if lines.iter().any(|l| l.tax_type == TaxType::Taxable) { TAX_RATE } else { NO_TAX_RATE };
    Ok(Totals {
        sales_amount: to_ntd(sales)?,
        free_tax_sales_amount: to_ntd(free)?,
        zero_tax_sales_amount: to_ntd(zero)?,
        tax_type,
        tax_rate,
        tax_amount: to_ntd(tax)?,
        total_amount: to_ntd(total)?,
        line_amounts: line_amounts.into_iter().map(to_ntd).collect::<Result<_, _>>()?,
    })
}

/// Shares `target` (≤ `whole`) over the lines `indices` in proportion to their amounts in
/// `amounts` (which add up to `whole`), writing the shares back: each line gets the floor of its
/// exact share, and the dollars left over go one each to the largest remainders, earlier lines
/// first on ties. The shares add up to `target` exactly.
fn allocate(target: i128, whole: i128, indices: &[usize], amounts: &mut [i128]) {
    if whole <= 0 {
        indices.iter().for_each(|&i| amounts[i] = 0);
        return;
    }
    // (remainder, index) of each line; the caller bounds amounts and target below 2^63, so the
    // products stay below 2^126.
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(indices.len());
    let mut given = 0;
    for &i in indices {
        let exact = amounts[i] * target;
        amounts[i] = exact / whole;
        given += amounts[i];
        remainders.push((exact % whole, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = usize::try_from(target - given).unwrap_or(0);
    for &(_, i) in remainders.iter().take(left) {
        amounts[i] += 1;
    }
}

/// An allowance (折讓) split into its amount and tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AllowanceSplit {
    /// The amount (tax-exclusive for B2B, tax-inclusive for B2C).
    pub amount: Ntd,
    /// The tax (0 for B2C).
    pub tax: Ntd,
}

/// Splits a tax-inclusive amount as for a B2B invoice: `round_half_up(t / 1.05)` and the rest.
/// Errors for a negative amount.
pub fn split_tax_inclusive(tax_inclusive: Ntd) -> Result<AllowanceSplit, TaxError> {
    if tax_inclusive.0 < 0 {
        return Err(TaxError::NegativeAmount(tax_inclusive));
    }
    let amount = exclusive_part(i128::from(tax_inclusive.0));
    Ok(AllowanceSplit { amount: to_ntd(amount)?, tax: to_ntd(i128::from(tax_inclusive.0) - amount)? })
}

/// Splits a tax-inclusive allowance of a taxable sale for `buyer` with the invoice's rules: B2B
/// as [`split_tax_inclusive`], B2C as the whole amount with no tax.
///
/// *Unverified*: whether G0401 wants the tax of a B2C allowance shown separately as well; should
/// it, call [`split_tax_inclusive`] for both kinds of buyer.
pub fn allowance_split(tax_inclusive: Ntd, buyer: BuyerKind) -> Result<AllowanceSplit, TaxError> {
    match buyer {
        BuyerKind::Business => split_tax_inclusive(tax_inclusive),
        BuyerKind::Consumer if tax_inclusive.0 < 0 => Err(TaxError::NegativeAmount(tax_inclusive)),
        BuyerKind::Consumer => Ok(AllowanceSplit { amount: tax_inclusive, tax: Ntd::ZERO }),
    }
}

/// How much of an invoice's `total` may still be allowed after the allowances `already` (all
/// tax-inclusive, like the total). Errors when they are negative, exceed the total, or overflow.
pub fn remaining_allowable(total: Ntd, already: &[Ntd]) -> Result<Ntd, TaxError> {
    if let Some(negative) = std::iter::once(&total).chain(already).find(|a| a.0 < 0) {
        return Err(TaxError::NegativeAmount(*negative));
    }
    let allowed = Ntd::sum(already.iter().copied())?;
    if allowed > total {
        return Err(TaxError::AllowanceExceedsInvoice { invoice: total, allowed });
    }
    Ok(total.sub(allowed)?)
}

#[cfg(test)]
mod tests;
