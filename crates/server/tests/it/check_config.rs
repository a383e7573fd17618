//! `fieldpay-server check-config`, run as the built binary: good and bad TOML files, the exit
//! codes, one line per problem, no password in the output, nothing created or bound.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

const PASSWORD: &str = "pw-never-printed-7Q";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The problem lines (stderr lines starting `error:`).
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }
}

/// Runs `fieldpay-server --config <dir>/server.toml check-config` on `toml_text` (with
/// `{data}` replaced by a data folder path inside `dir` that does not exist), in a clean
/// environment (no `FIELDPAY_*` variable from the caller).
fn check(dir: &Path, toml_text: &str, env: &[(&str, &str)]) -> Run {
    let data = dir.join("data");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        toml_text.replace("{data}", data.to_str().expect("utf-8 path")),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fieldpay-server"))
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run fieldpay-server");
    assert!(
        !data.exists(),
        "check-config must not create the data folder"
    );
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_good_file_passes_with_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    // A port in use: check-config binds nothing, so this does not matter.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap();
    let r = check(
        tmp.path(),
        &format!("data_dir = \"{{data}}\"\nlisten = \"{listen}\"\nmode = \"sandbox\"\n"),
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.starts_with("configuration OK"), "{}", r.stdout);
    let data = tmp.path().join("data");
    for want in [
        format!("store: SQLite file {}", data.join("fieldpay.db").display()),
        format!("listen: {listen}"),
        format!("public URL: http://{listen}"),
        "mode: sandbox".to_string(),
    ] {
        assert!(r.stdout.contains(&want), "{want:?} in {}", r.stdout);
    }
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert!(
        !tmp.path().join("fieldpay.db").exists() && !tmp.path().join("data").exists(),
        "nothing created"
    );
}

#[test]
fn a_postgres_url_is_summarised_without_its_password() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing listens there: check-config never connects.
    let r = check(
        tmp.path(),
        &format!(
            "data_dir = \"{{data}}\"\ndatabase_url = \"postgres://fieldpay:{PASSWORD}@127.0.0.1:1/payments\"\n\
             database_pool_size = 4\n"
        ),
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains(
            "store: PostgreSQL database payments on 127.0.0.1:1 as user fieldpay (at most 4 connections)"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
    // From the environment too (as a systemd EnvironmentFile would set it).
    let url = format!("postgresql://fieldpay:{PASSWORD}@db.example:5433/other");
    let r = check(
        tmp.path(),
        "data_dir = \"{data}\"\n",
        &[("FIELDPAY_DATABASE_URL", &url)],
    );
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("database other on db.example:5433"),
        "{}",
        r.stdout
    );
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
}

#[test]
fn an_unknown_key_is_one_line_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    // A misspelt key whose value holds a password: the line quotes neither the value nor the
    // line of the file.
    let r = check(
        tmp.path(),
        &format!(
            "data_dir = \"{{data}}\"\ndatabse_url = \"postgres://fieldpay:{PASSWORD}@db/fp\"\n"
        ),
        &[],
    );
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let line = r.errors()[0];
    assert!(line.contains("server.toml is invalid"), "{line}");
    assert!(line.contains("line 2, column 1"), "{line}");
    assert!(line.contains("unknown field `databse_url`"), "{line}");
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn a_bad_value_in_the_file_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let r = check(
        tmp.path(),
        "data_dir = \"{data}\"\nlisten = \"not an address\"\n",
        &[],
    );
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    let r = check(
        tmp.path(),
        "data_dir = \"{data}\"\nmode = \"sandbx\"\n",
        &[],
    );
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

#[test]
fn a_database_url_of_another_scheme_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let r = check(
        tmp.path(),
        &format!("data_dir = \"{{data}}\"\ndatabase_url = \"mysql://fieldpay:{PASSWORD}@db/fp\"\n"),
        &[],
    );
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(r.errors().len(), 1, "{}", r.stderr);
    assert!(
        r.errors()[0].contains("database_url") && r.errors()[0].contains("postgres://"),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn a_zero_pool_size_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let r = check(
        tmp.path(),
        &format!(
            "data_dir = \"{{data}}\"\ndatabase_url = \"postgres://fieldpay:{PASSWORD}@db/fp\"\n\
             database_pool_size = 0\n"
        ),
        &[],
    );
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(
        r.errors(),
        ["error: invalid setting database_pool_size: must be positive"],
        "{}",
        r.stderr
    );
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
}

#[test]
fn sandbox_beyond_loopback_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = "data_dir = \"{data}\"\nmode = \"sandbox\"\nlisten = \"0.0.0.0:8640\"\n\
                  public_url = \"https://pay.example.com\"\ntwilio_auth_token = \"not-the-sandbox-one\"\n";
    let r = check(tmp.path(), remote, &[]);
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(r.errors().len(), 1, "{}", r.stderr);
    assert!(
        r.errors()[0].contains("sandbox mode serves on loopback only")
            && r.errors()[0].contains("allow_remote_sandbox"),
        "{}",
        r.stderr
    );
    // Allowed: it passes, with serve's loud warning.
    let r = check(
        tmp.path(),
        &format!("{remote}allow_remote_sandbox = true\n"),
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stderr.starts_with("warning: SANDBOX MODE IS REACHABLE"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_problem_gets_its_own_line() {
    let tmp = tempfile::tempdir().unwrap();
    let r = check(
        tmp.path(),
        "data_dir = \"{data}\"\ndatabase_pool_size = 0\nlisten = \"0.0.0.0:8640\"\nmode = \"production\"\n",
        &[],
    );
    assert_eq!(r.code, Some(1), "{}", r.all());
    let errors = r.errors();
    assert_eq!(r.stderr.lines().count(), errors.len(), "{}", r.stderr);
    assert!(errors[0].contains("database_pool_size"), "{}", r.stderr);
    assert!(errors[1].contains("twilio_auth_token"), "{}", r.stderr);
    for expected in [
        "public_url: production needs an https://",
        "missing setting card.provider",
        "missing setting sms.provider",
        "twilio_auth_token: it is the sandbox's published value",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected}: {}",
            r.stderr
        );
    }
}

/// A complete production file passes: its keys from a file and the environment, the summary
/// naming the connectors and never a secret.
#[test]
fn a_production_file_with_keys_from_files_and_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("toss.key");
    std::fs::write(&key, "live_sk_canary_from_file\n").unwrap();
    let text = format!(
        "data_dir = \"{{data}}\"\nmode = \"production\"\npublic_url = \"https://pay.example.com\"\n\
         [card]\nprovider = \"toss\"\nsecret_key_file = \"{}\"\n\
         [sms]\nprovider = \"solapi\"\nsender = \"1600-0000\"\n",
        key.display()
    );
    let env = [
        ("FIELDPAY_SMS_API_KEY", "NCS-canary-key"),
        ("FIELDPAY_SMS_API_SECRET", "solapi-canary-secret"),
        ("FIELDPAY_TWILIO_AUTH_TOKEN", "carrier-canary-token"),
    ];
    let r = check(tmp.path(), &text, &env);
    assert_eq!(r.code, Some(0), "{}", r.all());
    for want in [
        "mode: production",
        "card: toss at https://api.tosspayments.com",
        "sms: solapi at https://api.solapi.com",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
    for secret in [
        "live_sk_canary",
        "NCS-canary",
        "solapi-canary",
        "carrier-canary",
    ] {
        assert!(!r.all().contains(secret), "{secret}: {}", r.all());
    }
    // Without the secret, one line naming where it may come from.
    let r = check(tmp.path(), &text, &env[..1]);
    assert_eq!(r.code, Some(1), "{}", r.all());
    let errors = r.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("sms.api_secret") && e.contains("FIELDPAY_SMS_API_SECRET")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_file_and_a_bad_environment_value_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fieldpay-server"))
        .args(["--config", "/nonexistent/fieldpay.toml", "check-config"])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: cannot read config file /nonexistent/fieldpay.toml: No such file or directory (os error 2)"
    );
    let r = check(
        tmp.path(),
        "data_dir = \"{data}\"\n",
        &[("FIELDPAY_LISTEN", "nowhere")],
    );
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("'nowhere' for '--listen"), "{}", r.stderr);
}
