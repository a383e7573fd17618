use std::path::{Path, PathBuf};

/// The page embedded when ui/dist was not built: the workspace still builds and tests (e.g.
/// `cargo test --workspace`), and the window says what to do.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>FieldPay</title></head>
<body style="font-family:sans-serif;padding:2em">
<h1>FieldPay</h1>
<p>화면(UI)이 빌드되지 않았습니다. <code>scripts/build-app.sh</code>로 빌드하세요.</p>
<p>The UI was not built into ui/dist: build the app with <code>scripts/build-app.sh</code>.</p>
</body></html>
"#;

fn json_string(p: &Path) -> String {
    let s = p.display().to_string();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn main() {
    // The UI is embedded at compile time from `build.frontendDist` (ui/dist), which
    // scripts/build-app.sh builds first; FIELDPAY_UI_DIST names another built UI folder.
    // Rebuild the shell whenever the folder changes.
    println!("cargo:rerun-if-env-changed=FIELDPAY_UI_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let custom = std::env::var_os("FIELDPAY_UI_DIST").filter(|d| !d.is_empty());
    let dist = custom
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../ui/dist"));
    let frontend_dist = if dist.join("index.html").is_file() {
        println!("cargo:rerun-if-changed={}", dist.display());
        custom.map(|_| dist)
    } else if std::env::var_os("TAURI_CONFIG").is_none() {
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ui-not-built");
        std::fs::create_dir_all(&out).expect("create the placeholder UI folder");
        std::fs::write(out.join("index.html"), NOT_BUILT).expect("write the placeholder UI");
        println!(
            "cargo:warning={}/index.html is missing: embedding a placeholder page (build the app with scripts/build-app.sh)",
            dist.display()
        );
        // Watch ui/ so that building ui/dist later brings the real UI in.
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join("../ui").display()
        );
        Some(out)
    } else {
        None
    };
    if let Some(dir) = frontend_dist {
        let config = format!("{{\"build\":{{\"frontendDist\":{}}}}}", json_string(&dir));
        // For tauri-build below, and for `generate_context!` (it reads TAURI_CONFIG too).
        std::env::set_var("TAURI_CONFIG", &config);
        println!("cargo:rustc-env=TAURI_CONFIG={config}");
    }
    if let Err(e) =
        tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
    {
        panic!("tauri-build: {e:#}");
    }
}
