//! Production card and SMS connectors against their strict provider stand-ins.

mod portone;
