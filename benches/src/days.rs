//! Generated delivery days for the replanning benches.

use solver::model::{Client, Depot, Location, Matrix, ProblemData, Profile, Skills, TimeWindow, VehicleType, UNLIMITED};

/// A day of `clients` stops around one depot in a 20 km square (a Taipei district's size),
/// served by `vehicles` trucks of 24 cylinder slots from 08:00 (time 0) for ten hours: each stop
/// exchanges one or two cylinders (a full one delivered, the empty taken back) in five minutes,
/// two in five within a three-hour window. Travel is straight-line distance times 1.3 at
/// 25 km/h; distances in metres, times in seconds. The same `seed` gives the same day.
pub fn replan_day(seed: u64, clients: usize, vehicles: usize) -> ProblemData {
    let mut x = seed ^ 0xA076_1D64_78BD_642F;
    let mut next = |m: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % m.max(1)
    };
    let mut locations = vec![Location { x: 10_000.0, y: 10_000.0 }];
    for _ in 0..clients {
        locations.push(Location { x: next(20_000) as f64, y: next(20_000) as f64 });
    }
    let n = locations.len();
    let metres = |a: usize, b: usize| ((locations[a].x - locations[b].x).hypot(locations[a].y - locations[b].y) * 1.3).round() as i64;
    let distance = Matrix::from_fn(n, metres).expect("finite distances");
    // 25 km/h is 250 m per 36 s.
    let duration = Matrix::from_fn(n, |a, b| metres(a, b) * 36 / 250).expect("finite durations");
    let day = 10 * 3600;
    let clients = (0..clients)
        .map(|i| {
            let q = 1 + next(2) as i64;
            let window = if next(5) < 2 {
                let early = next((day - 3 * 3600) as u64) as i64;
                TimeWindow::new(early, early + 3 * 3600)
            } else {
                TimeWindow::new(0, day)
            };
            Client {
                name: format!("C{:04}", i + 1),
                location: i + 1,
                delivery: vec![q],
                pickup: vec![q],
                service_duration: 300,
                time_windows: vec![window],
                release_time: 0,
                required: true,
                prize: 0,
                skills: Skills::NONE,
            }
        })
        .collect();
    ProblemData {
        name: format!("replan-day-{seed}"),
        locations,
        depots: vec![Depot { name: "depot".into(), location: 0, time_window: TimeWindow::new(0, day), reload_duration: 900 }],
        clients,
        vehicle_types: vec![VehicleType {
            name: "truck".into(),
            count: vehicles,
            capacity: vec![24],
            start_depot: 0,
            end_depot: 0,
            shift: TimeWindow::new(0, day),
            max_duration: UNLIMITED,
            max_distance: UNLIMITED,
            fixed_cost: 0,
            unit_distance_cost: 1,
            unit_duration_cost: 0,
            profile: 0,
            skills: Skills::NONE,
            reload_depots: Vec::new(),
            max_trips: 1,
            breaks: Vec::new(),
            overtime_after: UNLIMITED,
            unit_overtime_cost: 0,
            balance: Default::default(),
            on_board: None,
        }],
        profiles: vec![Profile { name: "truck".into(), distance, duration, congestion: Default::default() }],
        dimensions: 1,
        skill_names: Vec::new(),
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs: Vec::new(),
    }
}
