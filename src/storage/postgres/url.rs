//! [`PgUrl`]: a `postgres://` connection URL as the user gave it, with the password kept out
//! of every printout. Compiled with or without the `timescale` feature, so `--db` can name a
//! server in any build (a build without the feature says so when it tries to connect).

use std::fmt;

/// A PostgreSQL connection URL (`postgres://user[:password]@host[:port]/database?sslmode=...`),
/// or key=value connection text (`host=h port=5432 dbname=d user=u sslmode=disable`, what the
/// GUI's settings build).
///
/// The password, when the text holds one, is only handed to the driver: [`fmt::Debug`] and
/// [`PgUrl::redacted`] print `***` in its place, and nothing here writes it anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    url: String,
    /// A password given apart from the URL (a prompt or the GUI), taking precedence.
    password: Option<String>,
}

impl PgUrl {
    /// True for text that names a PostgreSQL server (`postgres://` or `postgresql://`).
    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Wraps a URL (not checked here: the driver parses it on connect and reports problems).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            password: None,
        }
    }

    /// The same server with `password` (from a prompt or a form) used instead of any password
    /// in the URL or in `PGPASSWORD`.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The URL as given, password included: for the driver only.
    pub fn secret_url(&self) -> &str {
        &self.url
    }

    /// The password given apart from the URL, if any.
    pub fn explicit_password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// True when the URL itself carries a password (`user:password@`).
    pub fn has_url_password(&self) -> bool {
        userinfo_password(&self.url).is_some()
    }

    /// The URL with any password replaced by `***`, safe to print and log.
    pub fn redacted(&self) -> String {
        match userinfo_password(&self.url) {
            Some((start, end)) => format!("{}***{}", &self.url[..start], &self.url[end..]),
            None => self.url.clone(),
        }
    }
}

/// How much TLS a connection asks for: libpq's `sslmode` values (`allow` counts as
/// `prefer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, certificate not checked (libpq's default).
    #[default]
    Prefer,
    /// TLS always; the certificate is checked against `sslrootcert` only when one is given.
    Require,
    /// TLS always, the certificate must chain to the root in `sslrootcert`.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    /// Parses an `sslmode` value.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

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

/// The TLS settings of a connection text: `sslmode` and `sslrootcert` (a PEM file of
/// trusted roots, or `system` for the operating system's store).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// What `sslmode` asks for.
    pub mode: SslMode,
    /// The `sslrootcert` value, if any.
    pub root_cert: Option<String>,
}

impl PgUrl {
    /// Splits off the TLS settings, which the driver only partly understands (it knows
    /// neither `verify-ca`/`verify-full` nor `sslrootcert`): returns the text for the driver
    /// (with `sslmode` set to what the driver needs: `disable`, `prefer` or `require`) and
    /// the settings, for the TLS connector.
    ///
    /// # Errors
    /// An unknown `sslmode` value, named.
    pub fn split_tls(&self) -> Result<(String, TlsOptions), String> {
        let mut options = TlsOptions::default();
        let mut keep = |key: &str, value: String| -> Result<bool, String> {
            match key {
                "sslmode" => {
                    options.mode = SslMode::parse(&value).ok_or_else(|| {
                        format!(
                            "unknown sslmode {value:?} (use disable, allow, prefer, require, \
                             verify-ca or verify-full)"
                        )
                    })?;
                    Ok(false)
                }
                "sslrootcert" => {
                    options.root_cert = Some(value);
                    Ok(false)
                }
                _ => Ok(true),
            }
        };
        let mut text = if self.url.contains("://") {
            let (base, query) = self.url.split_once('?').unwrap_or((&self.url, ""));
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                if keep(key, percent_decode(value))? {
                    kept.push(pair);
                }
            }
            kept.push("");
            format!("{base}?{}", kept.join("&"))
        } else {
            let mut out = String::with_capacity(self.url.len());
            let mut last = 0;
            for (key, value, start, end) in keyword_pairs(&self.url) {
                if !keep(key, value)? {
                    out.push_str(&self.url[last..start]);
                    last = end;
                }
            }
            out.push_str(&self.url[last..]);
            out.push(' ');
            out
        };
        let driver_mode = match options.mode {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        };
        text.push_str("sslmode=");
        text.push_str(driver_mode);
        Ok((text, options))
    }
}

/// `%XX` escapes of a URL query value decoded (invalid escapes are kept as they are).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `key=value` pairs of libpq key/value text: key, unquoted value, and the byte range
/// of the whole pair. Values may be single-quoted with backslash escapes.
fn keyword_pairs(text: &str) -> Vec<(&str, String, usize, usize)> {
    let bytes = text.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip_space = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_space(i);
        if i >= bytes.len() {
            return pairs;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &text[start..i];
        i = skip_space(i);
        if bytes.get(i) != Some(&b'=') {
            // Not key=value text: leave the rest to the driver, which reports it.
            return pairs;
        }
        i = skip_space(i + 1);
        let mut value = Vec::new();
        if bytes.get(i) == Some(&b'\'') {
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                value.push(bytes[i]);
                i += 1;
            }
            i = (i + 1).min(bytes.len());
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                value.push(bytes[i]);
                i += 1;
            }
        }
        pairs.push((key, String::from_utf8_lossy(&value).into_owned(), start, i));
    }
}

/// Byte range of the password inside `url`: the `user:password@` part of a URL, or the
/// value of `password=` in key=value connection text.
fn userinfo_password(url: &str) -> Option<(usize, usize)> {
    let Some(scheme_end) = url.find("://") else {
        return keyword_password(url);
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    Some((authority_start + colon + 1, authority_start + at))
}

/// The value of `password=` in key=value text (`host=h password='it''s'`), quotes included.
fn keyword_password(text: &str) -> Option<(usize, usize)> {
    let key = text
        .match_indices("password")
        .find(|(i, _)| *i == 0 || text[..*i].ends_with(char::is_whitespace))?
        .0;
    let after_key = &text[key + "password".len()..];
    let eq = after_key.find(|c: char| !c.is_whitespace())?;
    if !after_key[eq..].starts_with('=') {
        return None;
    }
    let value_offset = after_key[eq + 1..].find(|c: char| !c.is_whitespace())? + eq + 1;
    let start = key + "password".len() + value_offset;
    let value = &text[start..];
    let len = if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        let close = quoted.char_indices().find(|&(_, c)| {
            let end = c == '\'' && !escaped;
            escaped = c == '\\' && !escaped;
            end
        });
        close.map_or(value.len(), |(i, _)| i + 2)
    } else {
        value.find(char::is_whitespace).unwrap_or(value.len())
    };
    Some((start, start + len))
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgUrl")
            .field("url", &self.redacted())
            .field(
                "password",
                &if self.password.is_some() {
                    "***"
                } else {
                    "none"
                },
            )
            .finish()
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_postgres_urls_only() {
        assert!(PgUrl::is_url("postgres://h/db"), "postgres scheme");
        assert!(PgUrl::is_url("PostgreSQL://h/db"), "scheme is case-blind");
        assert!(!PgUrl::is_url("/tmp/postgres.sqlite"), "a file path");
        assert!(!PgUrl::is_url(":memory:"), "memory");
        assert!(!PgUrl::is_url("pg"), "short text");
    }

    #[test]
    fn password_never_printed() {
        let url = PgUrl::new("postgres://ann:s3cr%40t@db.example:5433/anom?sslmode=disable");
        assert!(url.has_url_password(), "password detected");
        assert_eq!(
            url.redacted(),
            "postgres://ann:***@db.example:5433/anom?sslmode=disable"
        );
        let shown = format!("{url:?} {url}");
        assert!(!shown.contains("s3cr"), "{shown}");
        let typed = PgUrl::new("postgres://ann@h/db").with_password("hunter2");
        assert!(!typed.has_url_password(), "no password in the URL");
        assert!(!format!("{typed:?}").contains("hunter2"), "debug redacts");
        assert_eq!(typed.explicit_password(), Some("hunter2"));
    }

    #[test]
    fn keyword_passwords_are_redacted_too() {
        let plain = PgUrl::new("host=h user=u password=abc sslmode=disable");
        assert_eq!(
            plain.redacted(),
            "host=h user=u password=*** sslmode=disable"
        );
        let quoted = PgUrl::new("host=h password = 'a b\\'c' dbname=d");
        assert_eq!(quoted.redacted(), "host=h password = *** dbname=d");
        let none = PgUrl::new("host=h user=password_user");
        assert!(!none.has_url_password(), "a user name is not a password");
    }

    #[test]
    fn at_signs_after_the_host_are_not_userinfo() {
        let url = PgUrl::new("postgres://h/db?application_name=a:b@c");
        assert!(!url.has_url_password(), "query text is not a password");
        assert_eq!(url.redacted(), url.secret_url());
    }

    #[test]
    fn tls_options_are_split_off_urls() {
        let url = PgUrl::new(
            "postgres://u@h:5/db?application_name=x&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca%20x.pem",
        );
        let (text, tls) = url.split_tls().unwrap();
        assert_eq!(
            text,
            "postgres://u@h:5/db?application_name=x&sslmode=require"
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert.as_deref(), Some("/tmp/ca x.pem"));
        let (text, tls) = PgUrl::new("postgres://u@h/db").split_tls().unwrap();
        assert_eq!(text, "postgres://u@h/db?sslmode=prefer", "libpq's default");
        assert_eq!(tls, TlsOptions::default());
        let (text, _) = PgUrl::new("postgres://h/d?sslmode=disable")
            .split_tls()
            .unwrap();
        assert_eq!(text, "postgres://h/d?sslmode=disable");
        let bad = PgUrl::new("postgres://h/d?sslmode=verify-maybe").split_tls();
        assert!(
            bad.unwrap_err().contains("verify-maybe"),
            "unknown mode named"
        );
    }

    #[test]
    fn tls_options_are_split_off_keyword_text() {
        let url = PgUrl::new(
            "host=h sslrootcert = '/a b/it\\'s.pem' user=u sslmode=verify-ca password='p q'",
        );
        let (text, tls) = url.split_tls().unwrap();
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(tls.root_cert.as_deref(), Some("/a b/it's.pem"));
        assert_eq!(text, "host=h  user=u  password='p q' sslmode=require");
    }
}
