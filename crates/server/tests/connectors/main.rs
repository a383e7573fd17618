//! Card connectors and SMS senders against the strict provider stand-ins (fieldpay-standins).

mod toss;
