//! (written by the nhn connector work)
