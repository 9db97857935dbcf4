//! Odd files that still import: each asserts the data and the exact warning.

use std::fmt::Write as _;

use anomdet::import::{Lines, WarningKind};
use anomdet::model::Timestamp;

use super::{kinds, nanos, ok, only_warning, t2024, values};

const NS: i64 = Timestamp::NANOS_PER_SEC;

#[test]
fn plain_file_has_no_warnings() {
    let imp = ok("timestamp,value,label\n2024-01-01T00:00:00Z,1.5,0\n2024-01-01T00:01:00Z,-2,1\n");
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
    assert_eq!(nanos(&imp), [t2024(0), t2024(60)]);
    assert_eq!(values(&imp, 0), [1.5, -2.0]);
    assert_eq!(imp.series.labels(), Some([false, true].as_slice()));
    assert_eq!(imp.time_column.as_deref(), Some("timestamp"));
    assert_eq!(imp.label_column.as_deref(), Some("label"));
    assert_eq!((imp.delimiter, imp.has_header), (',', true));
}

#[test]
fn utf8_bom_is_stripped() {
    let imp = ok("\u{feff}timestamp,value\n2024-01-01T00:00:00Z,1\n");
    assert_eq!(imp.time_column.as_deref(), Some("timestamp"));
    assert!(imp.warnings.is_empty());
}

#[test]
fn crlf_line_ends() {
    let imp = ok("timestamp,value\r\n2024-01-01T00:00:00Z,1\r\n2024-01-01T00:00:01Z,2\r\n");
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
    assert_eq!(values(&imp, 0), [1.0, 2.0]);
}

#[test]
fn lone_cr_line_ends() {
    let imp = ok("timestamp,value\r2024-01-01T00:00:00Z,1\r2024-01-01T00:00:01Z,2\r");
    assert_eq!(values(&imp, 0), [1.0, 2.0]);
    assert_eq!(nanos(&imp), [t2024(0), t2024(1)]);
}

#[test]
fn semicolon_delimiter() {
    let imp = ok("timestamp;a;b\n2024-01-01 00:00:00;1;2\n2024-01-01 00:00:01;3;4\n");
    assert_eq!(imp.delimiter, ';');
    assert_eq!(imp.series.column_names(), ["a", "b"]);
    assert_eq!(values(&imp, 1), [2.0, 4.0]);
}

#[test]
fn tab_delimiter() {
    let imp = ok("time\tvalue\n2024-01-01T00:00:00\t1\n2024-01-01T00:00:01\t2\n");
    assert_eq!(imp.delimiter, '\t');
    assert_eq!(nanos(&imp), [t2024(0), t2024(1)]);
}

#[test]
fn no_header_row() {
    let imp = ok("2024-01-01T00:00:00Z,1,5\n2024-01-01T00:00:01Z,2,6\n");
    assert!(!imp.has_header);
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::NoHeader { columns: 3 }
    );
    assert_eq!(imp.time_column.as_deref(), Some("column_1"));
    assert_eq!(imp.series.column_names(), ["column_2", "column_3"]);
}

#[test]
fn no_header_and_no_time_column() {
    let imp = ok("1.5\n2.5\n3.5");
    assert_eq!(
        kinds(&imp),
        [
            &WarningKind::NoHeader { columns: 1 },
            &WarningKind::NoTimeColumn
        ]
    );
    assert_eq!(values(&imp, 0), [1.5, 2.5, 3.5]);
}

#[test]
fn quoted_fields() {
    let text = "\"timestamp\",\"value\",\"note\"\n\
                \"2024-01-01T00:00:00Z\",\"1.25\",\"a, b\"\n\
                \"2024-01-01T00:00:01Z\",\"2\",\"say \"\"hi\"\"\"\n";
    let imp = ok(text);
    assert_eq!(values(&imp, 0), [1.25, 2.0]);
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::SkippedColumn {
            column: "note".into(),
            position: 3,
            line: 2,
            value: "a, b".into()
        }
    );
}

#[test]
fn line_break_inside_quotes_keeps_line_numbers() {
    let text =
        "timestamp,value,note\n2024-01-01T00:00:00Z,1,\"two\nlines\"\n2024-01-01T00:00:01Z,,x\n";
    let imp = ok(text);
    let missing = imp
        .warnings
        .iter()
        .find(|w| matches!(w.kind, WarningKind::MissingCells { .. }))
        .unwrap();
    assert!(missing.to_string().contains("(line 4)"), "{missing}");
}

#[test]
fn unsorted_rows_are_sorted_stably() {
    let imp = ok(
        "timestamp,value\n2024-01-01T00:00:02Z,1\n2024-01-01T00:00:00Z,2\n2024-01-01T00:00:01Z,3\n",
    );
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::Unsorted {
            count: 1,
            first_line: 3
        }
    );
    assert_eq!(nanos(&imp), [t2024(0), t2024(1), t2024(2)]);
    assert_eq!(values(&imp, 0), [2.0, 3.0, 1.0]);
}

#[test]
fn duplicate_timestamps_are_kept_in_order() {
    let imp = ok(
        "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2\n2024-01-01T00:00:01Z,3\n2024-01-01T00:00:01Z,4\n",
    );
    let w = only_warning(&imp);
    assert_eq!(
        w.kind,
        WarningKind::DuplicateTimestamps {
            count: 2,
            first_line: 4
        }
    );
    assert!(w.to_string().contains("first at line 4"), "{w}");
    assert_eq!(values(&imp, 0), [1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn unsorted_with_duplicates_reports_original_line() {
    let imp = ok(
        "timestamp,value\n2024-01-01T00:00:05Z,1\n2024-01-01T00:00:01Z,2\n2024-01-01T00:00:05Z,3\n",
    );
    assert_eq!(
        kinds(&imp),
        [
            &WarningKind::Unsorted {
                count: 1,
                first_line: 3
            },
            &WarningKind::DuplicateTimestamps {
                count: 1,
                first_line: 4
            }
        ]
    );
    assert_eq!(values(&imp, 0), [2.0, 1.0, 3.0]);
}

#[test]
fn missing_cells_become_nan() {
    let imp = ok(
        "timestamp,a,b\n2024-01-01T00:00:00Z,1,\n2024-01-01T00:00:01Z,,5\n2024-01-01T00:00:02Z,NA,6\n2024-01-01T00:00:03Z, ,7\n",
    );
    let a = &imp.warnings[0];
    assert_eq!(
        a.kind,
        WarningKind::MissingCells {
            column: "a".into(),
            lines: Lines {
                count: 3,
                first: vec![3, 4, 5]
            }
        }
    );
    assert!(
        a.to_string()
            .contains("3 missing cell(s) read as NaN (lines 3, 4, 5)"),
        "{a}"
    );
    assert_eq!(
        imp.warnings[1].kind,
        WarningKind::MissingCells {
            column: "b".into(),
            lines: Lines {
                count: 1,
                first: vec![2]
            }
        }
    );
    let a = values(&imp, 0);
    assert_eq!(a[0].to_bits(), 1f64.to_bits());
    assert!(a[1..].iter().all(|v| v.is_nan()));
}

#[test]
fn many_missing_cells_list_the_first_five() {
    let mut text = String::from("value,other\n");
    for i in 0..20 {
        writeln!(text, ",{i}").unwrap();
    }
    text.push_str("1,1\n");
    let imp = ok(text);
    let w = imp
        .warnings
        .iter()
        .find(|w| matches!(w.kind, WarningKind::MissingCells { .. }))
        .unwrap();
    assert!(
        w.to_string()
            .contains("20 missing cell(s) read as NaN (lines 2, 3, 4, 5, 6, ...)"),
        "{w}"
    );
}

#[test]
fn nan_and_infinity_text() {
    let imp = ok(
        "timestamp,value\n2024-01-01T00:00:00Z,NaN\n2024-01-01T00:00:01Z,inf\n2024-01-01T00:00:02Z,-Infinity\n2024-01-01T00:00:03Z,4\n",
    );
    let w = only_warning(&imp);
    assert_eq!(
        w.kind,
        WarningKind::NonFinite {
            column: "value".into(),
            lines: Lines {
                count: 3,
                first: vec![2, 3, 4]
            }
        }
    );
    let v = values(&imp, 0);
    assert!(v[..3].iter().all(|x| x.is_nan()));
    assert_eq!(v[3].to_bits(), 4f64.to_bits());
}

#[test]
fn non_numeric_column_is_skipped() {
    let imp =
        ok("timestamp,value,host\n2024-01-01T00:00:00Z,1,web-1\n2024-01-01T00:00:01Z,2,web-2\n");
    let w = only_warning(&imp);
    assert!(
        w.to_string().ends_with(
            "line 2, column 3 (\"host\"): non-numeric value \"web-1\"; the column was skipped"
        ),
        "{w}"
    );
    assert_eq!(imp.series.column_names(), ["value"]);
}

#[test]
fn mostly_numeric_column_with_text_later_is_skipped() {
    let imp = ok("timestamp,a,b\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:00:01Z,2,oops\n");
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::SkippedColumn {
            column: "b".into(),
            position: 3,
            line: 3,
            value: "oops".into()
        }
    );
}

#[test]
fn empty_column_is_skipped() {
    let imp = ok("timestamp,a,b\n2024-01-01T00:00:00Z,1,\n2024-01-01T00:00:01Z,2,\n");
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::SkippedColumn {
            column: "b".into(),
            position: 3,
            line: 0,
            value: String::new()
        }
    );
}

#[test]
fn timestamp_formats() {
    let cases = [
        ("2024-01-01T01:00:00+01:00", t2024(0)),
        ("2024-01-01T00:00:00Z", t2024(0)),
        ("2024-01-01T00:00:00", t2024(0)),
        ("2024-01-01 00:00:00", t2024(0)),
        ("2024-01-01 00:00:00.25", t2024(0) + NS / 4),
        ("2024-01-01T00:00:00.123456789Z", t2024(0) + 123_456_789),
        ("2024-01-01", t2024(0)),
        ("2023-12-31T19:00:00-05:00", t2024(0)),
    ];
    for (text, expected) in cases {
        let imp = ok(format!("timestamp,value\n{text},1\n"));
        assert_eq!(nanos(&imp), [expected], "{text}");
    }
}

#[test]
fn time_column_found_by_content() {
    let imp = ok("when,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,2\n");
    assert_eq!(imp.time_column.as_deref(), Some("when"));
    assert_eq!(imp.series.column_names(), ["value"]);
}

#[test]
fn epoch_seconds_and_milliseconds() {
    let s = ok("timestamp,value\n1704067200,1\n1704067201,2\n");
    let ms = ok("ts,value\n1704067200000,1\n1704067201000,2\n");
    let frac = ok("epoch,value\n1704067200.5,1\n1704067201.25,2\n");
    assert_eq!(nanos(&s), [t2024(0), t2024(1)]);
    assert_eq!(nanos(&ms), nanos(&s));
    assert_eq!(nanos(&frac), [t2024(0) + NS / 2, t2024(1) + NS / 4]);
    assert!(s.warnings.is_empty() && ms.warnings.is_empty());
}

#[test]
fn no_time_column_uses_seconds_from_epoch() {
    let imp = ok("a,b\n1,2\n3,4\n5,6\n");
    assert_eq!(only_warning(&imp).kind, WarningKind::NoTimeColumn);
    assert_eq!(nanos(&imp), [0, NS, 2 * NS]);
    assert_eq!(imp.time_column, None);
}

#[test]
fn label_column_variants() {
    for (name, t, f) in [
        ("label", "1", "0"),
        ("Label", "1", "0"),
        ("is_anomaly", "1.0", "0.0"),
        ("anomaly", "true", "false"),
        ("IS-ANOMALY", "TRUE", "False"),
    ] {
        let imp = ok(format!(
            "timestamp,value,{name}\n2024-01-01T00:00:00Z,1,{t}\n2024-01-01T00:00:01Z,2,{f}\n"
        ));
        assert_eq!(
            imp.series.labels(),
            Some([true, false].as_slice()),
            "{name}"
        );
        assert_eq!(imp.label_column.as_deref(), Some(name));
        assert_eq!(imp.series.column_names(), ["value"], "{name}");
    }
}

#[test]
fn label_outranks_is_anomaly() {
    let imp = ok("timestamp,value,score,is_anomaly,label\n2024-01-01T00:00:00Z,1,0.5,1,0\n");
    assert_eq!(imp.label_column.as_deref(), Some("label"));
    assert_eq!(imp.series.labels(), Some([false].as_slice()));
    assert_eq!(imp.series.column_names(), ["value", "score", "is_anomaly"]);
}

#[test]
fn label_with_bad_values() {
    let imp = ok("timestamp,value,label\n2024-01-01T00:00:00Z,1,0\n2024-01-01T00:00:01Z,2,2\n");
    let w = only_warning(&imp);
    assert_eq!(
        w.kind,
        WarningKind::LabelNotBinary {
            column: "label".into(),
            line: 3,
            value: "2".into(),
            kept_as_values: true
        }
    );
    assert!(
        w.to_string()
            .contains("line 3: label column \"label\" has value \"2\""),
        "{w}"
    );
    assert_eq!(imp.series.labels(), None);
    assert_eq!(imp.series.column_names(), ["value", "label"]);

    let imp = ok("timestamp,value,label\n2024-01-01T00:00:00Z,1,yes\n");
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::LabelNotBinary {
            column: "label".into(),
            line: 2,
            value: "yes".into(),
            kept_as_values: false
        }
    );
    assert_eq!(imp.series.column_names(), ["value"]);
}

#[test]
fn label_with_empty_cells() {
    let imp = ok("timestamp,value,label\n2024-01-01T00:00:00Z,1,\n2024-01-01T00:00:01Z,2,1\n");
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::MissingLabels {
            column: "label".into(),
            lines: Lines {
                count: 1,
                first: vec![2]
            }
        }
    );
    assert_eq!(imp.series.labels(), Some([false, true].as_slice()));

    // Missing-value tokens and NaN are unknown labels too, not a reason to read the column as
    // values (an export writes them as empty cells; found by proptest).
    let imp = ok(
        "timestamp,value,label\n2024-01-01T00:00:00Z,1,NA\n2024-01-01T00:00:01Z,2,1\n2024-01-01T00:00:02Z,3,NaN\n",
    );
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::MissingLabels {
            column: "label".into(),
            lines: Lines {
                count: 2,
                first: vec![2, 4]
            }
        }
    );
    assert_eq!(imp.series.labels(), Some([false, true, false].as_slice()));
    assert_eq!(imp.series.column_names(), ["value"]);
}

#[test]
fn empty_header_names_are_renamed() {
    let imp = ok(",value,\n0,1.5,2\n1,2.5,3\n");
    let w: Vec<String> = imp.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        imp.warnings[0].kind,
        WarningKind::RenamedColumn {
            column: 1,
            original: String::new(),
            renamed: "column_1".into()
        }
    );
    assert!(
        w[1].contains("line 1, column 3: empty header name \"\" renamed to \"column_3\""),
        "{w:?}"
    );
    assert_eq!(imp.series.column_names(), ["column_1", "value", "column_3"]);
}

#[test]
fn duplicate_header_names_are_renamed() {
    let imp = ok("timestamp,value,value\n2024-01-01T00:00:00Z,1,2\n");
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::RenamedColumn {
            column: 3,
            original: "value".into(),
            renamed: "value_2".into()
        }
    );
    assert_eq!(imp.series.column_names(), ["value", "value_2"]);
}

/// `Label` (the ground truth) beside a value column `label`: both match the label role, so the
/// value column is renamed and an export re-imports with the same labels (found by proptest).
#[test]
fn header_names_equal_up_to_case_are_renamed() {
    let imp = ok("ts;Label;label\n1600000000;1;7\n1600000001;0;8\n");
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::RenamedColumn {
            column: 3,
            original: "label".into(),
            renamed: "label_2".into()
        }
    );
    assert_eq!(imp.series.column_names(), ["label_2"]);
    assert_eq!(imp.series.labels(), Some(&[true, false][..]));
    let mut exported = Vec::new();
    anomdet::import::write_series_csv_to(&imp.series, None, &mut exported).expect("to memory");
    let again = anomdet::import::read_csv_bytes(&exported, "export.csv").expect("re-import");
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.series.column_names(), ["label_2"]);
    assert_eq!(again.series.labels(), imp.series.labels());
}

#[test]
fn very_long_line() {
    let long = "x".repeat(2_000_000);
    let imp = ok(format!(
        "timestamp,value,blob\n2024-01-01T00:00:00Z,1,{long}\n2024-01-01T00:00:01Z,2,y\n"
    ));
    assert_eq!(values(&imp, 0), [1.0, 2.0]);
    let w = only_warning(&imp).to_string();
    assert!(
        w.contains("line 2, column 3 (\"blob\")") && w.len() < 300,
        "{w}"
    );
}

#[test]
fn trailing_newline_is_optional() {
    let with = ok("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2\n");
    let without = ok("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2");
    assert_eq!(with.series, without.series);
}

#[test]
fn blank_lines_are_skipped_and_lines_still_count() {
    let imp = ok("timestamp,value\n\n2024-01-01T00:00:00Z,1\n\n2024-01-01T00:00:01Z,\n\n");
    assert_eq!(nanos(&imp), [t2024(0), t2024(1)]);
    assert_eq!(
        only_warning(&imp).kind,
        WarningKind::MissingCells {
            column: "value".into(),
            lines: Lines {
                count: 1,
                first: vec![5]
            }
        }
    );
}

#[test]
fn whitespace_around_cells() {
    let imp = ok("timestamp , value \n 2024-01-01T00:00:00Z , 1.5 \n");
    assert_eq!(imp.series.column_names(), ["value"]);
    assert_eq!(values(&imp, 0), [1.5]);
    assert_eq!(nanos(&imp), [t2024(0)]);
}

#[test]
fn many_columns_multivariate() {
    let imp = ok(
        "timestamp,value-0,value-1,value-2,is_anomaly\n2024-01-01T00:00:00Z,1,2,3,0\n2024-01-01T00:00:01Z,4,5,6,1\n",
    );
    assert_eq!(imp.series.column_names(), ["value-0", "value-1", "value-2"]);
    assert_eq!(imp.series.label_count(), 1);
}
