//! [`NeuralDetector`]: the `Detector` shared by the LSTM autoencoder, the LSTM forecaster and the
//! convolutional forecaster.
//!
//! Fitting: a per-column scaler on the training rows; training samples (windows, evenly
//! subsampled to `max_train`) split chronologically 80/20; the network is trained with candle on
//! the first part; on the held-out 20% the detector learns, per column, the mean squared error
//! (so columns that are hard to predict do not dominate) and the 99th percentile of the row
//! score. Scores are divided by that percentile: **1.0 = the validation 99th percentile**, so a
//! threshold of 1 flags about 1% of normal data whatever its scale (the original flagged ~5%
//! whatever the data because it re-fitted its scaler on the scored data).
//!
//! Scoring never touches candle: see `cell.rs` for why batch and streaming are bit-identical.

use std::collections::HashMap;

use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use super::net::{Arch, Net, Scratch, Shape};
use super::train::{TrainConfig, train};
use crate::control::{CancelToken, Progress};
use crate::detect::learned::window::{Ring, Scaler, training_windows};
use crate::detect::persist::{self, Persist};
use crate::detect::{DetailedScores, DetectError, Detector, DetectorInfo};
use crate::model::{Row, Series};

/// Fraction of the training samples held out to learn the score normalisation.
const VALIDATION_FRACTION: f64 = 0.2;
/// Quantile of validation scores that maps to score 1.0.
const VALIDATION_QUANTILE: f64 = 0.99;
/// Windows scored together (the lanes of one block, see `cell.rs`).
const SCORE_BLOCK: usize = 64;
/// Safetensors metadata key holding the JSON header.
const HEADER_KEY: &str = "anomdet";

/// Sizes and training settings of a neural detector.
#[derive(Clone, Copy, Debug)]
pub struct NeuralConfig {
    /// Rows per input window.
    pub window: usize,
    /// LSTM hidden size, or channels per convolution.
    pub hidden: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// `AdamW` learning rate.
    pub learning_rate: f64,
    /// At most this many training samples (evenly spaced).
    pub max_train: usize,
    /// Autoencoder only: score on the last row's reconstruction instead of the whole window.
    pub last_only: bool,
}

/// Everything `fit` learns (what [`Persist`] saves, weights apart).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    detector: String,
    version: u32,
    shape: Shape,
    scaler: Scaler,
    column_scale: Vec<f64>,
    score_scale: f64,
    epoch_losses: Vec<f64>,
}

#[derive(Clone, Debug)]
struct Fitted {
    net: Net,
    header: Header,
}

impl Fitted {
    /// Turns a sample's per-column squared errors into its attribution; returns the score.
    fn normalise(&self, attribution: &mut [f64]) -> f64 {
        let h = &self.header;
        for (a, s) in attribution.iter_mut().zip(&h.column_scale) {
            *a /= s * h.score_scale;
        }
        attribution.iter().sum::<f64>() / attribution.len() as f64
    }

    /// Score and per-column attribution of one sample.
    fn score(&self, sample: &[f64], scratch: &mut Scratch, attribution: &mut [f64]) -> f64 {
        self.net.errors(sample, scratch, attribution);
        self.normalise(attribution)
    }
}

/// An LSTM autoencoder, LSTM forecaster or convolutional forecaster over windows (see module
/// docs).
#[derive(Debug)]
pub struct NeuralDetector {
    info: &'static DetectorInfo,
    arch: Arch,
    config: NeuralConfig,
    seed: u64,
    progress: Option<Progress>,
    fitted: Option<Fitted>,
    ring: Ring,
    sample: Vec<f64>,
    scratch: Scratch,
    attribution: Vec<f64>,
}

impl NeuralDetector {
    pub(crate) fn new(
        info: &'static DetectorInfo,
        arch: Arch,
        config: NeuralConfig,
        seed: u64,
    ) -> Self {
        let config = NeuralConfig {
            window: config.window.max(arch.min_window()),
            hidden: config.hidden.max(1),
            batch: config.batch.max(1),
            max_train: config.max_train.max(2),
            ..config
        };
        Self {
            info,
            arch,
            config,
            seed,
            progress: None,
            fitted: None,
            ring: Ring::default(),
            sample: Vec::new(),
            scratch: Scratch::default(),
            attribution: Vec::new(),
        }
    }

    /// Reports finished epochs (of the total) to `progress` during the next `fit`.
    pub fn set_progress(&mut self, progress: Progress) {
        self.progress = Some(progress);
    }

    /// Mean training loss of each epoch of the last fit (empty before).
    pub fn epoch_losses(&self) -> &[f64] {
        self.fitted.as_ref().map_or(&[], |f| &f.header.epoch_losses)
    }

    /// Per-column share of the last `update`'s score (NaN during warm-up; empty before fit).
    /// The row score is the mean of these values.
    pub fn last_attribution(&self) -> &[f64] {
        &self.attribution
    }

    /// Batch scores plus per-column attribution (`attribution[column][row]`), whose mean over
    /// columns is the score. Equal to folding `update` and `last_attribution` over the rows.
    pub fn score_with_attribution(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>), DetectError> {
        let id = self.info.id;
        let Self {
            fitted,
            ring,
            attribution: last_attribution,
            ..
        } = self;
        let fitted = fitted.as_ref().ok_or_else(|| persist::not_fitted(id))?;
        let scaler = &fitted.header.scaler;
        let d = series.columns().len();
        scaler.check_width(id, d, 0)?;
        let rows = series.len();
        let span = fitted.net.shape.span();
        let mut standardized = vec![0.0; rows * d];
        for (c, column) in series.columns().iter().enumerate() {
            for (t, &x) in column.values.iter().enumerate() {
                standardized[t * d + c] = scaler.scale(c, x);
            }
        }
        let mut scores = vec![f64::NAN; rows];
        let mut attribution = vec![f64::NAN; rows * d];
        if rows >= span {
            let first = span - 1;
            let threads = std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .clamp(1, 4);
            let chunk = (rows - first)
                .div_ceil(threads)
                .next_multiple_of(SCORE_BLOCK);
            let results: Vec<Result<(), DetectError>> = std::thread::scope(|scope| {
                let mut handles = Vec::new();
                let parts = scores[first..]
                    .chunks_mut(chunk)
                    .zip(attribution[first * d..].chunks_mut(chunk * d));
                for (k, (out, attr)) in parts.enumerate() {
                    let standardized = &standardized;
                    let start = first + k * chunk;
                    let work = move || -> Result<(), DetectError> {
                        let mut scratch = Scratch::default();
                        let blocks = out
                            .chunks_mut(SCORE_BLOCK)
                            .zip(attr.chunks_mut(SCORE_BLOCK * d));
                        for (b, (scores, attr)) in blocks.enumerate() {
                            if b % 16 == 0 && cancel.is_cancelled() {
                                return Err(DetectError::Cancelled);
                            }
                            // Window of row t starts at row t + 1 - span.
                            let first_start = start + b * SCORE_BLOCK + 1 - span;
                            let data = &standardized[first_start * d..];
                            fitted
                                .net
                                .errors_block(data, d, scores.len(), &mut scratch, attr);
                            for (score, a) in scores.iter_mut().zip(attr.chunks_exact_mut(d)) {
                                *score = fitted.normalise(a);
                            }
                        }
                        Ok(())
                    };
                    let handle = std::thread::Builder::new()
                        .name(format!("anomdet-score-{k}"))
                        .spawn_scoped(scope, work);
                    handles.push(handle);
                }
                handles
                    .into_iter()
                    .map(|h| match h {
                        Ok(h) => h.join().unwrap_or_else(|_| {
                            Err(persist::input_error(id, "scoring thread panicked".into()))
                        }),
                        Err(e) => Err(persist::input_error(
                            id,
                            format!("cannot start scoring thread: {e}"),
                        )),
                    })
                    .collect()
            });
            results
                .into_iter()
                .collect::<Result<Vec<()>, DetectError>>()?;
        }
        // Leave the streaming state where folding `update` would have left it.
        ring.clear();
        let mut buf = Vec::new();
        for t in rows.saturating_sub(span)..rows {
            if let Some(row) = series.row_into(t, &mut buf) {
                ring.push(scaler, row.values);
            }
        }
        *last_attribution = attribution[rows.saturating_sub(1) * d..].to_vec();
        let by_column = (0..d)
            .map(|c| attribution.iter().skip(c).step_by(d).copied().collect())
            .collect();
        Ok((scores, by_column))
    }

    fn fit_inner(
        &mut self,
        train_series: &Series,
        cancel: &CancelToken,
    ) -> Result<Fitted, DetectError> {
        let id = self.info.id;
        let scaler = Scaler::fit(train_series);
        let shape = Shape {
            arch: self.arch,
            window: self.config.window,
            columns: scaler.width(),
            hidden: self.config.hidden,
            last_only: self.config.last_only,
        };
        let span = shape.span();
        let (samples, n) = training_windows(
            train_series,
            &scaler,
            span,
            self.config.max_train,
            id,
            cancel,
        )?;
        let stride = span * shape.columns;
        let n_val = if n >= 5 {
            ((n as f64 * VALIDATION_FRACTION).round() as usize).max(1)
        } else {
            0
        };
        let n_train = n - n_val;
        let config = TrainConfig {
            epochs: self.config.epochs,
            batch: self.config.batch,
            learning_rate: self.config.learning_rate,
            seed: self.seed,
        };
        let (net, epoch_losses) = train(
            id,
            shape,
            config,
            &samples[..n_train * stride],
            n_train,
            cancel,
            self.progress.as_ref(),
        )?;
        // Too few samples for a hold-out: normalise on the training samples themselves.
        let validation = if n_val == 0 {
            &samples[..]
        } else {
            &samples[n_train * stride..]
        };
        let mut scratch = Scratch::default();
        let n_scored = validation.len() / stride;
        let mut flat = vec![0.0; n_scored * shape.columns];
        for (b, errors) in flat.chunks_mut(SCORE_BLOCK * shape.columns).enumerate() {
            if cancel.is_cancelled() {
                return Err(DetectError::Cancelled);
            }
            let n = errors.len() / shape.columns;
            let data = &validation[b * SCORE_BLOCK * stride..];
            net.errors_block(data, stride, n, &mut scratch, errors);
        }
        let per_sample: Vec<&[f64]> = flat.chunks_exact(shape.columns).collect();
        let count = per_sample.len().max(1) as f64;
        let column_scale: Vec<f64> = (0..shape.columns)
            .map(|c| (per_sample.iter().map(|e| e[c]).sum::<f64>() / count).max(1e-6))
            .collect();
        let mut rows: Vec<f64> = per_sample
            .iter()
            .map(|e| {
                e.iter().zip(&column_scale).map(|(x, s)| x / s).sum::<f64>() / shape.columns as f64
            })
            .collect();
        rows.sort_by(f64::total_cmp);
        let at = ((rows.len().saturating_sub(1)) as f64 * VALIDATION_QUANTILE).round() as usize;
        let score_scale = rows
            .get(at)
            .copied()
            .filter(|q| q.is_finite() && *q > 1e-9)
            .unwrap_or(1.0);
        let header = Header {
            detector: id.to_owned(),
            version: persist::STATE_VERSION,
            shape,
            scaler,
            column_scale,
            score_scale,
            epoch_losses,
        };
        Ok(Fitted { net, header })
    }

    fn install(&mut self, fitted: Fitted) {
        let shape = fitted.net.shape;
        self.ring = Ring::new(shape.span(), shape.columns);
        self.attribution = vec![f64::NAN; shape.columns];
        self.config.window = shape.window;
        self.config.hidden = shape.hidden;
        self.config.last_only = shape.last_only;
        self.fitted = Some(fitted);
    }
}

impl Detector for NeuralDetector {
    fn info(&self) -> &'static DetectorInfo {
        self.info
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        let fitted = self.fit_inner(train, cancel)?;
        self.install(fitted);
        Ok(())
    }

    fn reset(&mut self) {
        self.ring.clear();
        self.attribution.iter_mut().for_each(|a| *a = f64::NAN);
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        let fitted = self
            .fitted
            .as_ref()
            .ok_or_else(|| persist::not_fitted(self.info.id))?;
        fitted
            .header
            .scaler
            .check_width(self.info.id, row.values.len(), row.index)?;
        self.ring.push(&fitted.header.scaler, row.values);
        if !self.ring.is_full() {
            self.attribution.iter_mut().for_each(|a| *a = f64::NAN);
            return Ok(f64::NAN);
        }
        self.ring.copy_into(&mut self.sample);
        Ok(fitted.score(&self.sample, &mut self.scratch, &mut self.attribution))
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.score_with_attribution(series, cancel)
            .map(|(scores, _)| scores)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(self.config.window + self.arch.extra_rows() - 1)
    }

    fn column_scores(&self) -> Option<&[f64]> {
        (!self.attribution.is_empty()).then_some(&self.attribution[..])
    }

    fn score_series_detailed(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<DetailedScores, DetectError> {
        let (scores, columns) = self.score_with_attribution(series, cancel)?;
        Ok(DetailedScores {
            scores,
            columns: Some(columns),
        })
    }

    fn as_persist(&mut self) -> Option<&mut dyn Persist> {
        Some(self)
    }
}

impl Persist for NeuralDetector {
    fn save_state(&self) -> Result<Vec<u8>, DetectError> {
        let fitted = self
            .fitted
            .as_ref()
            .ok_or_else(|| persist::not_fitted(self.info.id))?;
        let header = serde_json::to_string(&fitted.header)
            .map_err(|e| persist::input_error(self.info.id, e.to_string()))?;
        let metadata = HashMap::from([(HEADER_KEY.to_owned(), header)]);
        fitted
            .net
            .to_safetensors(metadata)
            .map_err(|e| persist::input_error(self.info.id, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), DetectError> {
        let id = self.info.id;
        let bad = |e: String| {
            persist::input_error(id, format!("not a saved model of this detector: {e}"))
        };
        let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let header_json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(HEADER_KEY))
            .ok_or_else(|| bad("no anomdet header".to_owned()))?;
        let header: Header = serde_json::from_str(header_json).map_err(|e| bad(e.to_string()))?;
        persist::check_header(id, &header.detector, header.version)?;
        let shape = header.shape;
        if shape.arch != self.arch
            || shape.window < shape.arch.min_window()
            || shape.columns != header.scaler.width()
            || header.column_scale.len() != shape.columns
        {
            return Err(bad("inconsistent shapes in the header".to_owned()));
        }
        let file = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let net = Net::from_safetensors(shape, &file).map_err(bad)?;
        self.install(Fitted { net, header });
        Ok(())
    }
}
