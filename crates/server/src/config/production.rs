//! What each mode needs of the settings beyond their form ([`Settings::validate`]): the
//! provider sections complete, and, in production, nothing of the sandbox left. Each problem
//! is one line saying what to change; `serve` refuses to start on any, `check-config` lists
//! them all.

use super::{CardProvider, Mode, Settings, SmsProvider, SANDBOX_TWILIO_AUTH_TOKEN};

/// Secret values published in the README and its examples: a server that takes real
/// payments must not run with one of them.
pub const PUBLISHED_SECRETS: &[&str] = &[SANDBOX_TWILIO_AUTH_TOKEN, crate::demo::DEMO_API_KEY];

/// The word the README's example `prod.toml` puts in every secret: a value containing it is
/// a placeholder nobody replaced.
pub const PLACEHOLDER_MARK: &str = "replace-me";

impl Settings {
    /// Every problem of these settings for their mode, one line each (empty: fine). Checked
    /// without opening the database or reaching a provider.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.card.problems();
        out.extend(self.sms.problems());
        match self.mode {
            Mode::Sandbox => out.extend(self.sandbox_problems()),
            Mode::Production => out.extend(self.production_problems()),
        }
        out
    }

    fn sandbox_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.card.provider != CardProvider::Sandbox {
            out.push(format!(
                "invalid setting card.provider: sandbox mode uses the sandbox card network; set \
                 mode = \"production\" to approve cards through {}",
                self.card.provider.as_str()
            ));
        }
        if self.sms.provider != SmsProvider::Sandbox {
            out.push(format!(
                "invalid setting sms.provider: sandbox mode keeps texts in the SMS log; set \
                 mode = \"production\" to send them through {}",
                self.sms.provider.as_str()
            ));
        }
        out
    }

    fn production_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let https = self.public_url.starts_with("https://");
        if !https {
            if !self.public_url_is_loopback() {
                out.push(format!(
                    "invalid setting public_url: production needs an https:// public URL \
                     (carriers post calls and payers open receipts there), not {}",
                    self.public_url
                ));
            } else if !self.allow_insecure_public_url {
                out.push(format!(
                    "invalid setting public_url: {} is http:// on this machine; production \
                     allows that only for staging behind a local proxy, with \
                     allow_insecure_public_url = true",
                    self.public_url
                ));
            }
        }
        if self.card.provider == CardProvider::Sandbox {
            out.push(
                "missing setting card.provider: production needs a card connector ([card] \
                 provider = \"toss\" or \"portone\", with its keys)"
                    .into(),
            );
        }
        if self.sms.provider == SmsProvider::Sandbox {
            out.push(
                "missing setting sms.provider: production needs a text-message provider ([sms] \
                 provider = \"solapi\", \"nhn\" or \"twilio\", with its keys and sender)"
                    .into(),
            );
        }
        let mut secrets: Vec<(String, &fieldpay_protocol::Secret)> =
            vec![("twilio_auth_token".into(), &self.twilio_auth_token)];
        secrets.extend(self.card.secrets());
        secrets.extend(self.sms.secrets());
        if let Some(k) = &self.credentials_key {
            secrets.push(("credentials_key".into(), k));
        }
        if let Some(url) = &self.database_url {
            secrets.push(("database_url".into(), url));
        }
        for (name, secret) in secrets {
            let value = secret.expose();
            if PUBLISHED_SECRETS.contains(&value) {
                out.push(format!(
                    "invalid setting {name}: it is the sandbox's published value; production \
                     needs a secret one"
                ));
            } else if value.to_ascii_lowercase().contains(PLACEHOLDER_MARK) {
                out.push(format!(
                    "invalid setting {name}: it is still the example's placeholder \
                     ({PLACEHOLDER_MARK}); put the real key there"
                ));
            }
        }
        if self.allow_remote_sandbox {
            out.push(
                "invalid setting allow_remote_sandbox: a sandbox setting; remove it in production"
                    .into(),
            );
        }
        if self.sandbox_clock {
            out.push(
                "invalid setting sandbox_clock: a sandbox setting (it moves every merchant's \
                 time); remove it in production"
                    .into(),
            );
        }
        out
    }

    /// For the startup line and `check-config`: mode, store, connectors, telephony adapters,
    /// listen addresses. Never a secret.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let telephony = match self.sip_listen {
            Some(sip) => format!(
                "TwiML at {}/telephony/twiml/voice, SIP at {sip}",
                self.public_url.trim_end_matches('/')
            ),
            None => format!(
                "TwiML at {}/telephony/twiml/voice",
                self.public_url.trim_end_matches('/')
            ),
        };
        let mut lines = vec![
            ("mode", self.mode.as_str().to_string()),
            ("store", self.describe_store()),
            ("card", self.card.describe()),
            ("sms", self.sms.describe()),
            ("telephony", telephony),
            ("listen", self.listen.to_string()),
            ("public URL", self.public_url.clone()),
            ("internal URL", self.internal_url.clone()),
        ];
        if self.sandbox() {
            lines.push(("data folder", self.data_dir.display().to_string()));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileSettings;
    use std::collections::HashMap;

    fn production(extra: &str) -> Settings {
        let f: FileSettings = toml::from_str(&format!(
            "mode = \"production\"\npublic_url = \"https://pay.example.com\"\n\
             twilio_auth_token = \"t0k3n-for-carrier\"\n{extra}"
        ))
        .unwrap();
        Settings::default().apply(f)
    }

    const TOSS_SOLAPI: &str = "[card]\nprovider = \"toss\"\nsecret_key = \"live_sk_abc\"\n\
        [sms]\nprovider = \"solapi\"\napi_key = \"NCS1\"\napi_secret = \"s3cr3t\"\nsender = \"1600-0000\"\n";

    #[test]
    fn a_complete_production_file_has_no_problem() {
        let s = production(TOSS_SOLAPI);
        assert_eq!(s.problems(), Vec::<String>::new());
        assert_eq!(s.card.base_url(), Some("https://api.tosspayments.com"));
        let summary = format!("{:?}", s.summary());
        for secret in ["live_sk_abc", "s3cr3t", "NCS1", "t0k3n-for-carrier"] {
            assert!(!summary.contains(secret), "{summary}");
        }
        assert!(
            summary.contains("toss at https://api.tosspayments.com"),
            "{summary}"
        );
    }

    #[test]
    fn production_refuses_each_sandbox_leftover_with_one_line() {
        let s = Settings {
            mode: Mode::Production,
            sandbox_clock: true,
            ..Settings::default()
        };
        let problems = s.problems();
        let all = problems.join("\n");
        for expected in [
            "public_url",
            "card.provider",
            "sms.provider",
            "twilio_auth_token",
            "sandbox_clock",
        ] {
            assert!(all.contains(expected), "{expected} missing in:\n{all}");
        }
        assert!(problems.iter().all(|p| !p.contains('\n')));
    }

    #[test]
    fn public_url_rules() {
        let plain = production(TOSS_SOLAPI);
        let http_remote = Settings {
            public_url: "http://pay.example.com".into(),
            ..plain.clone()
        };
        assert!(http_remote.problems()[0].contains("https://"));
        let http_local = Settings {
            public_url: "http://127.0.0.1:8640".into(),
            ..plain.clone()
        };
        assert!(http_local.problems()[0].contains("allow_insecure_public_url"));
        let staging = Settings {
            allow_insecure_public_url: true,
            ..http_local
        };
        assert!(staging.problems().is_empty());
        let still_remote = Settings {
            allow_insecure_public_url: true,
            ..http_remote
        };
        assert_eq!(still_remote.problems().len(), 1);
    }

    #[test]
    fn missing_and_misplaced_keys_and_placeholders() {
        let s = production("[card]\nprovider = \"portone\"\napi_secret = \"x\"\nsecret_key = \"y\"\n[sms]\nprovider = \"nhn\"\napp_key = \"replace-me\"\nsecret_key = \"k\"\n");
        let all = s.problems().join("\n");
        assert!(all.contains("missing setting card.channel_key"), "{all}");
        assert!(all.contains("FIELDPAY_CARD_CHANNEL_KEY"), "{all}");
        assert!(
            all.contains("card.secret_key: provider portone does not use it"),
            "{all}"
        );
        assert!(all.contains("sms.sender"), "{all}");
        assert!(
            all.contains("sms.app_key: it is still the example's placeholder"),
            "{all}"
        );
        let published = production(TOSS_SOLAPI);
        let published = Settings {
            twilio_auth_token: SANDBOX_TWILIO_AUTH_TOKEN.into(),
            ..published
        };
        assert!(published.problems()[0].contains("published"));
    }

    #[test]
    fn sandbox_mode_keeps_sandbox_providers() {
        let f: FileSettings = toml::from_str(TOSS_SOLAPI).unwrap();
        let s = Settings::default().apply(f);
        let all = s.problems().join("\n");
        assert!(all.contains("mode = \"production\""), "{all}");
        assert!(Settings::default().problems().is_empty());
    }

    #[test]
    fn secrets_from_the_environment_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("toss.key");
        std::fs::write(&key, "live_sk_from_file\n").unwrap();
        let conf = dir.path().join("prod.toml");
        std::fs::write(
            &conf,
            format!(
                "mode = \"production\"\n[card]\nprovider = \"toss\"\nsecret_key_file = \"{}\"\n",
                key.display()
            ),
        )
        .unwrap();
        let f = Settings::load_file(&conf).unwrap();
        let s = Settings::default().apply(f);
        assert_eq!(
            s.card.secret_key.as_ref().unwrap().expose(),
            "live_sk_from_file"
        );
        // The environment wins over the file.
        let env: HashMap<&str, &str> = HashMap::from([
            ("FIELDPAY_CARD_SECRET_KEY", "live_sk_from_env"),
            ("FIELDPAY_SMS_PROVIDER", "twilio"),
            ("FIELDPAY_SMS_ACCOUNT_SID", "AC123"),
            ("FIELDPAY_SMS_AUTH_TOKEN", "tw-secret"),
            ("FIELDPAY_SMS_SENDER", "+15005550006"),
        ]);
        let get = |k: &str| env.get(k).map(|v| v.to_string());
        let s = s.apply_env(&get).unwrap();
        assert_eq!(
            s.card.secret_key.as_ref().unwrap().expose(),
            "live_sk_from_env"
        );
        assert_eq!(s.sms.provider, SmsProvider::Twilio);
        assert!(s.sms.problems().is_empty(), "{:?}", s.sms.problems());
        // Both forms at once, an empty file, a bad provider: errors naming the setting only.
        std::fs::write(
            &conf,
            format!(
                "[card]\nsecret_key = \"x\"\nsecret_key_file = \"{}\"\n",
                key.display()
            ),
        )
        .unwrap();
        let e = Settings::load_file(&conf).unwrap_err().to_string();
        assert!(
            e.contains("card.secret_key") && !e.contains("live_sk"),
            "{e}"
        );
        std::fs::write(&key, "\n").unwrap();
        std::fs::write(
            &conf,
            format!("[card]\nsecret_key_file = \"{}\"\n", key.display()),
        )
        .unwrap();
        let e = Settings::load_file(&conf).unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
        let bad = |k: &str| (k == "FIELDPAY_CARD_PROVIDER").then(|| "visa".to_string());
        let e = Settings::default().apply_env(&bad).unwrap_err().to_string();
        assert!(e.contains("card.provider"), "{e}");
    }

    /// README's example (docs/examples/prod.toml) is complete: once its placeholders are
    /// replaced, production has nothing to refuse.
    #[test]
    fn the_documented_example_needs_only_its_placeholders_replaced() {
        let text = include_str!("../../../../docs/examples/prod.toml");
        let f: FileSettings = toml::from_str(text).unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        let problems = s.problems();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(
            problems.iter().all(|p| p.contains("placeholder")),
            "{problems:#?}"
        );
        let f: FileSettings = toml::from_str(&text.replace("replace-me", "s3cret-value")).unwrap();
        let s = Settings::default().apply(f).validate().unwrap();
        assert_eq!(s.problems(), Vec::<String>::new());
        assert_eq!(s.mode, Mode::Production);
    }
}
