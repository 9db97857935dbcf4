//! The settings window: where the database lives (a local SQLite file, or a remote
//! PostgreSQL/TimescaleDB server), the theme, and nothing else worth a restart.
//!
//! Owns [`Settings`] (persisted by eframe under [`Settings::STORAGE_KEY`], next to
//! [`AppState`](crate::app::AppState); the password is never persisted) and the window's
//! transient state ([`SettingsPanel`]: the draft being edited, the password, the workers that
//! pick a file and switch the database). Switching runs [`Engine::reopen`] on a worker; the
//! app is told through [`SettingsEvent::StorageSwitched`] and reloads its lists.

use std::path::PathBuf;

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use crate::app::theme;
use crate::engine::{DbLocation, Engine, Notifier, Task};
use crate::storage::PgUrl;

/// The dark/light choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeChoice {
    /// Follow the desktop's preference.
    System,
    /// Light text on dark.
    #[default]
    Dark,
    /// Dark text on light.
    Light,
}

impl ThemeChoice {
    /// Every choice, in display order.
    pub const ALL: [Self; 3] = [Self::Dark, Self::Light, Self::System];

    /// The label shown in the window.
    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Follow the system",
            Self::Dark => "Dark",
            Self::Light => "Light",
        }
    }

    /// The egui preference.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Self::System => egui::ThemePreference::System,
            Self::Dark => egui::ThemePreference::Dark,
            Self::Light => egui::ThemePreference::Light,
        }
    }
}

/// TLS for a remote database, as libpq's `sslmode` names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS (a server on localhost or a private network).
    Disable,
    /// TLS when the server offers it.
    #[default]
    Prefer,
    /// TLS always, certificate not checked.
    Require,
    /// TLS always, the certificate must chain to the CA certificate (host name not checked).
    VerifyCa,
    /// TLS always, certificate and host name checked.
    VerifyFull,
}

impl TlsMode {
    /// Every mode, in display order.
    pub const ALL: [Self; 5] = [
        Self::Disable,
        Self::Prefer,
        Self::Require,
        Self::VerifyCa,
        Self::VerifyFull,
    ];

    /// The `sslmode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A remote PostgreSQL (TimescaleDB) server. The password is not part of it: it is typed in
/// each session (or taken from `PGPASSWORD`/`.pgpass` by the backend).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteDb {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// TLS mode.
    pub tls: TlsMode,
    /// CA certificate file (PEM) the server's certificate must chain to (`sslrootcert`);
    /// empty = libpq's default `~/.postgresql/root.crt`.
    pub root_cert: String,
}

impl Default for RemoteDb {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: 5432,
            database: "anomdet".to_owned(),
            user: "anomdet".to_owned(),
            tls: TlsMode::default(),
            root_cert: String::new(),
        }
    }
}

impl RemoteDb {
    /// A libpq key/value connection string (what the `postgres` crate's `Config` parses),
    /// with the password only when one is given. Values are quoted as libpq requires.
    pub fn conninfo(&self, password: Option<&str>) -> String {
        let mut parts = vec![
            format!("host={}", quote_conninfo(&self.host)),
            format!("port={}", self.port),
            format!("dbname={}", quote_conninfo(&self.database)),
            format!("user={}", quote_conninfo(&self.user)),
            format!("sslmode={}", self.tls.as_str()),
        ];
        let root_cert = self.root_cert.trim();
        if !root_cert.is_empty() && self.tls != TlsMode::Disable {
            parts.push(format!("sslrootcert={}", quote_conninfo(root_cert)));
        }
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            parts.push(format!("password={}", quote_conninfo(p)));
        }
        parts.join(" ")
    }

    /// What is missing before a connection can be tried, in words.
    pub fn problem(&self) -> Option<&'static str> {
        if self.host.trim().is_empty() {
            Some("Enter the server's host name.")
        } else if self.port == 0 {
            Some("Enter the server's port (5432 by default).")
        } else if self.database.trim().is_empty() {
            Some("Enter the database name.")
        } else if self.user.trim().is_empty() {
            Some("Enter the user name.")
        } else {
            None
        }
    }
}

fn quote_conninfo(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '\'', '\\']) {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Which database the app uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseChoice {
    /// A local SQLite file.
    Local(PathBuf),
    /// A remote server.
    Remote(RemoteDb),
}

/// Persisted settings. Missing fields fall back to defaults, so older saves keep loading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The database chosen last; `None` until the user picks one (then the command line's
    /// `--db`, or the platform default, is used).
    pub database: Option<DatabaseChoice>,
    /// The remote server's fields, kept while a local file is in use so switching back
    /// does not retype them.
    pub remote: RemoteDb,
    /// The theme.
    pub theme: ThemeChoice,
}

impl Settings {
    /// The key under which eframe stores them.
    pub const STORAGE_KEY: &'static str = "anomdet-settings";
}

/// The storage location a database choice opens, or why it cannot be opened. A remote server
/// becomes a PostgreSQL URL in key/value form; connecting happens on a worker, and a build
/// without the `timescale` feature answers with an error that says how to get it.
pub fn location_of(choice: &DatabaseChoice, password: &str) -> Result<DbLocation, String> {
    match choice {
        DatabaseChoice::Local(path) if path.as_os_str().is_empty() => {
            Err("Choose a database file first.".to_owned())
        }
        DatabaseChoice::Local(path) => Ok(DbLocation::Sqlite(path.clone())),
        DatabaseChoice::Remote(remote) => {
            if let Some(problem) = remote.problem() {
                return Err(problem.to_owned());
            }
            // The password travels in memory only (PgUrl redacts it when shown).
            let url = PgUrl::new(remote.conninfo(None));
            Ok(DbLocation::Postgres(if password.is_empty() {
                url
            } else {
                url.with_password(password)
            }))
        }
    }
}

/// What the settings window tells the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsEvent {
    /// The engine now uses another database (its description for the status bar): reload
    /// the dataset list and drop what was shown from the old one.
    StorageSwitched(String),
    /// The settings changed and should be saved soon.
    Changed,
}

/// Which kind of database the form edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Local,
    Remote,
}

/// The settings window's state.
#[derive(Debug)]
pub struct SettingsPanel {
    /// Whether the window is shown.
    pub open: bool,
    settings: Settings,
    kind: Kind,
    local_path: String,
    password: String,
    pick: Option<Task<Option<PathBuf>>>,
    switch: Option<(DatabaseChoice, Task<String>)>,
    message: Option<Result<String, String>>,
}

impl SettingsPanel {
    /// The window over persisted `settings`, closed.
    pub fn new(settings: Settings) -> Self {
        let (kind, local_path) = match &settings.database {
            Some(DatabaseChoice::Remote(_)) => (Kind::Remote, String::new()),
            Some(DatabaseChoice::Local(path)) => (Kind::Local, path.display().to_string()),
            None => (Kind::Local, default_path()),
        };
        Self {
            open: false,
            settings,
            kind,
            local_path,
            password: String::new(),
            pick: None,
            switch: None,
            message: None,
        }
    }

    /// The settings as last applied.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The result of the last switch or check, in words (`Err` for failures).
    pub fn message(&self) -> Option<&Result<String, String>> {
        self.message.as_ref()
    }

    /// True while a file dialog or a database switch runs.
    pub fn is_busy(&self) -> bool {
        self.pick.is_some() || self.switch.is_some()
    }

    /// Applies the theme to `ctx` (call once at start and after every change).
    pub fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(self.settings.theme.preference());
    }

    /// Switches `engine` to the saved database, on a worker (at start, when the command line
    /// did not name one). Does nothing when no database was saved.
    pub fn open_saved(&mut self, engine: &Engine, notifier: &Notifier) {
        if let Some(choice) = self.settings.database.clone() {
            self.start_switch(choice, engine, notifier);
        }
    }

    /// Draws the window (when open) and collects finished work. Returns what the app must do.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        engine: &Engine,
        notifier: &Notifier,
    ) -> Vec<SettingsEvent> {
        let mut events = self.poll();
        if self.open {
            let mut open = true;
            egui::Window::new("Settings")
                .open(&mut open)
                .resizable(false)
                .collapsible(false)
                .default_width(440.0)
                .show(ctx, |ui| {
                    self.form_ui(ui, engine, notifier, &mut events);
                });
            if !open || ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
                self.open = false;
            }
        }
        if events.contains(&SettingsEvent::Changed) {
            self.apply_theme(ctx);
        }
        events
    }

    fn poll(&mut self) -> Vec<SettingsEvent> {
        let mut events = Vec::new();
        if let Some(task) = &mut self.pick
            && let Some(result) = task.poll()
        {
            self.pick = None;
            match result {
                Ok(Some(path)) => self.local_path = path.display().to_string(),
                Ok(None) => {}
                Err(error) => self.message = Some(Err(format!("The file dialog failed: {error}"))),
            }
        }
        if let Some((_, task)) = &mut self.switch
            && let Some(result) = task.poll()
        {
            let Some((choice, _)) = self.switch.take() else {
                return events;
            };
            match result {
                Ok(description) => {
                    self.message = Some(Ok(format!("Now using {description}.")));
                    self.settings.database = Some(choice);
                    events.push(SettingsEvent::StorageSwitched(description));
                    events.push(SettingsEvent::Changed);
                }
                Err(error) => {
                    self.message = Some(Err(format!(
                        "Could not open that database ({error}); still using the previous one."
                    )));
                }
            }
        }
        events
    }

    fn form_ui(
        &mut self,
        ui: &mut Ui,
        engine: &Engine,
        notifier: &Notifier,
        events: &mut Vec<SettingsEvent>,
    ) {
        ui.heading("Theme");
        ui.horizontal(|ui| {
            for choice in ThemeChoice::ALL {
                if ui
                    .selectable_label(self.settings.theme == choice, choice.label())
                    .clicked()
                    && self.settings.theme != choice
                {
                    self.settings.theme = choice;
                    events.push(SettingsEvent::Changed);
                }
            }
        });
        ui.separator();
        ui.heading("Database");
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.kind, Kind::Local, "Local file (SQLite)");
            ui.radio_value(&mut self.kind, Kind::Remote, "Remote server (PostgreSQL)");
        });
        let choice = match self.kind {
            Kind::Local => self.local_ui(ui, notifier),
            Kind::Remote => self.remote_ui(ui, events),
        };
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let busy = self.switch.is_some();
            let label = match self.kind {
                Kind::Local => "Use this database",
                Kind::Remote => "Connect",
            };
            if ui
                .add_enabled(!busy, egui::Button::new(label))
                .on_hover_text("Switch now; the dataset list reloads from the new database.")
                .clicked()
            {
                self.start_switch(choice.clone(), engine, notifier);
            }
            if busy {
                ui.spinner();
                ui.label("Opening…");
            }
        });
        match &self.message {
            Some(Ok(text)) => {
                ui.label(text.as_str());
            }
            Some(Err(text)) => {
                ui.label(RichText::new(text.as_str()).color(theme::ERROR_TEXT));
            }
            None => {}
        }
        ui.separator();
        ui.label(
            RichText::new(
                "Window size, panel widths and the open tab are remembered between sessions.",
            )
            .small()
            .weak(),
        );
    }

    fn local_ui(&mut self, ui: &mut Ui, notifier: &Notifier) -> DatabaseChoice {
        ui.horizontal(|ui| {
            let label = ui.label("File:");
            ui.add(
                egui::TextEdit::singleline(&mut self.local_path)
                    .desired_width(280.0)
                    .hint_text("path/to/anomdet.sqlite"),
            )
            .labelled_by(label.id);
            if ui
                .add_enabled(self.pick.is_none(), egui::Button::new("Choose…"))
                .clicked()
            {
                self.start_pick(notifier);
            }
        });
        ui.label(
            RichText::new("A new file is created if it does not exist.")
                .small()
                .weak(),
        );
        DatabaseChoice::Local(PathBuf::from(self.local_path.trim()))
    }

    fn remote_ui(&mut self, ui: &mut Ui, events: &mut Vec<SettingsEvent>) -> DatabaseChoice {
        let before = self.settings.remote.clone();
        let remote = &mut self.settings.remote;
        egui::Grid::new("anomdet-remote-db")
            .num_columns(2)
            .show(ui, |ui| {
                text_row(ui, "Host", &mut remote.host, false);
                ui.label("Port");
                ui.add(egui::DragValue::new(&mut remote.port).range(1..=65_535));
                ui.end_row();
                text_row(ui, "Database name", &mut remote.database, false);
                text_row(ui, "User", &mut remote.user, false);
                text_row(ui, "Password", &mut self.password, true);
                ui.label("TLS");
                egui::ComboBox::from_id_salt("anomdet-tls")
                    .selected_text(remote.tls.as_str())
                    .show_ui(ui, |ui| {
                        for mode in TlsMode::ALL {
                            ui.selectable_value(&mut remote.tls, mode, mode.as_str());
                        }
                    });
                ui.end_row();
                if remote.tls != TlsMode::Disable {
                    text_row(ui, "CA certificate", &mut remote.root_cert, false);
                }
            });
        if matches!(remote.tls, TlsMode::VerifyCa | TlsMode::VerifyFull)
            && remote.root_cert.trim().is_empty()
        {
            ui.label(
                RichText::new("No CA file given: ~/.postgresql/root.crt is used, as libpq does.")
                    .small()
                    .weak(),
            );
        }
        ui.label(
            RichText::new("The password is not saved; it is asked again next session.")
                .small()
                .weak(),
        );
        if self.settings.remote != before {
            events.push(SettingsEvent::Changed);
        }
        DatabaseChoice::Remote(self.settings.remote.clone())
    }

    fn start_pick(&mut self, notifier: &Notifier) {
        let task = Task::spawn("db-file-dialog", notifier.clone(), |_, _| {
            Ok(rfd::FileDialog::new()
                .set_title("Database file")
                .add_filter("SQLite database", &["sqlite", "sqlite3", "db"])
                .set_file_name("anomdet.sqlite")
                .save_file())
        });
        match task {
            Ok(task) => self.pick = Some(task),
            Err(error) => self.message = Some(Err(format!("The file dialog failed: {error}"))),
        }
    }

    fn start_switch(&mut self, choice: DatabaseChoice, engine: &Engine, notifier: &Notifier) {
        let location = match location_of(&choice, &self.password) {
            Ok(location) => location,
            Err(problem) => {
                self.message = Some(Err(problem));
                return;
            }
        };
        let engine = engine.clone();
        let task = Task::spawn("switch-db", notifier.clone(), move |_, _| {
            engine.reopen(&location)?;
            Ok(engine.describe_storage())
        });
        match task {
            Ok(task) => {
                self.message = None;
                self.switch = Some((choice, task));
            }
            Err(error) => self.message = Some(Err(format!("Could not start: {error}"))),
        }
    }
}

fn text_row(ui: &mut Ui, label: &str, value: &mut String, password: bool) {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .password(password)
            .desired_width(220.0),
    )
    .labelled_by(label.id);
    ui.end_row();
}

fn default_path() -> String {
    match DbLocation::default_local() {
        DbLocation::Sqlite(path) => path.display().to_string(),
        DbLocation::Memory | DbLocation::Postgres(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_quotes_values_and_adds_the_ca_file_only_with_tls() {
        let mut remote = RemoteDb {
            host: "db.example.org".to_owned(),
            user: "o'neil".to_owned(),
            tls: TlsMode::VerifyCa,
            root_cert: " /etc/ssl/my ca.pem ".to_owned(),
            ..RemoteDb::default()
        };
        assert_eq!(
            remote.conninfo(Some("p w")),
            "host=db.example.org port=5432 dbname=anomdet user='o\\'neil' sslmode=verify-ca \
             sslrootcert='/etc/ssl/my ca.pem' password='p w'"
        );
        #[cfg(feature = "timescale")]
        {
            let (_, tls) = PgUrl::new(remote.conninfo(None)).split_tls().unwrap();
            assert_eq!(tls.mode, crate::storage::SslMode::VerifyCa);
            assert_eq!(tls.root_cert.as_deref(), Some("/etc/ssl/my ca.pem"));
        }
        remote.tls = TlsMode::Disable;
        assert!(!remote.conninfo(None).contains("sslrootcert"));
        remote.tls = TlsMode::VerifyFull;
        remote.root_cert.clear();
        assert!(remote.conninfo(None).ends_with("sslmode=verify-full"));
    }

    #[test]
    fn every_tls_mode_is_a_libpq_sslmode_the_backend_parses() {
        for mode in TlsMode::ALL {
            let text = serde_json::to_string(&mode).unwrap();
            assert_eq!(text.trim_matches('"'), mode.as_str());
            #[cfg(feature = "timescale")]
            assert!(
                crate::storage::SslMode::parse(mode.as_str()).is_some(),
                "{}",
                mode.as_str()
            );
        }
    }

    #[test]
    fn older_saved_settings_without_the_ca_field_still_load() {
        let old = r#"{"host":"h","port":5433,"database":"d","user":"u","tls":"require"}"#;
        let remote: RemoteDb = serde_json::from_str(old).unwrap();
        assert_eq!(remote.port, 5433);
        assert!(remote.root_cert.is_empty());
    }
}
