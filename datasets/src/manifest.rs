//! The public benchmark families under `../shared/datasets` (relative to the project root) and
//! the conventions needed to read them and compare costs with their `.sol` files.
//!
//! Costs: the solver's internal cost of a solution read with `rounding`, divided by
//! `cost_divisor`, is in the units of the family's `.sol` files (as
//! [`solver::io::Instance::cost_divisor`]). HFVRP files state their cost either way (40 scaled,
//! 60 not), so the replay tool should evaluate a `.sol`'s routes rather than trust its `Cost`.

use solver::io::{Format, Rounding};
use std::path::{Path, PathBuf};

/// One family of benchmark instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// Family name, as the VRPLIB `TYPE` (or `SOLOMON`).
    pub name: &'static str,
    /// Folder under the datasets root, e.g. `pyvrp-instances/VRPTW`.
    pub folder: &'static str,
    /// File format of the instances.
    pub format: Format,
    /// Extension of the instance files, without the dot.
    pub extension: &'static str,
    /// The rounding convention the best-known solutions follow.
    pub rounding: Rounding,
    /// `.sol` costs are internal costs divided by this.
    pub cost_divisor: i64,
    /// Whether best-known `.sol` files are shipped next to the instances.
    pub has_solutions: bool,
    /// Whether route `k` of a `.sol` is driven by vehicle `k` (heterogeneous or multi-depot
    /// fleets).
    pub routes_are_vehicles: bool,
    /// What the family is and what its objective counts.
    pub description: &'static str,
}

/// Default location of the datasets, relative to the project root.
pub const DEFAULT_ROOT: &str = "../shared/datasets";

impl Family {
    /// The family's folder under `root` (e.g. [`DEFAULT_ROOT`]).
    pub fn path(&self, root: &Path) -> PathBuf {
        root.join(self.folder)
    }
}

const fn family(
    name: &'static str,
    folder: &'static str,
    rounding: Rounding,
    cost_divisor: i64,
    routes_are_vehicles: bool,
    description: &'static str,
) -> Family {
    Family { name, folder, format: Format::Vrplib, extension: "vrp", rounding, cost_divisor, has_solutions: true, routes_are_vehicles, description }
}

static FAMILIES: [Family; 9] = [
    family("CVRP", "pyvrp-instances/CVRP", Rounding::Round, 1, false, "Uchoa et al. X instances, 100-1000 clients; objective: distance"),
    family("XXL", "pyvrp-instances/CVRP/XXL", Rounding::Round, 1, false, "Arnold et al. Belgian instances, 3k-30k clients; objective: distance"),
    family(
        "VRPTW",
        "pyvrp-instances/VRPTW",
        Rounding::Dimacs,
        10,
        false,
        "Gehring & Homberger, 1000 clients with time windows; objective: distance, .sol unscaled (e.g. 42444.8)",
    ),
    family(
        "HFVRP",
        "pyvrp-instances/HFVRP",
        Rounding::Exact,
        100_000,
        true,
        "Pessoa et al. heterogeneous fleet; objective: fixed + unit-distance costs (costs x100), .sol unscaled or x100000",
    ),
    family(
        "MTVRPTWR",
        "pyvrp-instances/MTVRPTWR",
        Rounding::Dimacs,
        1,
        false,
        "multi-trip VRPTW with release times and depot reloads (Solomon 100 / HG 200 based); objective: distance, .sol x10",
    ),
    family(
        "VRPB",
        "pyvrp-instances/VRPB",
        Rounding::Round,
        1,
        false,
        "Queiroga et al. backhauls: deliveries before pickups on each route; objective: distance",
    ),
    family(
        "PCVRPTW",
        "pyvrp-instances/PCVRPTW",
        Rounding::Dimacs,
        1,
        false,
        "prize-collecting VRPTW (GH1000 based); objective: distance + uncollected prizes, .sol x10",
    ),
    family("MDVRPTW", "pyvrp-instances/MDVRPTW", Rounding::Exact, 1, true, "Vidal et al. multi-depot VRPTW; objective: distance, .sol x1000"),
    Family {
        name: "SOLOMON",
        folder: "solomon",
        format: Format::Solomon,
        extension: "txt",
        rounding: Rounding::Dimacs,
        cost_divisor: 10,
        has_solutions: false,
        routes_are_vehicles: false,
        description: "Solomon (1987) VRPTW, 56 instances of 100 clients and 25 vehicles; no solutions shipped",
    },
];

/// Every benchmark family, in a fixed order.
pub fn families() -> &'static [Family] {
    &FAMILIES
}

/// The family called `name` (case-insensitive).
pub fn family_named(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_solver_on_each_vrplib_family_rounding() {
        for f in families().iter().filter(|f| f.format == Format::Vrplib) {
            assert_eq!(Rounding::Auto.resolve(f.name), f.rounding, "{}", f.name);
        }
        assert_eq!(Rounding::for_family("SOLOMON"), family_named("solomon").unwrap().rounding);
    }

    #[test]
    fn names_folders_that_exist_when_the_datasets_are_present() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(DEFAULT_ROOT);
        if !root.is_dir() {
            return; // A checkout without the shared datasets.
        }
        for f in families() {
            let dir = f.path(&root);
            let has_instances =
                std::fs::read_dir(&dir).map(|entries| entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == f.extension))).unwrap_or(false);
            assert!(has_instances, "{} has no .{} file in {}", f.name, f.extension, dir.display());
        }
    }
}
