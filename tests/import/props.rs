//! Property tests: no input makes the importer panic, and whatever it imports survives
//! export → import unchanged.

use std::fmt::Write as _;

use anomdet::import::{read_csv_bytes, write_series_csv_to};
use proptest::prelude::*;

/// One cell: numbers, timestamps, words, gaps and the characters that trip CSV readers.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-1e6f64..1e6).prop_map(|v| v.to_string()),
        2 => (0i64..4_000_000_000).prop_map(|s| {
            let t = anomdet::model::Timestamp(s * 1_000_000_000);
            t.to_rfc3339()
        }),
        1 => (1_600_000_000i64..1_800_000_000).prop_map(|s| s.to_string()),
        1 => Just(String::new()),
        1 => prop::sample::select(vec!["0", "1", "true", "NaN", "inf", "NA", "-", " 1.5 ", "x"]).prop_map(str::to_owned),
        1 => "[a-z\"';,\t \r\n]{0,6}",
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "timestamp",
        "time",
        "ts",
        "value",
        "label",
        "is_anomaly",
        "Label",
        "a",
        "a",
        "",
        "x y",
        "1",
    ])
    .prop_map(str::to_owned)
}

/// CSV-shaped text: a header (or not), rows of cells (sometimes ragged), a delimiter, line ends.
fn csv_text() -> impl Strategy<Value = String> {
    (
        1usize..5,
        prop::bool::ANY,
        prop::sample::select(vec![",", ";", "\t"]),
        prop::sample::select(vec!["\n", "\r\n"]),
        prop::bool::ANY,
    )
        .prop_flat_map(|(width, header, delim, eol, trailing)| {
            let names = prop::collection::vec(header_name(), width);
            let rows = prop::collection::vec(
                prop::collection::vec(cell(), 1..=width + 1).prop_map(move |mut r| {
                    r.truncate(width.max(1));
                    r
                }),
                0..12,
            );
            (names, rows).prop_map(move |(names, rows)| {
                let mut text = String::new();
                if header {
                    text.push_str(&names.join(delim));
                    text.push_str(eol);
                }
                let lines: Vec<String> = rows.iter().map(|r| r.join(delim)).collect();
                text.push_str(&lines.join(eol));
                if trailing {
                    text.push_str(eol);
                }
                text
            })
        })
}

/// Well-formed numeric files (always importable), to check the round trip on every run.
fn numeric_csv() -> impl Strategy<Value = String> {
    (1usize..4, 1usize..30).prop_flat_map(|(width, rows)| {
        let row = (
            0i64..2_000_000_000_000_000_000,
            prop::collection::vec(prop_oneof![9 => any::<f64>().prop_filter("finite", |v| v.is_finite()), 1 => Just(f64::NAN)], width),
            prop::bool::ANY,
        );
        prop::collection::vec(row, rows).prop_map(move |rows| {
            let mut text = String::from("timestamp");
            for j in 0..width {
                write!(text, ",v{j}").expect("write to a String");
            }
            text.push_str(",label\n");
            for (t, values, label) in rows {
                text.push_str(&anomdet::model::Timestamp(t).to_rfc3339());
                for (j, v) in values.into_iter().enumerate() {
                    text.push(',');
                    if j == 0 && v.is_nan() {
                        text.push('0');
                    } else if !v.is_nan() {
                        write!(text, "{v:?}").expect("write to a String");
                    }
                }
                text.push_str(if label { ",1\n" } else { ",0\n" });
            }
            text
        })
    })
}

fn round_trips(text: &[u8]) -> Result<(), TestCaseError> {
    let Ok(first) = read_csv_bytes(text, "prop.csv") else {
        return Ok(());
    };
    let mut out = Vec::new();
    write_series_csv_to(&first.series, None, &mut out).expect("export to memory");
    let second = read_csv_bytes(&out, "export.csv").map_err(|e| {
        TestCaseError::fail(format!(
            "re-import failed: {e}\n{}",
            String::from_utf8_lossy(&out)
        ))
    })?;
    let a = &first.series;
    let b = &second.series;
    prop_assert_eq!(a.timestamps(), b.timestamps());
    prop_assert_eq!(a.column_names(), b.column_names());
    prop_assert_eq!(a.labels(), b.labels());
    for (x, y) in a.columns().iter().zip(b.columns()) {
        let bits =
            |c: &anomdet::model::Column| c.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(x), bits(y));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = read_csv_bytes(&bytes, "bytes.csv");
    }

    #[test]
    fn csv_shaped_text_never_panics_and_round_trips(text in csv_text()) {
        round_trips(text.as_bytes())?;
    }

    #[test]
    fn numeric_files_import_and_round_trip(text in numeric_csv()) {
        let imported = read_csv_bytes(text.as_bytes(), "num.csv");
        prop_assert!(imported.is_ok(), "{:?}", imported.err().map(|e| e.to_string()));
        round_trips(text.as_bytes())?;
    }
}
