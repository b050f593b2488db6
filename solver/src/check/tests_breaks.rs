//! Hand-checked cases of driver breaks, overtime, fair days and several time windows on the tiny problem
//! (see `tests.rs`: depot-c0 = 5, c0-c1 = 5, depot-c1 = 10, service 1, durations = distances).
//! The route [c0, c1] leaves at 0, serves c0 at 5-6 and c1 at 11-12, and is back at 22.

use super::*;
use crate::model::{Balance, Break, ProblemData, TimeWindow};
use crate::solution::BreakStop;
use crate::test_support::tiny_problem_data;

/// Tiny, where trucks take a break of 3 starting between `early` and `late`.
fn with_break(early: i64, late: i64) -> Problem {
    let mut d: ProblemData = tiny_problem_data();
    d.vehicle_types[0].breaks = vec![Break { window: TimeWindow::new(early, late), duration: 3 }];
    Problem::new(d).unwrap()
}

/// [c0, c1] and [c2], the first route taking break 0 at `(trip, after)` when given; [c2] (out
/// from 0 to 11, or 14 with the break) takes it on its way back.
fn solution(at: Option<(usize, usize)>) -> Solution {
    let mut first = Route::single(0, 0, vec![0, 1]);
    if let Some((trip, after)) = at {
        first.breaks.push(BreakStop { index: 0, trip, after });
    }
    let mut second = Route::single(0, 0, vec![2]);
    second.breaks.push(BreakStop { index: 0, trip: 0, after: 1 });
    Solution { routes: vec![first, second], unassigned: vec![] }
}

/// [c0, c1] and [c2] without breaks.
fn plain() -> Solution {
    Solution { routes: vec![Route::single(0, 0, vec![0, 1]), Route::single(0, 0, vec![2])], unassigned: vec![] }
}

#[test]
fn a_break_on_the_way_delays_what_follows() {
    let report = check(&with_break(8, 9), &solution(Some((0, 1))));
    assert!(report.is_feasible(), "{:?}", report.violations);
    // c0 ends at 6, the break starts at 8 after 2 of the 5 to c1, lasts 3, then 3 more: c1 at 14.
    let r = &report.routes[0];
    assert_eq!((r.breaks.clone(), r.arrivals.clone(), r.end, r.duration), (vec![8], vec![vec![5, 14]], 25, 25));
}

#[test]
fn a_break_taken_while_waiting_moves_the_departure() {
    // On the first leg: at c0 by 5, the break waits until 8 and ends at 11; leaving 3 later
    // serves c0 at 11 all the same, so the route leaves at 3.
    let report = check(&with_break(8, 9), &solution(Some((0, 0))));
    assert!(report.is_feasible(), "{:?}", report.violations);
    let r = &report.routes[0];
    assert_eq!((r.start, r.breaks.clone(), r.arrivals.clone(), r.end), (3, vec![8], vec![vec![11, 17]], 28));
}

#[test]
fn reports_a_missing_break_of_a_route_out_at_its_latest_start() {
    assert_eq!(check(&with_break(8, 9), &solution(None)).violations, vec![Violation::MissingBreak { route: 0, index: 0 }]);
    // Without its break, [c2] is back at 11, before a latest start of 12: it does not need
    // the break (taking it anyway is allowed), but [c0, c1] does.
    let mut s = solution(None);
    s.routes[1].breaks.clear();
    assert_eq!(check(&with_break(8, 12), &s).violations, vec![Violation::MissingBreak { route: 0, index: 0 }]);
    // Back before the latest start: no break needed.
    assert!(check(&with_break(30, 40), &s).is_feasible());
}

#[test]
fn reports_a_break_that_starts_too_late() {
    // On the way back from c1, which ends at 12.
    let report = check(&with_break(8, 9), &solution(Some((0, 2))));
    assert_eq!(report.violations, vec![Violation::BreakWindow { route: 0, index: 0, start: 12, late: 9 }]);
}

#[test]
fn reports_breaks_the_type_lacks_repeats_or_that_lie_on_no_leg() {
    let p = with_break(8, 9);
    for bad in [BreakStop { index: 1, trip: 0, after: 0 }, BreakStop { index: 0, trip: 1, after: 0 }, BreakStop { index: 0, trip: 0, after: 3 }] {
        let mut s = solution(None);
        s.routes[0].breaks.push(bad);
        assert!(check(&p, &s).violations.contains(&Violation::BadBreak { route: 0, position: 0 }), "{bad:?}");
    }
    let mut s = solution(Some((0, 1)));
    s.routes[0].breaks.push(BreakStop { index: 0, trip: 0, after: 0 });
    assert_eq!(check(&p, &s).violations, vec![Violation::BadBreak { route: 0, position: 1 }]);
}

#[test]
fn charges_overtime_above_the_normal_duration() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].overtime_after = 20;
    d.vehicle_types[0].unit_overtime_cost = 7;
    let report = check(&Problem::new(d).unwrap(), &plain());
    assert!(report.is_feasible());
    // [c0, c1] lasts 22 (2 over), [c2] 11.
    assert_eq!(report.cost.overtime_cost, 14);
    assert_eq!(report.cost.total, 20 + 10 + 14);
}

#[test]
fn charges_fair_days_by_the_square_of_each_route_duration() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].balance = Balance { cost: 3, per: 2 };
    let report = check(&Problem::new(d).unwrap(), &plain());
    assert!(report.is_feasible());
    // [c0, c1] lasts 22, [c2] 11: 3 * (11^2 + 5.5^2) = 363 + 90.75, each route rounded down.
    assert_eq!(report.cost.balance_cost, 363 + 90);
    assert_eq!(report.cost.total, 20 + 10 + 363 + 90);
}

#[test]
fn the_fair_day_cost_is_least_for_equal_days() {
    let b = Balance { cost: 10, per: 3600 };
    let hours = |h: &[i64]| h.iter().map(|&h| b.of(h * 3600)).sum::<i64>();
    assert_eq!((hours(&[6, 2]), hours(&[4, 4]), hours(&[8, 0])), (400, 320, 640));
    assert_eq!(Balance::default().of(36_000), 0);
    assert_eq!(Balance { cost: i64::MAX, per: 1 }.of(i64::MAX), i64::MAX, "saturates, never overflows");
}

#[test]
fn serves_a_client_in_its_second_window_when_the_first_has_passed() {
    let mut d = tiny_problem_data();
    d.clients[1].time_windows = vec![TimeWindow::new(0, 8), TimeWindow::new(20, 30)];
    let report = check(&Problem::new(d.clone()).unwrap(), &plain());
    assert!(report.is_feasible(), "{:?}", report.violations);
    // c1 is reached at 11, after its first window: served at 20. The wait lets the route leave
    // 9 later.
    assert_eq!((report.routes[0].start, report.routes[0].arrivals.clone()), (9, vec![vec![14, 20]]));
    d.clients[1].time_windows = vec![TimeWindow::new(0, 8), TimeWindow::new(9, 10)];
    assert_eq!(check(&Problem::new(d).unwrap(), &plain()).violations, vec![Violation::TimeWindow { route: 0, client: 1, arrival: 11, late: 10 }]);
}
