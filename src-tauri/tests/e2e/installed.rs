//! The desktop package as a store manager would install it: the `.deb` made by Tauri's bundler
//! (`scripts/deb.sh --app`) unpacked into a throwaway root with `dpkg-deb`, its contents checked
//! (the binary, the desktop entry with its Korean name, the icons, the package's dependencies),
//! and the installed binary started: signed out on a fresh data folder, "샌드박스로 체험하기"
//! offered, the sandbox started from it and a demo client found.
//!
//! The package comes from `FIELDPAY_E2E_DEB` (scripts/test.sh builds it first); without it the
//! test builds one (`scripts/deb.sh --app --debug`, a few minutes).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::flows;
use crate::harness::{tid, Ui, SLOW};
use crate::screenshots;

/// The workspace root (src-tauri's parent).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri has a parent")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The package to test: `FIELDPAY_E2E_DEB`, or one built now.
fn package() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("FIELDPAY_E2E_DEB").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        ensure!(
            p.is_file(),
            "FIELDPAY_E2E_DEB={} is not a file",
            p.display()
        );
        return Ok(p);
    }
    eprintln!(
        "  (FIELDPAY_E2E_DEB not set: building the package with scripts/deb.sh --app --debug)"
    );
    let out = run(Command::new("bash")
        .arg(root().join("scripts/deb.sh"))
        .args(["--app", "--debug"])
        .current_dir(root()))?;
    let path = out.lines().last().unwrap_or_default().trim();
    ensure!(!path.is_empty(), "scripts/deb.sh printed no package path");
    Ok(PathBuf::from(path))
}

/// Unpacks the package into `dir/root`, checks what it holds, and answers the installed
/// binary's path.
pub fn unpack(dir: &Path) -> Result<PathBuf> {
    let deb = package()?;
    let fields = run(Command::new("dpkg-deb").arg("-f").arg(&deb).args([
        "Package",
        "Version",
        "Architecture",
        "Depends",
        "Recommends",
    ]))?;
    let field = |name: &str| {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .to_string()
    };
    ensure!(field("Package") == "field-pay", "package name: {fields}");
    ensure!(!field("Version").is_empty(), "no version: {fields}");
    for dep in ["libwebkit2gtk-4.1-0", "libgtk-3-0"] {
        ensure!(
            field("Depends").contains(dep),
            "the package does not depend on {dep}: {fields}"
        );
    }
    ensure!(
        field("Recommends").contains("gnome-keyring"),
        "the package does not recommend a Secret Service (gnome-keyring): {fields}"
    );

    let root = dir.join("root");
    std::fs::create_dir_all(&root)?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let bin = root.join("usr/bin/fieldpay-app");
    ensure!(
        bin.is_file(),
        "{} is missing from the package",
        bin.display()
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bin)?.permissions().mode();
        ensure!(mode & 0o111 != 0, "{} is not executable", bin.display());
    }
    let apps = root.join("usr/share/applications");
    let entry = std::fs::read_dir(&apps)
        .with_context(|| format!("{} is missing", apps.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "desktop"))
        .with_context(|| format!("no desktop entry in {}", apps.display()))?;
    let desktop = std::fs::read_to_string(&entry)?;
    for line in [
        "Type=Application",
        "Name=FieldPay",
        "Name[ko]=필드페이",
        "Exec=fieldpay-app",
        "Icon=fieldpay-app",
    ] {
        ensure!(
            desktop.lines().any(|l| l.trim() == line),
            "the desktop entry {} lacks {line:?}:\n{desktop}",
            entry.display()
        );
    }
    for size in ["32x32", "64x64", "128x128", "256x256", "512x512"] {
        let icon = root.join(format!(
            "usr/share/icons/hicolor/{size}/apps/fieldpay-app.png"
        ));
        ensure!(icon.is_file(), "icon {} is missing", icon.display());
    }
    Ok(bin)
}

/// The installed app: signed out on a new data folder, the sandbox offered and started.
pub async fn run_installed(ui: &Ui) -> Result<()> {
    ui.wait_screen_for("signin", SLOW).await?;
    let offer = ui.text(&tid("sandbox-start")).await?;
    ensure!(
        offer.contains("샌드박스로 체험하기"),
        "the sign-in screen does not offer the sandbox in Korean: {offer:?}"
    );
    let shots = screenshots::dir().join("installed");
    for (size, w, h) in screenshots::SIZES {
        ui.resize(w, h).await?;
        ui.screenshot(&shots.join(format!("signin-{size}.png")))
            .await?;
    }
    flows::start_sandbox(ui).await?;
    let acc = flows::demo_account(0);
    flows::find_and_open_client(ui, &acc.name, &acc.name).await?;
    ui.screenshot(&shots.join("client-desktop.png")).await?;
    Ok(())
}
