//! (written by the portone connector work)
