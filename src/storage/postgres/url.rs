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
}
