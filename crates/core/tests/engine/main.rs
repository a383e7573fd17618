//! The engine against the real server started in-process on loopback: first and delta sync,
//! offline work reaching the server exactly once, rejections, live status, a fault-injecting
//! proxy, and crashes (SIGKILL) in the middle of local writes and pull pages.

mod harness;

mod crash;
mod faults;
mod flows;
