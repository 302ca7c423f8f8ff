//! Jobs: a customer describes work they want done (a lead), with a budget, where and when;
//! providers who follow its category are told, browse open jobs by category and apply with a
//! quote, each in their own chat thread with the customer. Accepting a quote makes a booking
//! like any other, continuing that thread; the job follows its booking.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
