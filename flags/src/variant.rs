//! What a flag can answer: a boolean flag `off` or `on`; a stage flag one of the four cut-over
//! stages of a module moving off the old system, in their order.

use serde::{Deserialize, Serialize};

/// The two kinds of flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `off` or `on`: a risky feature.
    Boolean,
    /// `legacy_only` → `dual_write` → `new_primary` → `legacy_off`: a module's cut-over.
    Stage,
}

impl Kind {
    /// The kinds' names, as written in a definition.
    pub const NAMES: &'static [&'static str] = &["boolean", "stage"];

    /// The kind's name (`boolean`, `stage`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Stage => "stage",
        }
    }

    /// Parses a kind's name.
    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::Boolean, Kind::Stage].into_iter().find(|k| k.as_str() == name)
    }

    /// The names of the variants of this kind, in order.
    pub fn variant_names(self) -> &'static [&'static str] {
        match self {
            Kind::Boolean => &["off", "on"],
            Kind::Stage => Stage::NAMES,
        }
    }

    /// What a killed flag of this kind answers: `off`, or `legacy_only` (the old system alone,
    /// which always works because it is what ran before).
    pub fn kill_variant(self) -> Variant {
        match self {
            Kind::Boolean => Variant::Off,
            Kind::Stage => Variant::LegacyOnly,
        }
    }

    /// The variant of this kind named `name`, if any.
    pub fn variant(self, name: &str) -> Option<Variant> {
        Variant::parse(name).filter(|v| v.kind() == self)
    }
}

/// A cut-over stage, in order: each one only ever moves work from the old system to the new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Only the old system is read and written.
    LegacyOnly,
    /// Both are written; the old system is still read (the one of record).
    DualWrite,
    /// Both are written; the new system is read (the one of record).
    NewPrimary,
    /// Only the new system; the old one is no longer written.
    LegacyOff,
}

impl Stage {
    /// The stages' names, in order.
    pub const NAMES: &'static [&'static str] = &["legacy_only", "dual_write", "new_primary", "legacy_off"];
    /// Every stage, in order.
    pub const ALL: [Stage; 4] = [Stage::LegacyOnly, Stage::DualWrite, Stage::NewPrimary, Stage::LegacyOff];

    /// The stage's name (`dual_write`).
    pub fn as_str(self) -> &'static str {
        Stage::NAMES[self as usize]
    }

    /// Whether the old system is still written.
    pub fn writes_legacy(self) -> bool {
        self <= Stage::NewPrimary
    }

    /// Whether the new system is written.
    pub fn writes_new(self) -> bool {
        self >= Stage::DualWrite
    }

    /// Whether reads come from the new system (it is the system of record).
    pub fn reads_new(self) -> bool {
        self >= Stage::NewPrimary
    }
}

/// One answer of a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// A boolean flag, off.
    Off,
    /// A boolean flag, on.
    On,
    /// [`Stage::LegacyOnly`].
    LegacyOnly,
    /// [`Stage::DualWrite`].
    DualWrite,
    /// [`Stage::NewPrimary`].
    NewPrimary,
    /// [`Stage::LegacyOff`].
    LegacyOff,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 6] = [Variant::Off, Variant::On, Variant::LegacyOnly, Variant::DualWrite, Variant::NewPrimary, Variant::LegacyOff];

    /// The variant's name (`on`, `new_primary`).
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Off => "off",
            Variant::On => "on",
            Variant::LegacyOnly => "legacy_only",
            Variant::DualWrite => "dual_write",
            Variant::NewPrimary => "new_primary",
            Variant::LegacyOff => "legacy_off",
        }
    }

    /// Parses a variant's name.
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// The kind of flag this variant belongs to.
    pub fn kind(self) -> Kind {
        match self {
            Variant::Off | Variant::On => Kind::Boolean,
            _ => Kind::Stage,
        }
    }

    /// The stage, for a stage variant.
    pub fn stage(self) -> Option<Stage> {
        match self {
            Variant::LegacyOnly => Some(Stage::LegacyOnly),
            Variant::DualWrite => Some(Stage::DualWrite),
            Variant::NewPrimary => Some(Stage::NewPrimary),
            Variant::LegacyOff => Some(Stage::LegacyOff),
            Variant::Off | Variant::On => None,
        }
    }

    /// Whether the variant is past its kind's kill variant: `on`, or any stage after
    /// `legacy_only` (the new module takes part).
    pub fn is_on(self) -> bool {
        self != self.kind().kill_variant()
    }
}

impl From<Stage> for Variant {
    fn from(stage: Stage) -> Variant {
        match stage {
            Stage::LegacyOnly => Variant::LegacyOnly,
            Stage::DualWrite => Variant::DualWrite,
            Stage::NewPrimary => Variant::NewPrimary,
            Stage::LegacyOff => Variant::LegacyOff,
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_belong_to_one_kind() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.as_str()), Some(v));
            assert!(v.kind().variant_names().contains(&v.as_str()), "{v}");
            assert_eq!(serde_json::to_value(v).ok(), Some(serde_json::json!(v.as_str())));
        }
        assert_eq!(Kind::Boolean.variant("dual_write"), None, "a stage is no boolean variant");
        assert_eq!(Kind::Stage.variant("dual_write"), Some(Variant::DualWrite));
        assert_eq!(Variant::parse("ON"), None, "names are lower-case");
    }

    #[test]
    fn stages_move_work_one_way() {
        let table: Vec<(bool, bool, bool)> = Stage::ALL.iter().map(|s| (s.writes_legacy(), s.writes_new(), s.reads_new())).collect();
        assert_eq!(table, [(true, false, false), (true, true, false), (true, true, true), (false, true, true)]);
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Stage::ALL.map(|s| s.as_str()), *Stage::NAMES);
        assert_eq!(Stage::ALL.map(|s| Variant::from(s).stage()), Stage::ALL.map(Some));
    }

    #[test]
    fn kill_variants_are_off_and_legacy_only() {
        assert_eq!((Kind::Boolean.kill_variant(), Kind::Stage.kill_variant()), (Variant::Off, Variant::LegacyOnly));
        assert!(!Variant::Off.is_on() && !Variant::LegacyOnly.is_on());
        assert!(Variant::On.is_on() && Variant::DualWrite.is_on() && Variant::LegacyOff.is_on());
    }
}
