//! The constraints no public benchmark family exercises, on generated Taipei days: clients with
//! two time windows, drivers' lunch breaks, overtime, and skills (narrow lanes that only
//! motorcycles enter, 50 kg cylinders that need the hazardous-goods permit). Each test solves a
//! day with a fixed seed and iteration limit, has the independent checker accept the plan at the
//! search's cost, and shows the solver using the constraint.

use datasets::{generate, DayOptions};
use solver::check::{check, CheckReport};
use solver::io::json::build;
use solver::model::Skills;
use solver::search::{solve, Environment, Outcome};
use solver::Problem;
use std::sync::OnceLock;
use std::time::Duration;

/// A day of 60 customers with two windows for 40 % of them, lunch breaks and overtime, solved
/// once with seed 1 for 400 iterations.
fn solved_day() -> &'static (Problem, Outcome, CheckReport) {
    static DAY: OnceLock<(Problem, Outcome, CheckReport)> = OnceLock::new();
    DAY.get_or_init(solve_day)
}

fn solve_day() -> (Problem, Outcome, CheckReport) {
    let options = DayOptions { two_windows_share: 0.4, lunch_breaks: true, overtime: true, ..DayOptions::new(60) };
    let problem = build(&generate(7, &options)).expect("the generated day builds");
    let env = Environment { seed: 1, max_iterations: Some(400), time_limit: Some(Duration::from_secs(120)), ..Environment::default() };
    let out = solve(&problem, &env);
    let report = check(&problem, &out.solution);
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(report.cost.total, out.cost, "search and checker disagree on the cost");
    assert!(out.solution.unassigned.is_empty(), "{:?}", out.solution.unassigned);
    (problem, out, report)
}

#[test]
fn serves_some_two_window_customers_in_their_second_window() {
    let (problem, out, report) = solved_day();
    let (mut first, mut second) = (0, 0);
    for (route, rep) in out.solution.routes.iter().zip(&report.routes) {
        for (trip, arrivals) in route.trips.iter().zip(&rep.arrivals) {
            for (&c, &at) in trip.visits.iter().zip(arrivals) {
                let windows = &problem.clients[c].time_windows;
                if windows.len() == 2 {
                    // The checker accepted the plan, so `at` lies in one of the two windows.
                    if at >= windows[1].early {
                        second += 1;
                    } else {
                        assert!(at <= windows[0].late);
                        first += 1;
                    }
                }
            }
        }
    }
    assert!(first > 0 && second > 0, "two-window customers served in their first window: {first}, second: {second}");
}

#[test]
fn every_route_out_over_lunch_takes_its_break_inside_the_window() {
    let (problem, out, report) = solved_day();
    let mut taken = 0;
    for (route, rep) in out.solution.routes.iter().zip(&report.routes) {
        let lunch = problem.vehicle_types[route.vehicle_type].breaks[0];
        let out_over_lunch = rep.start <= lunch.window.late && rep.end > lunch.window.late;
        assert!(!out_over_lunch || route.breaks.len() == 1, "{route:?} is out over lunch without a break");
        for &start in &rep.breaks {
            assert!(lunch.window.early <= start && start <= lunch.window.late, "a break at {start}");
            taken += 1;
        }
    }
    assert!(taken > 0, "no route takes its lunch break");
}

#[test]
fn narrow_lanes_get_motorcycles_and_50_kg_cylinders_get_permit_holders() {
    let (problem, out, _) = solved_day();
    let skill = |name: &str| problem.skill_names.iter().position(|s| s == name).expect("the day names the skill") as u32;
    let has = |s: Skills, bit: u32| (s.0 >> bit) & 1 == 1;
    let (narrow, permit) = (skill(datasets::taipei::NARROW_LANE), skill(datasets::taipei::HAZMAT));
    let (mut narrow_served, mut permit_served) = (0, 0);
    for route in &out.solution.routes {
        let vt = &problem.vehicle_types[route.vehicle_type];
        for c in route.visits() {
            let needs = problem.clients[c].skills;
            if has(needs, narrow) {
                assert!(has(vt.skills, narrow), "narrow-lane client {c} on {}", vt.name);
                narrow_served += 1;
            }
            if has(needs, permit) {
                assert!(has(vt.skills, permit), "50 kg client {c} on {}", vt.name);
                permit_served += 1;
            }
        }
    }
    assert!(narrow_served > 0 && permit_served > 0, "narrow lanes {narrow_served}, permits {permit_served}");
}

#[test]
fn overtime_is_paid_only_above_eight_hours() {
    let (problem, out, report) = solved_day();
    let mut expected = 0;
    for (route, rep) in out.solution.routes.iter().zip(&report.routes) {
        let vt = &problem.vehicle_types[route.vehicle_type];
        expected += vt.unit_overtime_cost * (rep.duration - vt.overtime_after).max(0);
    }
    assert_eq!(report.cost.overtime_cost, expected);
}
