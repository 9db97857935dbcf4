//! `anomdet install-desktop` end to end: the real binary, `XDG_DATA_HOME` pointing into a
//! temporary folder, then `--uninstall`.

use std::process::Command;

#[test]
fn install_desktop_writes_entry_and_icon_under_xdg_data_home() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_anomdet"))
            .arg("install-desktop")
            .arg("--no-refresh")
            .args(extra)
            .env("XDG_DATA_HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let stdout = run(&[]);
    let entry_path = dir.path().join("applications/anomdet.desktop");
    let icon_path = dir.path().join("icons/hicolor/256x256/apps/anomdet.png");
    assert!(stdout.contains("anomdet.desktop"), "{stdout}");
    let entry = std::fs::read_to_string(&entry_path).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_anomdet")).unwrap();
    assert!(
        entry.contains(&format!("TryExec={}\n", exe.display())),
        "{entry}"
    );
    assert!(entry.contains(" %F\n") && entry.contains("MimeType=text/csv;"));
    assert_eq!(
        &std::fs::read(&icon_path).unwrap()[..8],
        b"\x89PNG\r\n\x1a\n",
        "the icon is a PNG"
    );
    let stdout = run(&["--uninstall"]);
    assert!(stdout.contains("Removed"), "{stdout}");
    assert!(!entry_path.exists() && !icon_path.exists());
}
