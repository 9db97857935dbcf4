//! The PostgreSQL backend's own behaviour beyond the conformance suite.

use anomdet::model::{Column, Series, Timestamp};
use anomdet::storage::conformance::{assert_same_series, sample_series};
use anomdet::storage::{
    Bucket, JobUpdate, NewDataset, NewJob, NewRun, PgMode, PgUrl, PostgresStorage, RunStatus,
    Storage, StorageError,
};

use super::{database, raw, timescale_available};

fn connect(url: &PgUrl) -> PostgresStorage {
    PostgresStorage::connect(url).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn values_live_in_the_narrow_samples_table_bit_exact() {
    let db = database();
    let mut store = connect(db.url());
    let nan_payload = f64::from_bits(0x7ff8_dead_beef_0001);
    let negative_nan = f64::from_bits(0xfff0_0000_0000_0001);
    let values = vec![
        nan_payload,
        -0.0,
        negative_nan,
        f64::MIN_POSITIVE / 4.0,
        1.5,
    ];
    let series = Series::new(
        (0..5).map(Timestamp).collect(),
        vec![Column::new("v", values.clone())],
        None,
    )
    .unwrap();
    let meta = store
        .put_dataset(&NewDataset::named("bits"), &series)
        .unwrap();
    let mut client = raw(&db);
    let stored: Vec<u64> = client
        .query(
            "SELECT value FROM samples WHERE dataset_id = $1 ORDER BY row_idx",
            &[&meta.id.0],
        )
        .unwrap()
        .iter()
        .map(|row| row.get::<_, f64>(0).to_bits())
        .collect();
    let expected: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    assert_eq!(stored, expected, "float8 via binary COPY keeps every bit");
    assert_same_series(&store.load_series(meta.id).unwrap(), &series, "reload");
}

/// Rust reference for the buckets (same layout rule as the backend).
fn reference(series: &Series, column: usize, buckets: usize) -> Vec<Bucket> {
    let ts = series.timestamps();
    let (first, last) = (ts[0].0, ts[ts.len() - 1].0);
    let width = ((last - first + 1) as u64).div_ceil(buckets as u64) as i64;
    let mut out: Vec<(i64, Vec<f64>, usize)> = Vec::new();
    for (t, &v) in ts.iter().zip(&series.columns()[column].values) {
        let b = (t.0 - first) / width;
        if out.last().is_none_or(|x| x.0 != b) {
            out.push((b, Vec::new(), 0));
        }
        let last = out.last_mut().unwrap();
        last.2 += 1;
        if !v.is_nan() {
            last.1.push(v);
        }
    }
    out.into_iter()
        .map(|(b, vals, rows)| Bucket {
            start: Timestamp(first + b * width),
            rows,
            min: vals.iter().copied().fold(f64::NAN, f64::min),
            max: vals.iter().copied().fold(f64::NAN, f64::max),
            mean: if vals.is_empty() {
                f64::NAN
            } else {
                vals.iter().sum::<f64>() / vals.len() as f64
            },
        })
        .collect()
}

fn assert_buckets_close(actual: &[Bucket], expected: &[Bucket], context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: bucket count");
    for (index, (got, want)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(
            (got.start, got.rows),
            (want.start, want.rows),
            "{context}: bucket {index}"
        );
        for (what, x, y) in [("min", got.min, want.min), ("max", got.max, want.max)] {
            assert!(
                (x.is_nan() && y.is_nan()) || x == y,
                "{context}: bucket {index} {what} {x} vs {y}"
            );
        }
        // Sums in another order round differently: compare to the bucket's magnitude.
        let scale = want
            .mean
            .abs()
            .max(want.min.abs())
            .max(want.max.abs())
            .max(1.0);
        let close = (got.mean.is_nan() && want.mean.is_nan())
            || (got.mean - want.mean).abs() <= 1e-9 * scale;
        assert!(
            close,
            "{context}: bucket {index} mean {} vs {}",
            got.mean, want.mean
        );
    }
}

/// A smooth series with NaN gaps, irregular steps, and a bucket of only NaNs.
fn plot_series(rows: usize) -> Series {
    let mut t = 1_000_000_000_000_i64;
    let mut ts = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows);
    for i in 0..rows {
        t += if i % 97 == 0 {
            5_000_000_000
        } else {
            1_000_000_000
        };
        ts.push(Timestamp(t));
        let v = if i % 13 == 0 || (200..230).contains(&i) {
            f64::NAN
        } else {
            (i as f64 * 0.01).sin() * 100.0 + i as f64 * 1e-3
        };
        values.push(v);
    }
    Series::new(
        ts,
        vec![Column::new("signal; DROP TABLE samples", values)],
        None,
    )
    .unwrap()
}

#[test]
fn downsample_matches_a_reference_with_nan_rules() {
    let db = database();
    let mut store = connect(db.url());
    let series = plot_series(20_000);
    let meta = store
        .put_dataset(&NewDataset::named("plot"), &series)
        .unwrap();
    for buckets in [1, 7, 500, 2000, 50_000] {
        let got = store
            .downsample(meta.id, "signal; DROP TABLE samples", buckets)
            .unwrap();
        assert!(
            got.len() <= buckets,
            "at most {buckets} buckets, got {}",
            got.len()
        );
        assert_eq!(
            got.iter().map(|b| b.rows).sum::<usize>(),
            series.len(),
            "all rows"
        );
        assert_buckets_close(&got, &reference(&series, 0, buckets), &format!("{buckets}"));
    }
    let all_nan = store
        .downsample(meta.id, "signal; DROP TABLE samples", 2000)
        .unwrap();
    assert!(
        all_nan.iter().any(|b| b.min.is_nan() && b.rows > 0),
        "a bucket of only NaNs has NaN min"
    );
    let unknown = store.downsample(meta.id, "nope", 10);
    assert!(
        matches!(unknown, Err(StorageError::InvalidRecord(_))),
        "{unknown:?}"
    );
    let zero = store.downsample(meta.id, "signal; DROP TABLE samples", 0);
    assert!(
        matches!(zero, Err(StorageError::InvalidRecord(_))),
        "{zero:?}"
    );
    let empty = store
        .put_dataset(&NewDataset::named("empty"), &plot_series(0))
        .unwrap();
    assert!(
        store
            .downsample(empty.id, "signal; DROP TABLE samples", 10)
            .unwrap()
            .is_empty(),
        "an empty dataset has no buckets"
    );
}

#[test]
fn extreme_time_spans_downsample_without_overflow() {
    let db = database();
    let mut store = connect(db.url());
    let series = Series::new(
        // Adjacent steps fit in i64 (the step statistics need that), the span does not.
        vec![Timestamp(i64::MIN), Timestamp(-2), Timestamp(i64::MAX - 2)],
        vec![Column::new("x", vec![1.0, 2.0, 3.0])],
        None,
    )
    .unwrap();
    let meta = store
        .put_dataset(&NewDataset::named("wide"), &series)
        .unwrap();
    let got = store.downsample(meta.id, "x", 2).unwrap();
    assert_eq!(got.iter().map(|b| b.rows).sum::<usize>(), 3, "{got:?}");
    assert_eq!(
        got[0].start,
        Timestamp(i64::MIN),
        "first bucket at the start"
    );
}

#[test]
fn mode_is_reported_and_timescale_is_used_when_present() {
    let db = database();
    let store = connect(db.url());
    if timescale_available(&db) {
        assert_eq!(
            store.mode(),
            PgMode::Timescale,
            "extension present → hypertable"
        );
        assert!(
            store.describe().starts_with("TimescaleDB at "),
            "{}",
            store.describe()
        );
        let hyper: bool = raw(&db)
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables \
                 WHERE hypertable_name = 'samples')",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(hyper, "samples is a hypertable");
    } else {
        eprintln!(
            "SKIPPED timescale-only part of mode_is_reported_and_timescale_is_used_when_present: \
             the timescaledb extension is not installed on this server; checked the plain \
             fallback instead"
        );
        assert_eq!(store.mode(), PgMode::Plain, "no extension → plain tables");
        assert!(
            store
                .describe()
                .starts_with("PostgreSQL (plain tables) at "),
            "{}",
            store.describe()
        );
        let brin: bool = raw(&db)
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'samples_by_time' \
                 AND indexdef LIKE '%brin%')",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(brin, "plain mode indexes time with BRIN");
    }
    let plain_db = database();
    let plain = PostgresStorage::connect_plain(plain_db.url()).unwrap();
    assert_eq!(plain.mode(), PgMode::Plain, "plain can be forced");
}

#[test]
fn timescale_and_plain_downsample_agree() {
    let ts_db = database();
    if !timescale_available(&ts_db) {
        eprintln!(
            "SKIPPED timescale_and_plain_downsample_agree: the timescaledb extension is not \
             installed on this server (nothing compared; see downsample_matches_a_reference \
             for the plain mode)"
        );
        return;
    }
    let plain_db = database();
    let mut hyper = connect(ts_db.url());
    let mut plain = PostgresStorage::connect_plain(plain_db.url()).unwrap();
    let series = plot_series(5_000);
    let a = hyper.put_dataset(&NewDataset::named("p"), &series).unwrap();
    let b = plain.put_dataset(&NewDataset::named("p"), &series).unwrap();
    let col = "signal; DROP TABLE samples";
    let x = hyper.downsample(a.id, col, 300).unwrap();
    let y = plain.downsample(b.id, col, 300).unwrap();
    assert_buckets_close(&x, &y, "time_bucket vs floor division");
}

#[test]
fn hostile_job_and_run_text_is_data() {
    let db = database();
    let mut store = connect(db.url());
    let meta = store
        .put_dataset(
            &NewDataset::named("x'); DROP TABLE jobs; --"),
            &sample_series(3, 1, false, 1),
        )
        .unwrap();
    let hostile = "'); DELETE FROM datasets; SELECT ('";
    let job = store
        .put_job(&NewJob {
            dataset: meta.id,
            kind: hostile.to_owned(),
            spec_json: format!("{{\"name\": \"{hostile}\"}}"),
            status: RunStatus::Running,
            rows_total: 3,
            owner_pid: 1,
            created_ms: None,
            finished_ms: None,
        })
        .unwrap();
    store
        .update_job(
            job,
            &JobUpdate {
                error: Some("$1; DROP SCHEMA public CASCADE; --".to_owned()),
                ..JobUpdate::default()
            },
        )
        .unwrap();
    let run = store
        .put_run(&NewRun {
            dataset: meta.id,
            detector: hostile.to_owned(),
            params: anomdet::model::Params::default(),
            seed: u64::MAX,
            threshold_json: hostile.to_owned(),
            mode: "stream".to_owned(),
            status: RunStatus::Running,
            error: None,
            scores: vec![1.0; 3],
            predicted: vec![false; 3],
            metrics_json: "{}".to_owned(),
            fit_secs: f64::NAN,
            score_secs: 0.0,
            job: Some(job),
            created_ms: None,
        })
        .unwrap();
    assert_eq!(
        store.job(job).unwrap().kind,
        hostile,
        "job kind stored as text"
    );
    let record = store.run(run).unwrap();
    assert_eq!(record.summary.detector, hostile, "detector stored as text");
    assert_eq!(record.summary.seed, u64::MAX, "seed keeps all 64 bits");
    assert_eq!(store.list_datasets().unwrap().len(), 1, "datasets intact");
    let tables: i64 = raw(&db)
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name IN ('datasets', 'samples', 'series_chunk', 'runs', 'run_chunk', \
             'jobs', 'anomdet_schema')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 7, "every table still there");
}

#[test]
fn schema_version_is_recorded_and_a_newer_one_refused() {
    let db = database();
    drop(connect(db.url()));
    let mut client = raw(&db);
    let version: i64 = client
        .query_one("SELECT version FROM anomdet_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        version,
        PostgresStorage::schema_version(),
        "version recorded"
    );
    drop(connect(db.url())); // reconnecting to a current schema changes nothing
    client
        .execute("UPDATE anomdet_schema SET version = 999", &[])
        .unwrap();
    let err = PostgresStorage::connect(db.url()).unwrap_err();
    assert!(
        matches!(err, StorageError::SchemaTooNew { found: 999, .. }),
        "{err:?}"
    );
}

#[test]
fn concurrent_first_connections_create_the_schema_once() {
    let db = database();
    let url = db.url().clone();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let url = url.clone();
            std::thread::Builder::new()
                .name(format!("connect-{i}"))
                .spawn(move || PostgresStorage::connect(&url).map(|s| s.mode()))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
}

#[test]
fn unreachable_server_error_names_the_operation_and_hides_the_password() {
    let url =
        PgUrl::new("postgres://ann:topsecret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2");
    let err = PostgresStorage::connect(&url).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("connect to PostgreSQL failed"), "{text}");
    assert!(!text.contains("topsecret"), "{text}");
    assert!(!format!("{url:?}").contains("topsecret"), "debug redacts");
}

#[test]
fn connection_loss_is_reported_and_the_next_call_reconnects() {
    let db = database();
    let mut store = connect(db.url());
    let series = sample_series(100, 2, true, 3);
    let meta = store
        .put_dataset(&NewDataset::named("kept"), &series)
        .unwrap();
    let pid = store.backend_pid().unwrap();
    let ended: bool = raw(&db)
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(ended, "the session was ended");
    let lost = store.put_dataset(&NewDataset::named("during loss"), &series);
    match &lost {
        Err(StorageError::Backend { op, message }) => {
            assert_eq!(*op, "store a dataset", "the operation is named");
            assert!(
                message.contains("connection to the server was lost"),
                "{message}"
            );
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    assert_eq!(store.reconnects(), 0, "no reconnect yet");
    let names: Vec<String> = store
        .list_datasets()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        names,
        ["kept"],
        "reconnected; nothing half-written, nothing lost"
    );
    assert_eq!(store.reconnects(), 1, "one reconnect");
    assert_same_series(
        &store.load_series(meta.id).unwrap(),
        &series,
        "after reconnect",
    );
    assert_ne!(store.backend_pid().unwrap(), pid, "a new session");
}

#[test]
fn loss_in_the_middle_of_a_bulk_write_leaves_no_partial_dataset() {
    let db = database();
    let mut store = connect(db.url());
    let pid = store.backend_pid().unwrap();
    let url = db.url().clone();
    // A second session waits until the first is copying samples, then ends it.
    let killer = std::thread::Builder::new()
        .name("terminator".to_owned())
        .spawn(move || {
            let mut admin = postgres::Client::connect(url.secret_url(), postgres::NoTls).unwrap();
            for _ in 0..2000 {
                let copying: bool = admin
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 \
                         AND query LIKE 'COPY samples%')",
                        &[&pid],
                    )
                    .unwrap()
                    .get(0);
                if copying {
                    admin
                        .execute("SELECT pg_terminate_backend($1)", &[&pid])
                        .unwrap();
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            false
        })
        .unwrap();
    let big = sample_series(1_500_000, 1, true, 9);
    let result = store.put_dataset(&NewDataset::named("big"), &big);
    let caught_copy = killer.join().unwrap();
    if caught_copy {
        assert!(result.is_err(), "the write saw the loss");
    }
    assert!(
        caught_copy,
        "the COPY was caught and ended (it ran: {result:?})"
    );
    assert!(
        store.list_datasets().unwrap().is_empty(),
        "no partial dataset"
    );
    let leftover: i64 = raw(&db)
        .query_one("SELECT count(*) FROM samples", &[])
        .unwrap()
        .get(0);
    assert_eq!(leftover, 0, "no orphan samples");
}

/// The old raw aggregate over `samples` (every row read), as the reference for the block
/// summaries: same bucket rule, NaN rules and row counts.
fn raw_buckets(
    db: &anomdet::storage::PgTestDatabase,
    id: i64,
    width: i64,
    origin: i64,
) -> Vec<Bucket> {
    raw(db)
        .query(
            "SELECT (ts - $3) / $2 AS b, count(*), \
             min(value) FILTER (WHERE value <> 'NaN'::float8), \
             max(value) FILTER (WHERE value <> 'NaN'::float8), \
             avg(value) FILTER (WHERE value <> 'NaN'::float8) \
             FROM samples WHERE dataset_id = $1 AND column_idx = 1 GROUP BY b ORDER BY b",
            &[&id, &width, &origin],
        )
        .unwrap()
        .iter()
        .map(|row| Bucket {
            start: Timestamp(origin + row.get::<_, i64>(0) * width),
            rows: row.get::<_, i64>(1) as usize,
            min: row.get::<_, Option<f64>>(2).unwrap_or(f64::NAN),
            max: row.get::<_, Option<f64>>(3).unwrap_or(f64::NAN),
            mean: row.get::<_, Option<f64>>(4).unwrap_or(f64::NAN),
        })
        .collect()
}

#[test]
fn block_summaries_give_the_raw_query_s_buckets_on_random_data() {
    let db = database();
    let mut store = connect(db.url());
    // Seeded xorshift: random steps (duplicates included), values with NaN runs, a ragged
    // last block (rows not a multiple of 64), and a second column to stay out of.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let rows = 64 * 157 + 23;
    let mut t = -5_000_000_000_i64;
    let (mut ts, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rows {
        t += (next() % 4) as i64 * 250_000_000;
        ts.push(Timestamp(t));
        a.push(i as f64);
        let r = next();
        b.push(if r % 17 == 0 || (3000..3100).contains(&i) {
            f64::NAN
        } else {
            (r >> 11) as f64 / (1u64 << 53) as f64 * 2e6 - 1e6
        });
    }
    let series = Series::new(ts, vec![Column::new("a", a), Column::new("b", b)], None).unwrap();
    let meta = store
        .put_dataset(&NewDataset::named("random"), &series)
        .unwrap();
    let (start, end) = (meta.start.unwrap().0, meta.end.unwrap().0);
    for buckets in [1, 3, 64, 157, 999, 2000, 7919, rows * 2] {
        let got = store.downsample(meta.id, "b", buckets).unwrap();
        let width = ((end - start + 1) as u64).div_ceil(buckets as u64) as i64;
        let context = format!("{buckets} buckets");
        assert_buckets_close(&got, &raw_buckets(&db, meta.id.0, width, start), &context);
        assert_buckets_close(&got, &reference(&series, 1, buckets), &context);
    }
}
