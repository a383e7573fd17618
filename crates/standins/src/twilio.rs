//! (written by the twilio connector work)
