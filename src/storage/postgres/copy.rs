//! PostgreSQL's binary `COPY` format, written straight into a byte buffer.
//!
//! The driver's `BinaryCopyInWriter` goes through `ToSql` trait objects and a type check per
//! value, which cost more than the server's own work at a million rows; this encoder writes
//! the documented format (header, per row a field count and length-prefixed big-endian
//! fields, trailer: <https://www.postgresql.org/docs/current/sql-copy.html>) for the few
//! types the backend copies, and hands the driver large buffers. Values keep every bit
//! (`float8` is sent as its IEEE bits: NaN payloads and `-0.0` survive).

use std::io::Write as _;

use postgres::CopyInWriter;

use super::conn::pg;
use crate::storage::StorageError;

/// Signature, flags and header-extension length of a binary COPY stream.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Bytes buffered before they are handed to the driver.
const FLUSH_AT: usize = 1 << 18;
/// Type oids of array elements (`pg_type.oid`).
const INT8_OID: u32 = 20;
const FLOAT8_OID: u32 = 701;

/// Encodes rows of one `COPY ... FROM STDIN BINARY` and sends them in large pieces.
pub(super) struct BinaryCopy<'a> {
    sink: CopyInWriter<'a>,
    buf: Vec<u8>,
    op: &'static str,
}

impl<'a> BinaryCopy<'a> {
    /// Starts the stream on `sink`; `op` names the operation in errors.
    pub(super) fn new(sink: CopyInWriter<'a>, op: &'static str) -> Self {
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        buf.extend_from_slice(HEADER);
        Self { sink, buf, op }
    }

    /// Starts a row of `fields` fields (then one call per field, in table order).
    pub(super) fn row(&mut self, fields: i16) -> Result<(), StorageError> {
        if self.buf.len() >= FLUSH_AT {
            self.send()?;
        }
        self.buf.extend_from_slice(&fields.to_be_bytes());
        Ok(())
    }

    /// An `int8` field.
    pub(super) fn int8(&mut self, value: i64) {
        self.buf.extend_from_slice(&8_i32.to_be_bytes());
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// An `int4` field.
    pub(super) fn int4(&mut self, value: i32) {
        self.buf.extend_from_slice(&4_i32.to_be_bytes());
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// A `float8` field, bit for bit.
    pub(super) fn float8(&mut self, value: f64) {
        self.buf.extend_from_slice(&8_i32.to_be_bytes());
        self.buf.extend_from_slice(&value.to_bits().to_be_bytes());
    }

    /// A `float8` field that is NULL when `value` is `None`.
    pub(super) fn float8_or_null(&mut self, value: Option<f64>) {
        match value {
            Some(v) => self.float8(v),
            None => self.buf.extend_from_slice(&(-1_i32).to_be_bytes()),
        }
    }

    /// An `int8[]` field (one dimension, no NULLs).
    pub(super) fn int8_array(&mut self, values: impl ExactSizeIterator<Item = i64>) {
        self.array_header(INT8_OID, values.len());
        for v in values {
            self.buf.extend_from_slice(&8_i32.to_be_bytes());
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    /// A `float8[]` field (one dimension, no NULLs), bit for bit.
    pub(super) fn float8_array(&mut self, values: &[f64]) {
        self.array_header(FLOAT8_OID, values.len());
        for v in values {
            self.buf.extend_from_slice(&8_i32.to_be_bytes());
            self.buf.extend_from_slice(&v.to_bits().to_be_bytes());
        }
    }

    /// Field length, then the array header: dimensions, NULL flag, element type, length,
    /// lower bound. Elements are 4 + 8 bytes each.
    fn array_header(&mut self, oid: u32, len: usize) {
        let body = 20 + 12 * len;
        self.buf.extend_from_slice(&(body as i32).to_be_bytes());
        self.buf.extend_from_slice(&1_i32.to_be_bytes());
        self.buf.extend_from_slice(&0_i32.to_be_bytes());
        self.buf.extend_from_slice(&oid.to_be_bytes());
        self.buf.extend_from_slice(&(len as i32).to_be_bytes());
        self.buf.extend_from_slice(&1_i32.to_be_bytes());
    }

    fn send(&mut self) -> Result<(), StorageError> {
        self.sink
            .write_all(&self.buf)
            .map_err(|e| StorageError::Backend {
                op: self.op,
                message: format!("sending COPY data: {e}"),
            })?;
        self.buf.clear();
        Ok(())
    }

    /// Writes the trailer and completes the COPY; returns the rows the server took.
    pub(super) fn finish(mut self) -> Result<u64, StorageError> {
        self.buf.extend_from_slice(&(-1_i16).to_be_bytes());
        self.send()?;
        self.sink.finish().map_err(pg(self.op))
    }
}
