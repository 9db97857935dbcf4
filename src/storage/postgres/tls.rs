//! TLS for the server connection: rustls (pure Rust, `ring` provider) through
//! `tokio-postgres-rustls`, with libpq's `sslmode` meanings.
//!
//! - `disable`: no TLS;
//! - `prefer` (the default), `require`: TLS (when offered / always) without checking the
//!   certificate, like libpq; with `sslrootcert` given, `require` checks it as `verify-ca`;
//! - `verify-ca`: the certificate must chain to a root in `sslrootcert`;
//! - `verify-full`: that, and it must name the host connected to (DNS name or IP address).
//!
//! Roots come from `sslrootcert=/path/ca.pem` (PEM, any number of certificates),
//! `sslrootcert=system` (the operating system's store), or libpq's default
//! `~/.postgresql/root.crt`. Handshake signatures are checked in every mode.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::{SslMode, TlsOptions};

/// The connector for `options`, or `None` for `sslmode=disable`.
///
/// # Errors
/// Why the roots cannot be loaded (missing or unreadable file, no certificate in it), as a
/// sentence for the user.
pub(super) fn connector(options: &TlsOptions) -> Result<Option<MakeRustlsConnect>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let verify = match (options.mode, &options.root_cert) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer, _) | (SslMode::Require, None) => None,
        (SslMode::Require | SslMode::VerifyCa, _) => Some(false),
        (SslMode::VerifyFull, _) => Some(true),
    };
    let config = match verify {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
        Some(check_name) => {
            let roots = Arc::new(roots(options)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| format!("TLS set-up failed: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Checked { webpki, check_name }))
                .with_no_client_auth()
        }
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// The trusted roots named by `sslrootcert` (or libpq's default file).
fn roots(options: &TlsOptions) -> Result<RootCertStore, String> {
    let mode = options.mode.as_str();
    let mut store = RootCertStore::empty();
    if options.root_cert.as_deref() == Some("system") {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(format!(
                "sslmode={mode} with sslrootcert=system, but no certificate could be loaded \
                 from the system's store ({:?})",
                found.errors
            ));
        }
        return Ok(store);
    }
    let path = if let Some(path) = &options.root_cert {
        PathBuf::from(path)
    } else {
        let default =
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".postgresql/root.crt"));
        let Some(path) = default.filter(|path| path.exists()) else {
            return Err(format!(
                "sslmode={mode} checks the server's certificate, which needs the certificate \
                 of the authority that signed it: add sslrootcert=/path/to/ca.pem (or \
                 sslrootcert=system for the system's authorities) to the connection settings"
            ));
        };
        path
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        format!(
            "cannot read the root certificate file {} (sslrootcert): {e}",
            path.display()
        )
    };
    for cert in CertificateDer::pem_file_iter(&path).map_err(|e| unreadable(&e))? {
        let cert = cert.map_err(|e| unreadable(&e))?;
        store.add(cert).map_err(|e| unreadable(&e))?;
    }
    if store.is_empty() {
        return Err(unreadable(&"it holds no PEM certificate"));
    }
    Ok(store)
}

/// `prefer` / `require` without roots: any certificate, but a valid handshake signature.
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca` (`check_name: false`: a name mismatch is accepted) and `verify-full`.
#[derive(Debug)]
struct Checked {
    webpki: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the chain is good.
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A hint added to a failed handshake's error text.
pub(super) fn explain(message: &str, options: &TlsOptions) -> Option<String> {
    if message.contains("UnknownIssuer") || message.contains("invalid peer certificate") {
        let roots = options
            .root_cert
            .as_deref()
            .unwrap_or("~/.postgresql/root.crt");
        return Some(format!(
            "the server's TLS certificate was refused (sslmode={}): it is not signed by an \
             authority in {roots}, has expired, or does not name the host connected to",
            options.mode.as_str()
        ));
    }
    if message.contains("server does not support TLS") {
        return Some(format!(
            "sslmode={} asks for TLS, but the server does not offer it (ssl = off in its \
             postgresql.conf); use sslmode=disable only on a trusted network",
            options.mode.as_str()
        ));
    }
    None
}
