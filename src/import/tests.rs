//! Module-level tests: the fast and the slow reader agree on everything the fast one accepts.

use super::*;

fn both(text: &str) -> (Result<Imported, ImportError>, Result<Imported, ImportError>) {
    let p = Progress::new();
    let c = CancelToken::new();
    (
        read_with(text.as_bytes(), "t.csv", &p, &c, Reader::Auto),
        read_with(text.as_bytes(), "t.csv", &p, &c, Reader::Slow),
    )
}

fn assert_same(text: &str) {
    match both(text) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                format!("{:?}", a.series),
                format!("{:?}", b.series),
                "{text:?}"
            );
            assert_eq!(a.warnings, b.warnings, "{text:?}");
            assert_eq!(a.time_column, b.time_column);
            assert_eq!(a.label_column, b.label_column);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text:?}"),
        (a, b) => panic!("{text:?}: fast {a:?} vs slow {b:?}"),
    }
}

#[test]
fn readers_agree_on_examples() {
    for text in [
        "timestamp,value,label\n2024-01-01T00:00:00Z,1.5,0\n2024-01-01T00:01:00Z,2.5,1\n",
        "timestamp,value\r\n2024-01-01 00:00:00,1\r\n2024-01-01 00:00:01,nan\r\n",
        "a;b\n1;2\n3;4",
        "ts\tv\n1700000000\t1\n1700000001\t2\n",
        "x,y\n1,\"2\"\n3,\"4\"\n",
        "1,2\n3,4\n",
        "t,v\n2024-01-02,1\n2024-01-01,2\n2024-01-01,3\n",
        "v,name\n1,foo\n2,bar\n",
        "v\n1.\n.5\n+1\n1e5\n-nan\n+inf\nInfinity\n 3\n-0\n1E-3\n1e400\n-1e-400\n",
        "v,w\n3 ,1\n4,2\n",
        "v,w\n1e,1\n4,2\n",
        "v,w\n0x10,1\n4,2\n",
    ] {
        assert_same(text);
    }
}

#[test]
fn clean_files_take_the_fast_path() {
    for text in [
        "timestamp,value,label\n2024-01-01T00:00:00Z,1.5,0\n2024-01-01T00:01:00Z,2.5,1\n",
        "timestamp,value\r\n2024-01-01 00:00:00,1\r\n2024-01-01 00:00:01,2\r\n",
        "\u{feff}a;b\n1;2\n3;4",
        "1\t2\n3\t4\n",
    ] {
        let bytes = sniff::check_content(text.as_bytes(), "t.csv").unwrap();
        let layout = sniff::sniff(bytes, "t.csv").unwrap();
        let body = &bytes[layout.body_start..];
        let roles = schema::detect_roles(&layout);
        let numeric = schema::numeric_hint(&layout, &roles);
        let table = fast::read(
            body,
            &layout.names,
            &numeric,
            layout.delimiter,
            layout.body_first_line,
        );
        assert!(numeric.contains(&true), "{text:?}");
        assert!(table.is_some(), "{text:?}");
    }
}

mod props {
    use proptest::prelude::*;

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (-1e6f64..1e6).prop_map(|v| v.to_string()),
            2 => (0i64..4_000_000_000).prop_map(|s| crate::model::Timestamp(s * 1_000_000_000).to_rfc3339()),
            1 => Just(String::new()),
            1 => prop::sample::select(vec![
                "0", "1", "true", "NaN", "-inf", "NA", " 2 ", "x", "\"q\"", "\"a,b\"", "1.", ".5", "+1",
                "1e5", "1e", "-nan", "+inf", "Infinity", " 3", "3 ", "-0", "1E-3", "0x10", "1_0",
                "\"7\"", "1e400", "-1e-400",
            ]).prop_map(str::to_owned),
            1 => "[a-z\"';,\t \r\n]{0,5}",
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        (
            1usize..4,
            prop::sample::select(vec![",", ";", "\t"]),
            prop::sample::select(vec!["\n", "\r\n"]),
        )
            .prop_flat_map(|(width, delim, eol)| {
                let names = prop::sample::subsequence(
                    vec!["timestamp", "value", "label", "ts", "b", "c"],
                    width,
                );
                let rows = prop::collection::vec(prop::collection::vec(cell(), width), 1..10);
                (names, rows).prop_map(move |(names, rows)| {
                    let mut t = names.join(delim);
                    for r in rows {
                        t.push_str(eol);
                        t.push_str(&r.join(delim));
                    }
                    t
                })
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the fast reader accepts, the slow reader reads the same way.
        #[test]
        fn fast_and_slow_readers_agree(text in text()) {
            super::assert_same(&text);
        }
    }
}

#[test]
fn large_files_parse_time_on_a_second_thread_with_exact_errors() {
    use std::fmt::Write as _;
    let mut text = String::from("timestamp,value\n");
    for i in 0..60_000i64 {
        let ts = crate::model::Timestamp(i * 1_000_000_000).to_rfc3339();
        let _ = writeln!(text, "{ts},{i}");
    }
    assert_same(&text);
    let imported = read_csv_bytes(text.as_bytes(), "big.csv").unwrap();
    assert_eq!(imported.series.len(), 60_000);
    assert!(imported.warnings.is_empty());
    text.push_str("later,1\n");
    let e = read_csv_bytes(text.as_bytes(), "big.csv").unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::BadTimestamp {
                line: 60_002,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
}
