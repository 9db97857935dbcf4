//! Series → CSV: `timestamp,<values...>[,score,is_anomaly][,label]`, lossless so that importing
//! the export gives back the same series.
//!
//! - Timestamps: RFC 3339 UTC with 0, 3, 6 or 9 fractional digits (the fewest that are exact).
//! - Values: Rust's shortest round-trip formatting (`Display`, or `LowerExp` for very large
//!   or very small magnitudes, which is shorter and just as exact); NaN is an empty cell.
//!   Infinities are written as `inf`/`-inf` (the importer reads them back as NaN, with a
//!   warning).
//! - `is_anomaly` and `label` as 0/1.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use crate::model::Series;

use super::error::ImportError;
use super::time::format_rfc3339;

/// Formats a value losslessly into `out` (cleared first).
pub(super) fn format_value(v: f64, out: &mut String) {
    out.clear();
    if v.is_nan() {
        return;
    }
    let a = v.abs();
    if a != 0.0 && a.is_finite() && !(1e-5..1e16).contains(&a) {
        let _ = write!(out, "{v:e}");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Writes the CSV to any writer; `name` is used in error messages.
pub(super) fn write_to<W: Write>(
    series: &Series,
    scored: Option<(&[f64], &[bool])>,
    writer: W,
    name: &Path,
) -> Result<(), ImportError> {
    let io_error = |e: csv::Error| ImportError::Io {
        path: name.to_path_buf(),
        source: match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::other(format!("{other:?}")),
        },
    };
    if let Some((scores, predicted)) = scored
        && (scores.len() != series.len() || predicted.len() != series.len())
    {
        return Err(ImportError::Invalid {
            path: name.to_path_buf(),
            message: format!(
                "cannot export {} scores and {} predictions for a series of {} rows",
                scores.len(),
                predicted.len(),
                series.len()
            ),
        });
    }
    let mut w = csv::WriterBuilder::new().from_writer(writer);
    let mut header = vec!["timestamp"];
    header.extend(series.columns().iter().map(|c| c.name.as_str()));
    if scored.is_some() {
        header.extend(["score", "is_anomaly"]);
    }
    if series.labels().is_some() {
        header.push("label");
    }
    w.write_record(&header).map_err(io_error)?;
    let mut buf = String::new();
    let flag = |b: bool| if b { "1" } else { "0" };
    for (row, ts) in series.timestamps().iter().enumerate() {
        format_rfc3339(ts.0, &mut buf);
        w.write_field(&buf).map_err(io_error)?;
        for column in series.columns() {
            format_value(column.values[row], &mut buf);
            w.write_field(&buf).map_err(io_error)?;
        }
        if let Some((scores, predicted)) = scored {
            format_value(scores[row], &mut buf);
            w.write_field(&buf).map_err(io_error)?;
            w.write_field(flag(predicted[row])).map_err(io_error)?;
        }
        if let Some(labels) = series.labels() {
            w.write_field(flag(labels[row])).map_err(io_error)?;
        }
        w.write_record(None::<&[u8]>).map_err(io_error)?;
    }
    w.flush().map_err(|source| ImportError::Io {
        path: name.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shortest_and_exact() {
        let mut s = String::new();
        for (v, text) in [
            (1.0, "1"),
            (-0.5, "-0.5"),
            (19.761_251_902_999_998, "19.761251902999998"),
            (1e300, "1e300"),
            (1.5e-7, "1.5e-7"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, ""),
        ] {
            format_value(v, &mut s);
            assert_eq!(s, text);
            if v.is_finite() {
                assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn writes_header_and_rows() {
        let mut series = Series::from_values("v", vec![1.5, f64::NAN]);
        series.set_labels(Some(vec![false, true])).unwrap();
        let mut out = Vec::new();
        write_to(
            &series,
            Some((&[0.1, 2.0], &[false, true])),
            &mut out,
            Path::new("x.csv"),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "timestamp,v,score,is_anomaly,label\n\
             1970-01-01T00:00:00Z,1.5,0.1,0,0\n\
             1970-01-01T00:00:01Z,,2,1,1\n"
        );
        let err = write_to(
            &series,
            Some((&[0.1], &[false])),
            Vec::new(),
            Path::new("x.csv"),
        );
        assert!(matches!(err, Err(ImportError::Invalid { .. })));
    }
}
