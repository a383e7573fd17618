//! `fieldpay-server check-config`: the settings as `serve` would load them, checked without
//! opening (or creating) the database and without binding a port. Meant to run before the
//! server starts (the package's systemd unit runs it as `ExecStartPre`).

use std::path::Path;

use crate::config::Settings;

/// What a check found: problems (any one stops `serve`), warnings (`serve` would log them
/// loudly) and, when there is no problem, a short summary of what would be served.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    pub summary: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks settings read from the file, the environment and the flags (not yet validated):
/// [`Settings::validate`], [`Settings::check_exposure`] for the configured listen address,
/// that this build can serve the mode asked for, and that the data folder can be written by
/// this user (it is only looked at, never created). Nothing is opened, bound or connected to.
pub fn check(settings: Settings) -> Report {
    let mut report = Report::default();
    let settings = match settings.clone().validate() {
        Ok(valid) => valid,
        Err(e) => {
            report.problems.push(e.to_string());
            // The rest is still worth checking (one line per problem).
            settings
        }
    };
    match settings.check_exposure(settings.listen) {
        Ok(warnings) => report.warnings = warnings,
        Err(e) => report.problems.push(e.to_string()),
    }
    report.problems.extend(settings.problems());
    report.problems.extend(data_dir_problems(&settings));
    if report.ok() {
        report.summary = settings
            .summary()
            .into_iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
    }
    report
}

/// The data folder (SQLite files, the sandbox card network) must be a folder this user can
/// write, or be creatable under the nearest folder that exists; files already in it must be
/// writable too (a database created by another user, e.g. root, would not be).
fn data_dir_problems(settings: &Settings) -> Vec<String> {
    let dir = &settings.data_dir;
    let name = "invalid setting data_dir";
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => vec![format!("{name}: {} is not a folder", dir.display())],
        Ok(_) => {
            let mut problems = Vec::new();
            if !writable(dir) {
                problems.push(format!(
                    "{name}: the folder {} is not writable by this user",
                    dir.display()
                ));
            }
            for file in [settings.db_path(), settings.cardnet_path()] {
                if file.exists() && !writable(&file) {
                    problems.push(format!(
                        "{name}: {} is not writable by this user",
                        file.display()
                    ));
                }
            }
            problems
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // `serve` creates it; the nearest folder that exists must let us.
            let parent = dir
                .ancestors()
                .skip(1)
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        p
                    }
                })
                .find(|p| p.is_dir());
            match parent {
                Some(p) if writable(p) => Vec::new(),
                Some(p) => vec![format!(
                    "{name}: {} does not exist and cannot be created: {} is not writable by \
                     this user",
                    dir.display(),
                    p.display()
                )],
                None => vec![format!(
                    "{name}: {} does not exist and no folder above it does",
                    dir.display()
                )],
            }
        }
        Err(e) => vec![format!("{name}: {}: {e}", dir.display())],
    }
}

/// Whether this process may write `path` (its user and groups, the file's mode, a read-only
/// mount), asked of the OS without writing anything.
#[cfg(target_os = "linux")]
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn writable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileSettings;

    fn settings(toml_text: &str, data_dir: &Path) -> Settings {
        let f: FileSettings = toml::from_str(toml_text).unwrap();
        Settings {
            data_dir: data_dir.to_owned(),
            ..Settings::default()
        }
        .apply(f)
    }

    #[test]
    fn defaults_pass_and_create_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("not-yet");
        let r = check(settings("", &dir));
        assert!(r.ok(), "{r:?}");
        assert!(!dir.exists());
        assert!(r.summary.iter().any(|l| l.contains("SQLite file")));
        assert!(r.summary.iter().any(|l| l == "mode: sandbox"));
    }

    #[test]
    fn one_problem_per_line() {
        let tmp = tempfile::tempdir().unwrap();
        let r = check(settings(
            "database_pool_size = 0\nlisten = \"0.0.0.0:8640\"\nmode = \"production\"\n",
            tmp.path(),
        ));
        assert!(r.problems[0].contains("database_pool_size"), "{r:?}");
        let all = r.problems.join("\n");
        for expected in [
            "twilio_auth_token",
            "public_url: production needs an https://",
            "card.provider",
            "sms.provider",
        ] {
            assert!(all.contains(expected), "{expected}: {all}");
        }
        assert!(r.problems.iter().all(|p| !p.contains('\n')));
        assert!(r.summary.is_empty());
    }

    #[test]
    fn postgres_summary_hides_the_password() {
        let tmp = tempfile::tempdir().unwrap();
        let r = check(settings(
            "database_url = \"postgres://pay:hunter2-pw@db.internal:6432/fieldpay\"\n",
            tmp.path(),
        ));
        assert!(r.ok(), "{r:?}");
        let text = format!("{r:?}");
        assert!(!text.contains("hunter2-pw"), "{text}");
        assert!(
            text.contains("PostgreSQL database fieldpay on db.internal:6432 as user pay"),
            "{text}"
        );
    }

    /// The example config the Debian package installs as /etc/fieldpay/server.toml.
    const PACKAGED: &str = include_str!("../debian/server.toml");

    #[test]
    fn the_packaged_config_documents_every_key_and_shows_the_defaults() {
        let f: FileSettings = toml::from_str(PACKAGED).unwrap();
        let packaged = Settings::default().apply(f);
        assert_eq!(packaged.data_dir, Path::new("/var/lib/fieldpay"));
        let defaults = Settings {
            data_dir: packaged.data_dir.clone(),
            ..Settings::default()
        };
        assert_eq!(format!("{packaged:?}"), format!("{defaults:?}"));
        let valid = packaged.validate().unwrap();
        assert!(valid.sandbox());
        assert!(valid.check_exposure(valid.listen).unwrap().is_empty());

        // The commented-out examples are valid too.
        let uncommented: String = PACKAGED
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest
                        .split_once(" = ")
                        .is_some_and(|(k, _)| !k.contains(' ')) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let f: FileSettings = toml::from_str(&uncommented).unwrap();
        assert!(f.database_url.is_some() && f.sip_listen.is_some());
        assert!(Settings::default().apply(f).validate().is_ok());

        // Every key the file may hold (as serde lists them for an unknown one) is documented.
        let e = toml::from_str::<FileSettings>("no_such_key = 1")
            .unwrap_err()
            .message()
            .to_string();
        let keys: Vec<&str> = e
            .split_once("expected one of")
            .unwrap()
            .1
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        assert!(keys.len() > 20, "{e}");
        for key in keys {
            let (line, section) = (format!("{key} = "), format!("[{key}]"));
            assert!(
                uncommented
                    .lines()
                    .any(|l| l.starts_with(&line) || l == section),
                "{key} is not in debian/server.toml"
            );
        }
    }

    #[test]
    fn a_file_where_the_folder_should_be() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        let r = check(settings("", &file));
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert!(r.problems[0].contains("not a folder"));
    }
}
