//! Identifiers as types: a function that takes a [`ChargeId`] cannot be handed a merchant's id
//! by mistake. On the wire each is its plain string (`#[serde(transparent)]`; with the `openapi`
//! feature its schema is a string).

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A merchant (가맹점), `mer_...`.
    MerchantId
);
id_type!(
    /// A sales rep of a merchant, `rep_...`.
    RepId
);
id_type!(
    /// A charge (결제 요청): `ch_...` from the server, or a device-chosen UUID.
    ChargeId
);
id_type!(
    /// A client account (거래처), `acc_...`.
    AccountId
);
id_type!(
    /// An order (발주서), a device-chosen UUID.
    OrderId
);
id_type!(
    /// A merchant API key's id (not the key), `key_...`.
    ApiKeyId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_string_on_the_wire() {
        let id = ChargeId::new("ch_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"ch_1\"");
        let back: ChargeId = serde_json::from_str("\"ch_1\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id, "ch_1");
        assert_eq!(id.to_string(), "ch_1");
        let map: std::collections::HashMap<ChargeId, u8> = [(id.clone(), 1)].into();
        assert_eq!(map.get("ch_1"), Some(&1));
    }
}
