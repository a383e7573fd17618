//! Production card connectors and SMS senders against their strict provider stand-ins
//! (fieldpay-standins), with only the base URL pointed at them.

mod nhn;
mod portone;
mod solapi;
mod toss;
mod twilio;
