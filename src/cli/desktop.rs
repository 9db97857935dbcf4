//! `anomdet install-desktop`: puts the desktop entry (`assets/anomdet.desktop`) and the icon
//! where freedesktop launchers and file managers look for them, so the app starts from the
//! applications menu and "Open with AnomDet" appears on CSV files.
//!
//! Files written under the XDG data directory (`$XDG_DATA_HOME`, else `~/.local/share`):
//! - `applications/anomdet.desktop`, its `Exec` and `TryExec` pointing at this executable's
//!   absolute path (so it works without `anomdet` on `PATH`);
//! - `icons/hicolor/256x256/apps/anomdet.png`.
//!
//! Then `update-desktop-database` is run on the applications folder when it is installed, so
//! the CSV association is picked up at once (best effort: without it, launchers rescan on
//! their own). `--uninstall` removes both files. Pure file writing; no root needed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::output::Output;

/// The desktop entry template (its `Exec=anomdet %F` line is rewritten on install).
pub const DESKTOP_ENTRY: &str = include_str!("../../assets/anomdet.desktop");

/// The application icon (256×256 PNG), the same one the window shows.
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

/// File name of the desktop entry (its id is `anomdet`, the window's app id).
const ENTRY_FILE: &str = "anomdet.desktop";

/// `anomdet install-desktop [--uninstall] [--data-home DIR] [--exec PATH]`.
#[derive(Debug, Args)]
pub struct InstallDesktopArgs {
    /// Remove the desktop entry and the icon instead of installing them.
    #[arg(long)]
    pub uninstall: bool,
    /// Data directory to install into (default: `$XDG_DATA_HOME`, else `~/.local/share`).
    #[arg(long, value_name = "DIR")]
    pub data_home: Option<PathBuf>,
    /// Executable the entry starts (default: this executable).
    #[arg(long, value_name = "PATH")]
    pub exec: Option<PathBuf>,
    /// Do not run `update-desktop-database` afterwards.
    #[arg(long)]
    pub no_refresh: bool,
}

/// Where the two files go under a data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesktopPaths {
    /// `<data>/applications/anomdet.desktop`.
    pub entry: PathBuf,
    /// `<data>/icons/hicolor/256x256/apps/anomdet.png`.
    pub icon: PathBuf,
}

impl DesktopPaths {
    /// The paths under `data_home`.
    pub fn under(data_home: &Path) -> Self {
        Self {
            entry: data_home.join("applications").join(ENTRY_FILE),
            icon: data_home
                .join("icons")
                .join("hicolor")
                .join("256x256")
                .join("apps")
                .join("anomdet.png"),
        }
    }
}

/// The user's XDG data directory: `$XDG_DATA_HOME` when it is an absolute path, else
/// `~/.local/share`.
pub fn default_data_home() -> anyhow::Result<PathBuf> {
    data_home_from(
        std::env::var_os("XDG_DATA_HOME").map(PathBuf::from),
        directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
    )
    .context("no home directory to install into; pass --data-home DIR")
}

/// The XDG rule: `xdg` (the value of `$XDG_DATA_HOME`) if set and absolute (the spec says to
/// ignore relative values), else `<home>/.local/share`.
fn data_home_from(xdg: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    xdg.filter(|d| d.is_absolute())
        .or_else(|| home.map(|h| h.join(".local").join("share")))
}

/// The desktop entry with `Exec` and `TryExec` set to `exe`.
pub fn desktop_entry_for(exe: &Path) -> String {
    let quoted = quote_exec_arg(&exe.to_string_lossy());
    DESKTOP_ENTRY
        .lines()
        .map(|line| {
            if line.starts_with("Exec=") {
                format!("Exec={quoted} %F")
            } else if line.starts_with("TryExec=") {
                // TryExec is a plain string, not a command line: no quoting, only escapes.
                format!("TryExec={}", escape_value(&exe.to_string_lossy()))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Writes the entry and the icon under `data_home`, creating folders as needed.
pub fn install(data_home: &Path, exe: &Path) -> anyhow::Result<DesktopPaths> {
    let paths = DesktopPaths::under(data_home);
    for (path, bytes) in [
        (&paths.entry, desktop_entry_for(exe).into_bytes()),
        (&paths.icon, ICON_PNG.to_vec()),
    ] {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(paths)
}

/// Removes the entry and the icon under `data_home`; missing files are not an error.
/// Returns the files that were removed.
pub fn uninstall(data_home: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let paths = DesktopPaths::under(data_home);
    let mut removed = Vec::new();
    for path in [paths.entry, paths.icon] {
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(removed)
}

/// Runs the subcommand.
pub fn install_desktop(args: &InstallDesktopArgs, out: &mut Output) -> anyhow::Result<()> {
    let data_home = match &args.data_home {
        Some(dir) => dir.clone(),
        None => default_data_home()?,
    };
    let applications = data_home.join("applications");
    if args.uninstall {
        let removed = uninstall(&data_home)?;
        if removed.is_empty() {
            out.line(&format!("Nothing to remove under {}", data_home.display()))?;
        }
        for path in removed {
            out.line(&format!("Removed {}", path.display()))?;
        }
    } else {
        let exe = match &args.exec {
            Some(exe) => exe.clone(),
            None => std::env::current_exe().context("finding this executable's path")?,
        };
        let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
        let paths = install(&data_home, &exe)?;
        out.line(&format!("Installed {}", paths.entry.display()))?;
        out.line(&format!("Installed {}", paths.icon.display()))?;
        out.line(&format!(
            "AnomDet now starts from the applications menu; CSV files offer \"Open with \
             AnomDet\" (it starts {}).",
            exe.display()
        ))?;
    }
    if !args.no_refresh {
        refresh_database(&applications);
    }
    Ok(())
}

/// Best effort: `update-desktop-database DIR` refreshes the MIME-type cache of launchers.
fn refresh_database(applications: &Path) {
    let status = std::process::Command::new("update-desktop-database")
        .arg(applications)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if let Err(error) = status {
        log::debug!("update-desktop-database not run: {error}");
    }
}

/// Quotes one argument of an `Exec` line (Desktop Entry spec, "The Exec key"): arguments
/// with reserved characters go in double quotes with `"`, `` ` ``, `$` and `\` escaped by a
/// backslash; then the value as a whole escapes backslashes again.
fn quote_exec_arg(arg: &str) -> String {
    const RESERVED: &[char] = &[
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(',
        ')', '`', '%', '=',
    ];
    if !arg.contains(RESERVED) {
        return escape_value(arg);
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        if c == '%' {
            // A literal percent sign is written twice (field codes start with one).
            quoted.push('%');
        }
        quoted.push(c);
    }
    quoted.push('"');
    escape_value(&quoted)
}

/// Escapes a string value for a desktop file (`\\`, `\n`, `\t`, `\r`).
fn escape_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_entry_and_icon_under_the_data_home_and_uninstalls_them() {
        let dir = tempfile::tempdir().unwrap();
        let paths = install(dir.path(), Path::new("/opt/anomdet/bin/anomdet")).unwrap();
        assert_eq!(paths.entry, dir.path().join("applications/anomdet.desktop"));
        let entry = std::fs::read_to_string(&paths.entry).unwrap();
        assert!(entry.starts_with("[Desktop Entry]\n"), "{entry}");
        assert!(
            entry.contains("\nExec=/opt/anomdet/bin/anomdet %F\n"),
            "{entry}"
        );
        assert!(
            entry.contains("\nTryExec=/opt/anomdet/bin/anomdet\n"),
            "{entry}"
        );
        assert!(entry.contains("\nMimeType=text/csv;"), "{entry}");
        assert!(entry.contains("\nIcon=anomdet\n"), "{entry}");
        assert_eq!(std::fs::read(&paths.icon).unwrap(), ICON_PNG);
        assert!(
            paths
                .icon
                .ends_with("icons/hicolor/256x256/apps/anomdet.png")
        );
        // Installing again overwrites in place.
        install(dir.path(), Path::new("/usr/bin/anomdet")).unwrap();
        let entry = std::fs::read_to_string(&paths.entry).unwrap();
        assert!(entry.contains("\nExec=/usr/bin/anomdet %F\n"), "{entry}");
        assert_eq!(uninstall(dir.path()).unwrap().len(), 2);
        assert!(!paths.entry.exists() && !paths.icon.exists());
        assert!(uninstall(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn paths_with_spaces_are_quoted_per_the_spec() {
        let entry = desktop_entry_for(Path::new("/home/a b/$x/anomdet"));
        assert!(
            entry.contains("\nExec=\"/home/a b/\\\\$x/anomdet\" %F\n"),
            "{entry}"
        );
        assert_eq!(quote_exec_arg("/usr/bin/anomdet"), "/usr/bin/anomdet");
        assert_eq!(quote_exec_arg("/a%b"), "\"/a%%b\"");
    }

    #[test]
    fn the_data_home_follows_xdg_data_home_when_absolute() {
        let home = Some(PathBuf::from("/home/u"));
        let xdg = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            data_home_from(xdg("/data"), home.clone()),
            xdg("/data"),
            "absolute XDG_DATA_HOME wins"
        );
        assert_eq!(
            data_home_from(xdg("rel/data"), home.clone()),
            xdg("/home/u/.local/share"),
            "a relative one is ignored"
        );
        assert_eq!(data_home_from(None, home), xdg("/home/u/.local/share"));
        assert_eq!(data_home_from(None, None), None);
    }

    #[test]
    fn the_template_is_a_valid_entry_for_csv_files() {
        let keys: Vec<&str> = DESKTOP_ENTRY
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        for key in ["Type", "Name", "Exec", "Icon", "MimeType", "Categories"] {
            assert!(keys.contains(&key), "missing {key}");
        }
        assert!(DESKTOP_ENTRY.contains("Exec=anomdet %F"));
    }
}
