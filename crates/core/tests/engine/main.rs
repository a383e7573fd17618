//! The engine against the real server started in-process on loopback: first and delta sync,
//! offline work reaching the server exactly once, rejections, live status, a fault-injecting
//! proxy, crashes (SIGKILL) in the middle of local writes and pull pages, and whose data a
//! device database is (one per rep; plain http only on loopback).

mod harness;

mod collections;
mod crash;
mod faults;
mod flows;
mod identity;
mod manager;
mod numbers;
mod returns;
mod scope;
