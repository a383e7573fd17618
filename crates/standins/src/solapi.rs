//! (written by the solapi connector work)
