//! VRPLIB solution files (`Route #k: ...` lines and a `Cost` line).
