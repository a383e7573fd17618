//! `fieldpay-server admin ...`, run as the built binary on the configured store (SQLite, or
//! PostgreSQL with `FIELDPAY_TEST_STORE=postgres`): every command, its printed result, and bad
//! input refused with one typed line on stderr, a non-zero exit and nothing stored.

use std::path::{Path, PathBuf};
use std::process::Command;

use fieldpay_protocol::Secret;

use crate::helpers::test_store;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The operator's command line against one store.
struct Admin {
    data: PathBuf,
    database_url: Option<Secret>,
}

impl Admin {
    fn new(dir: &Path) -> Admin {
        Admin {
            data: dir.join("data"),
            database_url: test_store(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldpay-server"));
        cmd.env_clear().arg("--data").arg(&self.data);
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url.expose());
        }
        let out = cmd
            .arg("admin")
            .args(args)
            .output()
            .expect("run fieldpay-server");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// Runs a command that must be refused with `code`: exit 1 and one `error: <code>: ...`
    /// line on stderr (logs aside). Returns that line.
    fn refused(&self, args: &[&str], code: &str) -> String {
        let r = self.run(args);
        assert_eq!(r.code, Some(1), "{args:?}: {}{}", r.stdout, r.stderr);
        let errors: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {}", r.stderr);
        assert!(
            errors[0].starts_with(&format!("error: {code}: ")),
            "{args:?}: {}",
            errors[0]
        );
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        errors[0].to_string()
    }
}

/// The value after `label` on a line of `out`.
fn after(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.split_once(label).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
}

#[test]
fn every_admin_command_on_the_configured_store() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Admin::new(tmp.path());

    let out = a.ok(&["operator-token", "create", "--name", "ops"]);
    let token = after(&out, "token (shown once):");
    assert!(token.starts_with("fpo_") && token.len() == 44, "{out}");

    // Merchants.
    let create = [
        "merchant",
        "create",
        "--code",
        "cli-co",
        "--name",
        "새봄약품",
        "--business-number",
        "220-81-62517",
        "--representative",
        "정대표",
        "--phone",
        "02-2345-6789",
        "--address",
        "서울 종로구 종로 1",
        "--credit-policy",
        "warn",
        "--manager-may-change",
        "credit_policy,require_birth_date",
    ];
    let out = a.ok(&create);
    assert!(out.starts_with("created merchant cli-co"), "{out}");
    for want in [
        "business number: 220-81-62517",
        "phone: 02-2345-6789",
        "credit_policy=warn",
        "managers may change: credit_policy, require_birth_date",
        "status: active",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let mut again = create;
    a.refused(&again, "conflict");
    again[3] = "cli-bad";
    again[7] = "220-81-62518";
    a.refused(&again, "invalid_business_number");
    again[7] = "220-81-62517";
    again[11] = "02-12";
    a.refused(&again, "invalid_phone");
    again[11] = "02-2345-6789";
    again[15] = "maybe";
    a.refused(&again, "invalid_field");
    again[15] = "warn";
    again[17] = "everything";
    a.refused(&again, "invalid_field");
    let list = a.ok(&["merchant", "list"]);
    assert_eq!(list.lines().count(), 1, "nothing else stored: {list}");
    assert!(
        list.starts_with("cli-co\tactive\t새봄약품\t0 numbers"),
        "{list}"
    );
    let out = a.ok(&[
        "merchant",
        "update",
        "--merchant",
        "cli-co",
        "--address",
        "서울 종로구 종로 2",
        "--texts-per-hour",
        "50",
    ]);
    assert!(
        out.contains("address: 서울 종로구 종로 2") && out.contains("texts_per_hour=50"),
        "{out}"
    );
    a.refused(
        &[
            "merchant",
            "update",
            "--merchant",
            "cli-co",
            "--texts-per-hour",
            "lots",
        ],
        "invalid_field",
    );
    a.refused(&["merchant", "show", "--merchant", "nope"], "not_found");

    // Numbers.
    let out = a.ok(&[
        "numbers",
        "add",
        "--merchant",
        "cli-co",
        "1600-0510..1600-0512",
        "1600-0520",
    ]);
    assert!(
        out.starts_with("added 4 numbers to cli-co: 1600-0510, 1600-0511, 1600-0512, 1600-0520"),
        "{out}"
    );
    a.refused(
        &[
            "numbers",
            "add",
            "--merchant",
            "cli-co",
            "1600-0530..1600-0535",
            "1600-0533",
        ],
        "invalid_field",
    );
    a.refused(
        &[
            "numbers",
            "add",
            "--merchant",
            "cli-co",
            "1600-0512..1600-0514",
        ],
        "conflict",
    );
    a.refused(
        &["numbers", "add", "--merchant", "cli-co", "010-1234-5678"],
        "invalid_phone",
    );
    a.refused(
        &["numbers", "add", "--merchant", "nope", "1600-0540"],
        "not_found",
    );
    a.ok(&["numbers", "remove", "--merchant", "cli-co", "1600-0520"]);
    a.refused(
        &["numbers", "remove", "--merchant", "cli-co", "1600-0520"],
        "not_found",
    );
    let out = a.ok(&["numbers", "list", "--merchant", "cli-co"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["1600-0510", "1600-0511", "1600-0512"]
    );

    // Reps.
    let out = a.ok(&[
        "rep",
        "create",
        "--merchant",
        "cli-co",
        "--login",
        "boss",
        "--name",
        "정관리",
        "--role",
        "manager",
    ]);
    let otp = after(&out, "first sign-in):");
    assert_eq!(otp.len(), 12, "{out}");
    a.refused(
        &[
            "rep",
            "create",
            "--merchant",
            "cli-co",
            "--login",
            "boss",
            "--name",
            "또",
        ],
        "conflict",
    );
    a.refused(
        &[
            "rep",
            "create",
            "--merchant",
            "cli-co",
            "--login",
            "kim",
            "--name",
            "김",
            "--role",
            "boss",
        ],
        "invalid_field",
    );
    let out = a.ok(&[
        "rep",
        "reset-password",
        "--merchant",
        "cli-co",
        "--login",
        "boss",
    ]);
    let otp2 = after(&out, "next sign-in):");
    assert_ne!(otp, otp2);
    a.refused(
        &[
            "rep",
            "reset-password",
            "--merchant",
            "cli-co",
            "--login",
            "nobody",
        ],
        "not_found",
    );
    a.ok(&[
        "rep",
        "deactivate",
        "--merchant",
        "cli-co",
        "--login",
        "boss",
    ]);
    a.refused(
        &[
            "rep",
            "deactivate",
            "--merchant",
            "cli-co",
            "--login",
            "boss",
        ],
        "invalid_state",
    );

    // API keys.
    let out = a.ok(&["api-key", "create", "--merchant", "cli-co", "--name", "ERP"]);
    let key = after(&out, "key (shown once):");
    assert!(key.starts_with("fpk_"), "{out}");
    let key_id = out.split_whitespace().nth(3).unwrap().to_string();
    let out = a.ok(&["api-key", "list", "--merchant", "cli-co"]);
    assert!(
        out.contains("ERP")
            && out.contains(&key[..12])
            && out.contains("never")
            && out.contains("live"),
        "{out}"
    );
    assert!(!out.contains(&key), "the key is printed once only");
    a.ok(&["api-key", "revoke", "--merchant", "cli-co", "--id", &key_id]);
    assert!(a
        .ok(&["api-key", "list", "--merchant", "cli-co"])
        .contains("revoked"));
    a.refused(
        &["api-key", "revoke", "--merchant", "cli-co", "--id", &key_id],
        "not_found",
    );
    a.refused(
        &["api-key", "create", "--merchant", "cli-co", "--name", " "],
        "invalid_field",
    );

    // Webhook.
    a.refused(
        &["webhook", "rotate-secret", "--merchant", "cli-co"],
        "invalid_state",
    );
    a.refused(
        &[
            "webhook",
            "set",
            "--merchant",
            "cli-co",
            "--url",
            "http://example.com/hook",
        ],
        "invalid_field",
    );
    let out = a.ok(&[
        "webhook",
        "set",
        "--merchant",
        "cli-co",
        "--url",
        "http://127.0.0.1:9/hook",
    ]);
    let secret = after(&out, "signing secret (shown once):");
    assert!(secret.starts_with("whsec_"), "{out}");
    let out = a.ok(&["webhook", "rotate-secret", "--merchant", "cli-co"]);
    let secret2 = after(&out, "(shown once):");
    assert!(secret2.starts_with("whsec_") && secret2 != secret, "{out}");
    assert!(out.contains("also signs deliveries until"), "{out}");
    let show = a.ok(&["merchant", "show", "--merchant", "cli-co"]);
    assert!(show.contains("webhook: http://127.0.0.1:9/hook"), "{show}");
    assert!(!show.contains(&secret2), "{show}");

    // Suspension.
    let out = a.ok(&["merchant", "suspend", "--merchant", "cli-co"]);
    assert!(
        out.starts_with("suspended cli-co: new charges are refused; 0 pending charges canceled"),
        "{out}"
    );
    assert!(a
        .ok(&["merchant", "show", "--merchant", "cli-co"])
        .contains("status: suspended"));
    a.refused(&["merchant", "suspend", "--merchant", "nope"], "not_found");
    a.ok(&["merchant", "activate", "--merchant", "cli-co"]);

    // The audit log: everything, by the CLI, without a secret.
    let audit = a.ok(&["audit", "--merchant", "cli-co"]);
    let actions: Vec<&str> = audit
        .lines()
        .rev()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols[1], "cli", "{l}");
            cols[2]
        })
        .collect();
    assert_eq!(
        actions,
        [
            "merchant.create",
            "merchant.update",
            "numbers.add",
            "numbers.remove",
            "rep.create",
            "rep.reset_password",
            "rep.deactivate",
            "api_key.create",
            "api_key.revoke",
            "webhook.set",
            "webhook.rotate_secret",
            "merchant.suspend",
            "merchant.activate",
        ]
    );
    let out = a.ok(&["operator-token", "create", "--name", "spare"]);
    let spare = out.split_whitespace().nth(3).unwrap().to_string();
    assert!(spare.starts_with("op_"), "{out}");
    a.ok(&["operator-token", "revoke", "--id", &spare]);
    a.refused(&["operator-token", "revoke", "--id", &spare], "not_found");
    let all = a.ok(&["audit", "--limit", "1000"]);
    assert!(all.contains("operator_token.revoke"), "{all}");
    assert!(all.contains("operator_token.create"), "{all}");
    for s in [&token, &otp, &otp2, &key, &secret, &secret2] {
        assert!(!all.contains(s.as_str()), "a secret in the audit log");
    }
}
