//! Rooms, members and messages over HTTP.

pub mod routes;
