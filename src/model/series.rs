//! [`Series`]: timestamps plus named `f64` columns plus optional per-row ground truth.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Timestamp;

/// One named column of values. `NaN` marks a missing measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name as it appeared in the source (unique within a series).
    pub name: String,
    /// One value per row.
    pub values: Vec<f64>,
}

impl Column {
    /// A column from a name and its values.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }
}

/// Why a [`Series`] could not be built: the shape invariants were broken.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShapeError {
    /// A column's length differs from the number of timestamps.
    #[error("column {column:?} has {len} values but the series has {rows} timestamps")]
    ColumnLength {
        /// Column name.
        column: String,
        /// Its length.
        len: usize,
        /// Number of timestamps.
        rows: usize,
    },
    /// The label vector's length differs from the number of timestamps.
    #[error("labels have {len} entries but the series has {rows} timestamps")]
    LabelLength {
        /// Length of the label vector.
        len: usize,
        /// Number of timestamps.
        rows: usize,
    },
    /// Timestamps go backwards at some row.
    #[error("timestamps are not sorted: row {row} is earlier than row {}", row - 1)]
    Unsorted {
        /// The first row whose timestamp is smaller than its predecessor's.
        row: usize,
    },
    /// Two columns share a name.
    #[error("column name {0:?} appears twice")]
    DuplicateColumn(String),
    /// A series needs at least one value column.
    #[error("a series needs at least one value column")]
    NoColumns,
}

/// A multivariate time series, column-major like Arrow and polars.
///
/// Invariants (checked by [`Series::new`], so code holding a `Series` can trust them):
/// every column and the labels have one entry per timestamp; timestamps never decrease
/// (duplicates are allowed and kept); column names are unique; there is at least one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    timestamps: Vec<Timestamp>,
    columns: Vec<Column>,
    labels: Option<Vec<bool>>,
}

/// One row as streaming code sees it: a timestamp and one value per column.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    /// Position of the row in its series.
    pub index: usize,
    /// When the row was measured.
    pub ts: Timestamp,
    /// One value per column, in column order.
    pub values: &'a [f64],
}

impl Series {
    /// Builds a series, checking the shape invariants.
    pub fn new(
        timestamps: Vec<Timestamp>,
        columns: Vec<Column>,
        labels: Option<Vec<bool>>,
    ) -> Result<Self, ShapeError> {
        if columns.is_empty() {
            return Err(ShapeError::NoColumns);
        }
        let rows = timestamps.len();
        for (i, column) in columns.iter().enumerate() {
            if column.values.len() != rows {
                return Err(ShapeError::ColumnLength {
                    column: column.name.clone(),
                    len: column.values.len(),
                    rows,
                });
            }
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(ShapeError::DuplicateColumn(column.name.clone()));
            }
        }
        if let Some(labels) = &labels
            && labels.len() != rows
        {
            return Err(ShapeError::LabelLength {
                len: labels.len(),
                rows,
            });
        }
        if let Some(row) = timestamps.windows(2).position(|w| w[1] < w[0]) {
            return Err(ShapeError::Unsorted { row: row + 1 });
        }
        Ok(Self {
            timestamps,
            columns,
            labels,
        })
    }

    /// A univariate series with row `i` at `i` seconds after the epoch; handy for tests and
    /// benches.
    pub fn from_values(name: &str, values: Vec<f64>) -> Self {
        let timestamps = (0..values.len() as i64)
            .map(|i| Timestamp(i * Timestamp::NANOS_PER_SEC))
            .collect();
        Self {
            timestamps,
            columns: vec![Column::new(name, values)],
            labels: None,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Row timestamps, non-decreasing.
    pub fn timestamps(&self) -> &[Timestamp] {
        &self.timestamps
    }

    /// The value columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column names in order.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Per-row ground truth (`true` = anomalous), when the source had a label column.
    pub fn labels(&self) -> Option<&[bool]> {
        self.labels.as_deref()
    }

    /// Replaces the ground truth; errors when the length is wrong.
    pub fn set_labels(&mut self, labels: Option<Vec<bool>>) -> Result<(), ShapeError> {
        if let Some(l) = &labels
            && l.len() != self.len()
        {
            return Err(ShapeError::LabelLength {
                len: l.len(),
                rows: self.len(),
            });
        }
        self.labels = labels;
        Ok(())
    }

    /// Mutable access to the column values (shape cannot change through it), for injectors.
    pub fn values_mut(&mut self, column: usize) -> Option<&mut [f64]> {
        self.columns
            .get_mut(column)
            .map(|c| c.values.as_mut_slice())
    }

    /// Number of rows labelled anomalous (0 without labels).
    pub fn label_count(&self) -> usize {
        self.labels
            .as_ref()
            .map_or(0, |l| l.iter().filter(|&&b| b).count())
    }

    /// Median spacing between consecutive distinct timestamps, in nanoseconds. A step wider
    /// than `i64::MAX` (timestamps at both ends of the range) saturates instead of wrapping.
    pub fn median_step_ns(&self) -> Option<i64> {
        let mut steps: Vec<i64> = self
            .timestamps
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].0))
            .filter(|&d| d > 0)
            .collect();
        if steps.is_empty() {
            return None;
        }
        let mid = steps.len() / 2;
        let (_, median, _) = steps.select_nth_unstable(mid);
        Some(*median)
    }

    /// Copies row `index` into `buf` (one value per column) and returns it as a [`Row`].
    /// Returns `None` past the end.
    pub fn row_into<'a>(&self, index: usize, buf: &'a mut Vec<f64>) -> Option<Row<'a>> {
        let ts = *self.timestamps.get(index)?;
        buf.clear();
        buf.extend(self.columns.iter().map(|c| c.values[index]));
        Some(Row {
            index,
            ts,
            values: buf.as_slice(),
        })
    }

    /// A new series keeping only the named columns (in the given order) and the labels.
    pub fn select_columns(&self, names: &[String]) -> Result<Self, String> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let column = self
                .column(name)
                .ok_or_else(|| format!("unknown column {name:?}"))?;
            columns.push(column.clone());
        }
        Self::new(self.timestamps.clone(), columns, self.labels.clone()).map_err(|e| e.to_string())
    }

    /// Consumes the series into its parts.
    pub fn into_parts(self) -> (Vec<Timestamp>, Vec<Column>, Option<Vec<bool>>) {
        (self.timestamps, self.columns, self.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(v: &[i64]) -> Vec<Timestamp> {
        v.iter().copied().map(Timestamp).collect()
    }

    #[test]
    fn rejects_length_mismatch() {
        let err = Series::new(ts(&[1, 2]), vec![Column::new("a", vec![1.0])], None).unwrap_err();
        assert!(matches!(
            err,
            ShapeError::ColumnLength {
                len: 1,
                rows: 2,
                ..
            }
        ));
    }

    #[test]
    fn rejects_unsorted_and_accepts_duplicates() {
        let col = || vec![Column::new("a", vec![1.0, 2.0, 3.0])];
        assert_eq!(
            Series::new(ts(&[1, 3, 2]), col(), None).unwrap_err(),
            ShapeError::Unsorted { row: 2 }
        );
        assert!(Series::new(ts(&[1, 1, 2]), col(), None).is_ok());
    }

    #[test]
    fn rejects_duplicate_names_and_no_columns() {
        let dup = vec![Column::new("a", vec![1.0]), Column::new("a", vec![2.0])];
        assert!(matches!(
            Series::new(ts(&[1]), dup, None),
            Err(ShapeError::DuplicateColumn(_))
        ));
        assert_eq!(
            Series::new(ts(&[]), vec![], None),
            Err(ShapeError::NoColumns)
        );
    }

    #[test]
    fn median_step_ignores_duplicates() {
        let s = Series::new(
            ts(&[0, 10, 10, 20, 35]),
            vec![Column::new("a", vec![0.0; 5])],
            None,
        )
        .unwrap();
        assert_eq!(s.median_step_ns(), Some(10));
    }

    #[test]
    fn median_step_saturates_across_the_whole_range() {
        let s = Series::new(
            ts(&[i64::MIN, 0]),
            vec![Column::new("a", vec![0.0; 2])],
            None,
        )
        .unwrap();
        assert_eq!(s.median_step_ns(), Some(i64::MAX));
    }

    #[test]
    fn row_view_reads_all_columns() {
        let s = Series::new(
            ts(&[5, 6]),
            vec![
                Column::new("a", vec![1.0, 2.0]),
                Column::new("b", vec![3.0, 4.0]),
            ],
            Some(vec![false, true]),
        )
        .unwrap();
        let mut buf = Vec::new();
        let row = s.row_into(1, &mut buf).unwrap();
        assert_eq!(row.values, &[2.0, 4.0]);
        assert_eq!(row.ts, Timestamp(6));
        assert_eq!(s.label_count(), 1);
        assert!(s.row_into(2, &mut buf).is_none());
    }
}
