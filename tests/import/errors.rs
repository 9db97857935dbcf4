//! Files that cannot be imported: each gives one precise error naming file, line and column.

use std::fmt::Write as _;

use anomdet::control::{CancelToken, Progress};
use anomdet::import::{ImportError, read_bytes, read_csv};

use super::{FILE, err};

#[test]
fn empty_file() {
    assert!(matches!(err(""), ImportError::Empty { .. }));
    let e = err(" \n\r\n\t\n");
    assert!(matches!(e, ImportError::Empty { .. }));
    assert_eq!(e.to_string(), format!("{FILE}: the file is empty"));
    assert!(
        matches!(err("\u{feff}"), ImportError::Empty { .. }),
        "BOM only"
    );
}

#[test]
fn header_only() {
    let e = err("timestamp,value\n");
    assert!(matches!(&e, ImportError::HeaderOnly { header, .. } if header == "timestamp,value"));
    assert!(e.to_string().contains("no data rows"), "{e}");
    assert!(matches!(
        err("timestamp,value\n\n\n"),
        ImportError::HeaderOnly { .. }
    ));
    assert!(matches!(
        err("timestamp,value"),
        ImportError::HeaderOnly { .. }
    ));
}

#[test]
fn no_numeric_column() {
    let e = err("name,city\nann,paris\nbob,rome\n");
    assert!(
        matches!(&e, ImportError::NoNumericColumn { columns, .. } if columns.contains("\"column_1\" (text \"name\" on line 1)")),
        "{e}"
    );
    let e = err("timestamp,name\n2024-01-01T00:00:00Z,x\n");
    let msg = e.to_string();
    assert!(
        msg.contains("\"timestamp\" (time)") && msg.contains("\"name\" (text \"x\" on line 2)"),
        "{msg}"
    );
}

#[test]
fn ragged_short_row() {
    let e = err(
        "timestamp,a,b\n2024-01-01T00:00:00Z,1,2\n2024-01-01T00:00:01Z,3,4\n2024-01-01T00:00:02Z,5\n",
    );
    assert!(
        matches!(
            e,
            ImportError::Ragged {
                line: 4,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("{FILE}: line 4: expected 3 fields (as in the header), found 2")
    );
}

#[test]
fn ragged_long_row() {
    let e = err("a,b\n1,2\n3,4,5\n6,7\n");
    assert!(
        matches!(
            e,
            ImportError::Ragged {
                line: 3,
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = err("1,2\n3,4\n5,6,7\n");
    assert!(
        e.to_string()
            .contains("line 3: expected 2 fields (as in the first row), found 3"),
        "{e}"
    );
}

#[test]
fn binary_bytes() {
    let e = err(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice());
    assert!(
        matches!(
            e,
            ImportError::Binary {
                line: 3,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("binary data"), "{e}");
}

#[test]
fn nul_byte_after_the_probe_has_line_and_column() {
    let mut text = String::from("t,v\n");
    for i in 0..10_000 {
        writeln!(text, "{i},{i}.5").unwrap();
    }
    text.push_str("10000,1\0\n");
    let e = err(text);
    assert!(
        matches!(
            e,
            ImportError::Binary {
                line: 10_002,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn invalid_utf8() {
    let e = err(
        b"timestamp,value,name\n2024-01-01T00:00:00Z,1,ok\n2024-01-01T00:00:01Z,2,caf\xE9\n"
            .as_slice(),
    );
    assert!(
        matches!(
            e,
            ImportError::NotUtf8 {
                line: 3,
                column: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("line 3, column 3: invalid UTF-8 (bytes E9"),
        "{e}"
    );
    let e = err(b"t\xFFme,value\n1,2\n".as_slice());
    assert!(
        matches!(
            e,
            ImportError::NotUtf8 {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn utf16_is_named() {
    let e = err(b"\xFF\xFEt\0,\0v\0".as_slice());
    assert!(matches!(e, ImportError::NotUtf8 { line: 1, .. }), "{e}");
    assert!(e.to_string().contains("UTF-16"), "{e}");
}

#[test]
fn unparseable_timestamp() {
    let e = err("value,timestamp\n1,2024-01-01T00:00:00Z\n2,2024-01-01T00:00:01Z\n3,yesterday\n");
    assert!(
        matches!(&e, ImportError::BadTimestamp { line: 4, column: 2, name, value, .. } if name == "timestamp" && value == "yesterday"),
        "{e}"
    );
    assert!(
        e.to_string().starts_with(&format!(
            "{FILE}: line 4, column 2 (\"timestamp\"): cannot read \"yesterday\""
        )),
        "{e}"
    );
}

#[test]
fn empty_or_out_of_range_timestamp() {
    let e = err("timestamp,value\n2024-01-01T00:00:00Z,1\n,2\n");
    assert!(
        matches!(&e, ImportError::BadTimestamp { line: 3, column: 1, reason, .. } if reason.contains("empty")),
        "{e}"
    );
    let e = err("timestamp,value\n9999-01-01T00:00:00Z,1\n");
    assert!(
        matches!(&e, ImportError::BadTimestamp { line: 2, reason, .. } if reason.contains("range")),
        "{e}"
    );
    let e = err("timestamp,value\n2024-02-30T00:00:00Z,1\n");
    assert!(
        matches!(&e, ImportError::BadTimestamp { line: 2, reason, .. } if reason.contains("out of range")),
        "{e}"
    );
}

#[test]
fn time_named_column_with_clock_times_only() {
    let e = err("time,value\n12:30:00,1\n12:31:00,2\n");
    assert!(
        matches!(
            e,
            ImportError::BadTimestamp {
                line: 2,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn epoch_column_with_text_later() {
    let e = err("ts,value\n1700000000,1\n1700000060,2\nsoon,3\n");
    assert!(
        matches!(&e, ImportError::BadTimestamp { line: 4, column: 1, value, .. } if value == "soon"),
        "{e}"
    );
}

#[test]
fn file_not_found_and_folder() {
    let (p, c) = (Progress::new(), CancelToken::new());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    let e = read_csv(&missing, &p, &c).unwrap_err();
    assert!(
        matches!(&e, ImportError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(e.to_string().contains("missing.csv"), "{e}");
    let e = read_csv(dir.path(), &p, &c).unwrap_err();
    assert!(matches!(e, ImportError::Io { .. }), "{e}");
}

#[test]
fn cancel_and_progress() {
    let text = "timestamp,value\n2024-01-01T00:00:00Z,1\n";
    let (p, c) = (Progress::new(), CancelToken::new());
    read_bytes(text.as_bytes(), FILE, &p, &c).unwrap();
    assert_eq!(p.get(), (100, 100));
    c.cancel();
    let e = read_bytes(text.as_bytes(), FILE, &p, &c).unwrap_err();
    assert!(matches!(e, ImportError::Cancelled));
}

#[test]
fn read_csv_from_disk_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad rows.csv");
    std::fs::write(&path, "a,b\n1,2\n3\n").unwrap();
    let e = read_csv(&path, &Progress::new(), &CancelToken::new()).unwrap_err();
    assert!(
        e.to_string().starts_with(&path.display().to_string()),
        "{e}"
    );
    assert!(matches!(e, ImportError::Ragged { line: 3, .. }));
}
