//! Tiny named fixtures shared by the unit tests.

use crate::io::rounding::{euclidean_matrix, Rounding};
use crate::model::*;

/// One depot at the origin, three clients on a line, two vehicles of capacity 10.
pub fn tiny_problem_data() -> ProblemData {
    let locations = vec![Location { x: 0.0, y: 0.0 }, Location { x: 3.0, y: 4.0 }, Location { x: 6.0, y: 8.0 }, Location { x: -3.0, y: -4.0 }];
    let m = euclidean_matrix(&locations, Rounding::Round).unwrap();
    let clients = (1..4)
        .map(|i| Client {
            name: format!("c{i}"),
            location: i,
            delivery: vec![4],
            pickup: vec![0],
            service_duration: 1,
            time_windows: vec![TimeWindow::new(0, 100)],
            release_time: 0,
            required: true,
            prize: 0,
            skills: Skills::NONE,
        })
        .collect();
    ProblemData {
        name: "tiny".into(),
        locations,
        depots: vec![Depot { name: "d".into(), location: 0, time_window: TimeWindow::new(0, 1000), reload_duration: 0 }],
        clients,
        vehicle_types: vec![VehicleType {
            name: "truck".into(),
            count: 2,
            capacity: vec![10],
            start_depot: 0,
            end_depot: 0,
            shift: TimeWindow::new(0, 1000),
            max_duration: UNLIMITED,
            max_distance: UNLIMITED,
            fixed_cost: 0,
            unit_distance_cost: 1,
            unit_duration_cost: 0,
            profile: 0,
            skills: Skills::NONE,
            reload_depots: vec![],
            max_trips: 1,
            breaks: Vec::new(),
            overtime_after: UNLIMITED,
            unit_overtime_cost: 0,
            balance: Default::default(),
            on_board: None,
        }],
        profiles: vec![Profile { name: "car".into(), distance: m.clone(), duration: m, congestion: Default::default() }],
        dimensions: 1,
        skill_names: vec![],
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs: Vec::new(),
    }
}
