//! End-to-end tests of the deployed stack: real HTTP and WebSocket endpoints, real Lambda
//! bootstraps, the emulator's DynamoDB, SES and Management API. One binary, one module per area.

mod auth;
mod bookings;
mod chat;
mod chat_cost;
mod crm;
mod files;
mod followups;
mod jobs;
mod keys;
mod me;
mod notifications;
mod offers;
mod payouts;
mod reviews;
mod scheduling;
mod websocket;
