//! Plain domain types of the service (no HTTP, no SQL): what depots, customers, vehicle types, vehicles, drivers, orders and plans are, and the
//! rules their fields must satisfy. Validation returns every failing field at once, each named by
//! its JSON path, so the API can report them together.
//!
//! The types clients send (`*Input`, and the objects inside them) refuse JSON fields they do not
//! know (`#[serde(deny_unknown_fields)]`): a misspelt optional field would otherwise be dropped
//! without a word and its default used. The API reports such a field as a `422` naming it
//! (`unknown_field`). serde does not combine `deny_unknown_fields` with `#[serde(flatten)]`, so
//! none of these types may flatten another.

pub mod assignment;
pub mod customer;
pub mod depot;
pub mod driver;
pub mod invoice;
pub mod order;
pub mod payment;
pub mod plan;
pub mod replan;
pub mod user;
pub mod validation;
pub mod vehicle;
pub mod vehicle_type;

pub use assignment::{Assignment, AssignmentInput};
pub use customer::{AccessRestriction, Customer, CustomerInput, NewCustomer, PaymentMethod, TimeWindow, UsualCylinder};
pub use depot::{Depot, DepotInput, NewDepot};
pub use driver::{Driver, DriverInput, NewDriver};
pub use order::{NewOrder, Order, OrderEvent, OrderInput, OrderStatus, Priority, StatusChange, StatusChangeInput, TimePreference};
pub use plan::{DriverDay, DriverRoutes, JobStatus, PlanJob, PlanOptions, PlanRequest, PlanRequestInput, PlanResult, ProgressPoint, StopStatus};
pub use user::{NewUser, Role, User, UserInput, UserUpdate, UserUpdateInput};
pub use validation::{Expected, FieldError, FieldProblem, Lang};
pub use vehicle::{NewVehicle, Vehicle, VehicleInput};
pub use vehicle_type::{CylinderSlots, NewVehicleType, VehicleKind, VehicleType, VehicleTypeInput};
