//! The built-in flags: every flag the code asks about, declared once with its kind and the
//! answer it gives until an admin writes it. A flag not in the database evaluates to its entry
//! here; code asking about a key that is neither gets the kill variant (`off`, `legacy_only`).

use ::flags::{Flag, FlagDefinition, Kind, Variant};

/// One built-in flag.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// The key.
    pub key: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Its default until written.
    pub default: Variant,
    /// What it switches.
    pub description: &'static str,
}

/// Every built-in flag. The module cut-overs start at `dual_write` (the new system written
/// beside the old one of record), the stage the legacy sync is built for.
pub const BUILTIN: &[Builtin] = &[
    Builtin { key: "legacy.customers", kind: Kind::Stage, default: Variant::DualWrite, description: "Customers: cut-over from the old system (CUST_MST)" },
    Builtin { key: "legacy.orders", kind: Kind::Stage, default: Variant::DualWrite, description: "Orders: cut-over from the old system (ORD_HDR, ORD_DTL)" },
    Builtin { key: "legacy.deliveries", kind: Kind::Stage, default: Variant::DualWrite, description: "Deliveries: cut-over from the old system (DLV_REC)" },
    Builtin { key: "legacy.invoices", kind: Kind::Stage, default: Variant::DualWrite, description: "Invoices: cut-over from the old system's invoicing" },
    Builtin { key: "legacy.payments", kind: Kind::Stage, default: Variant::DualWrite, description: "Payments: cut-over from the old system's receivables" },
    Builtin { key: "payments.bank_fetch", kind: Kind::Boolean, default: Variant::On, description: "Fetch the bank's statement files over SFTP on schedule" },
];

impl Builtin {
    /// The built-in flag of `key`, if any.
    pub fn of(key: &str) -> Option<&'static Builtin> {
        BUILTIN.iter().find(|b| b.key == key)
    }

    /// Its definition: enabled, its default, no rules, rollout or schedule.
    pub fn definition(&self) -> FlagDefinition {
        FlagDefinition {
            key: self.key.to_owned(),
            description: self.description.to_owned(),
            kind: self.kind.as_str().to_owned(),
            enabled: true,
            default: self.default.as_str().to_owned(),
            rules: Vec::new(),
            rollout: None,
            schedule: Vec::new(),
        }
    }

    /// Its flag.
    pub fn flag(&self) -> Flag {
        // The list above is checked by a test: every entry validates.
        self.definition().validate().unwrap_or_else(|e| panic!("built-in flag {} is invalid: {e:?}", self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_flag_is_valid_unique_and_of_its_kind() {
        let mut keys = std::collections::HashSet::new();
        for b in BUILTIN {
            assert!(keys.insert(b.key), "{} twice", b.key);
            let flag = b.flag();
            assert_eq!((flag.kind(), flag.default(), b.default.kind()), (b.kind, b.default, b.kind), "{}", b.key);
        }
        for module in ["customers", "orders", "deliveries", "invoices", "payments"] {
            let b = Builtin::of(&format!("legacy.{module}")).expect("a cut-over flag per module");
            assert_eq!((b.kind, b.default), (Kind::Stage, Variant::DualWrite));
        }
        assert_eq!(Builtin::of("payments.bank_fetch").map(|b| b.default), Some(Variant::On));
    }
}
