//! (written by the toss connector work)
