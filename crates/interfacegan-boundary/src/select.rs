//! The official sample selection of `train_boundary`: sort by score, take the top and bottom
//! `chosen` rows, shuffle and split each side into training and validation; the middle rows form the
//! "remaining" set.

use rand::SeedableRng;
use rand::rngs::ChaCha12Rng;
use rand::seq::SliceRandom;

use crate::BoundaryError;

/// Which input rows go where, with their labels (true = positive = high score).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Split {
    /// Rows per side: `min(int(N r) or int(r), N / 2)` of the valid rows.
    pub chosen_per_side: usize,
    /// Training rows: the positives' share first, then the negatives'.
    pub train: Vec<usize>,
    /// Number of positive rows at the head of `train`.
    pub train_positives: usize,
    /// Validation rows: positives first, then negatives.
    pub val: Vec<usize>,
    /// Number of positive rows at the head of `val`.
    pub val_positives: usize,
    /// The middle rows, in row order.
    pub remaining: Vec<usize>,
    /// Remaining rows are labelled positive when their score is at least this: the midpoint of
    /// the highest and lowest valid scores, as upstream does.
    pub remaining_threshold: f32,
    /// Rows dropped because their score equals the invalid value.
    pub invalid: usize,
}

/// Number of rows per side for `chosen_num_or_ratio` on `valid` rows, as upstream computes it.
pub fn chosen_count(valid: usize, chosen_num_or_ratio: f64) -> Result<usize, BoundaryError> {
    if !(chosen_num_or_ratio.is_finite() && chosen_num_or_ratio > 0.0) {
        return Err(BoundaryError::InvalidChosenNumOrRatio(chosen_num_or_ratio));
    }
    let chosen = if chosen_num_or_ratio <= 1.0 {
        (valid as f64 * chosen_num_or_ratio) as usize
    } else {
        chosen_num_or_ratio as usize
    };
    Ok(chosen.min(valid / 2))
}

/// A key whose ascending order is the descending `f32::total_cmp` order of the scores.
fn descending_key(score: f32) -> u32 {
    let bits = score.to_bits();
    // `total_cmp`'s trick: flip the magnitude bits of negatives, so that the bits order as i32.
    let ordered = (bits ^ (((bits as i32 >> 31) as u32) >> 1)) ^ 0x8000_0000;
    !ordered
}

/// Splits rows by `scores` with the official rules. `seed` drives the two shuffles that upstream
/// leaves unseeded.
pub fn split_samples(
    scores: &[f32],
    chosen_num_or_ratio: f64,
    split_ratio: f64,
    invalid_value: Option<f32>,
    seed: u64,
) -> Result<Split, BoundaryError> {
    if !(0.0..=1.0).contains(&split_ratio) {
        return Err(BoundaryError::InvalidSplitRatio(split_ratio));
    }
    // Each valid row as (score key, row): ordering the pairs orders the rows by score descending
    // (`f32::total_cmp`), ties by row, without a look-up into `scores` per comparison.
    let mut order: Vec<(u32, usize)> = Vec::with_capacity(scores.len());
    let mut invalid = 0;
    for (i, &s) in scores.iter().enumerate() {
        if invalid_value.is_some_and(|v| v == s || (v.is_nan() && s.is_nan())) {
            invalid += 1;
        } else if !s.is_finite() {
            return Err(BoundaryError::NonFiniteScore { row: i, value: s });
        } else {
            order.push((descending_key(s), i));
        }
    }
    let valid = order.len();
    let chosen = chosen_count(valid, chosen_num_or_ratio)?;
    if chosen == 0 {
        return Err(BoundaryError::NothingChosen { valid, chosen_num_or_ratio });
    }
    // Only the two ends need ordering: partition in linear time, then sort each end by
    // (score descending, row) so that the split is reproducible whatever the partition did.
    if valid > chosen {
        order.select_nth_unstable(chosen - 1);
        order[chosen..].select_nth_unstable(valid - 2 * chosen);
    }
    order[..chosen].sort_unstable();
    order[valid - chosen..].sort_unstable();
    let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    let (max, min) = (scores[order[0]], scores[order[valid - 1]]);
    let (lowest_positive, highest_negative) = (scores[order[chosen - 1]], scores[order[valid - chosen]]);
    if lowest_positive <= highest_negative {
        return Err(BoundaryError::ScoresOverlap { chosen, score: lowest_positive, min, max });
    }
    // In row order (so the remaining pass reads the code file sequentially), by a mask rather
    // than a sort: linear in the rows.
    let mut in_middle = vec![false; scores.len()];
    order[chosen..valid - chosen].iter().for_each(|&i| in_middle[i] = true);
    let remaining: Vec<usize> = (0..scores.len()).filter(|&i| in_middle[i]).collect();
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let mut positive = order[..chosen].to_vec();
    let mut negative = order[valid - chosen..].to_vec();
    positive.shuffle(&mut rng);
    negative.shuffle(&mut rng);
    let train_num = (chosen as f64 * split_ratio) as usize;
    let train = [&positive[..train_num], &negative[..train_num]].concat();
    let val = [&positive[train_num..], &negative[train_num..]].concat();
    Ok(Split {
        chosen_per_side: chosen,
        train,
        train_positives: train_num,
        val,
        val_positives: chosen - train_num,
        remaining,
        remaining_threshold: (max + min) / 2.0,
        invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_that_do_not_separate_the_sides_are_refused() {
        let err = split_samples(&[0.5; 100], 0.1, 0.7, None, 0).unwrap_err().to_string();
        assert!(err.contains("overlap") && err.contains("0.5"), "{err}");
        // Half ones, half zeros: the sides are apart even with ties inside each side.
        let binary: Vec<f32> = (0..100).map(|i| (i % 2) as f32).collect();
        assert!(split_samples(&binary, 0.5, 0.7, None, 0).is_ok());
        let mostly_zero: Vec<f32> = (0..100).map(|i| f32::from(i < 10)).collect();
        assert!(split_samples(&mostly_zero, 0.2, 0.7, None, 0).is_err(), "the top 20 include zeros");
    }

    #[test]
    fn chosen_follows_upstream() {
        assert_eq!(chosen_count(500_000, 0.02).unwrap(), 10_000);
        assert_eq!(chosen_count(100, 0.02).unwrap(), 2);
        assert_eq!(chosen_count(100, 30.0).unwrap(), 30);
        assert_eq!(chosen_count(100, 80.0).unwrap(), 50, "capped at N / 2");
        assert_eq!(chosen_count(101, 1.0).unwrap(), 50);
        assert!(chosen_count(100, 0.0).is_err());
        assert!(chosen_count(100, -1.0).is_err());
    }

    #[test]
    fn split_takes_top_and_bottom() {
        let scores: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let s = split_samples(&scores, 0.1, 0.7, None, 1).unwrap();
        assert_eq!(s.chosen_per_side, 10);
        assert_eq!((s.train.len(), s.train_positives), (14, 7));
        assert_eq!((s.val.len(), s.val_positives), (6, 3));
        assert!(s.train[..7].iter().chain(&s.val[..3]).all(|&i| i >= 90));
        assert!(s.train[7..].iter().chain(&s.val[3..]).all(|&i| i < 10));
        assert_eq!(s.remaining.len(), 80);
        assert_eq!((s.remaining[0], s.remaining[79]), (10, 89));
        assert_eq!(s.remaining_threshold, 49.5);
        let again = split_samples(&scores, 0.1, 0.7, None, 1).unwrap();
        assert_eq!(s, again, "seeded");
        let other = split_samples(&scores, 0.1, 0.7, None, 2).unwrap();
        assert_ne!(s.train, other.train);
    }

    #[test]
    fn descending_key_orders_like_total_cmp() {
        let mut values = vec![
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            f32::MAX,
            f32::MIN,
            0.5,
            -0.5,
            3.25,
            -3.25,
        ];
        let mut by_key = values.clone();
        by_key.sort_by_key(|&v| descending_key(v));
        values.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(
            by_key.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn ties_are_ordered_by_row() {
        let scores = [1.0f32, 2.0, 2.0, 0.0, 0.0, 1.0];
        // One row a side: of two equal top scores the lower row, of two equal bottom scores the
        // higher row (the last in descending order).
        let s = split_samples(&scores, 1.5, 1.0, None, 0).unwrap();
        assert_eq!((s.train.as_slice(), s.train_positives), ([1, 4].as_slice(), 1));
        assert_eq!(s.remaining, [0, 2, 3, 5]);
    }

    #[test]
    fn invalid_rows_are_dropped_and_nan_rejected() {
        let scores = [0.0f32, -1.0, 5.0, -1.0, 3.0, 1.0];
        let s = split_samples(&scores, 1.0, 0.5, Some(-1.0), 0).unwrap();
        assert_eq!(s.invalid, 2);
        assert_eq!(s.chosen_per_side, 2);
        assert!(!s.train.contains(&1) && !s.val.contains(&3));
        let err = split_samples(&[0.0, f32::NAN, 1.0], 0.5, 0.7, None, 0).unwrap_err();
        assert!(err.to_string().contains("row 1"));
        assert!(split_samples(&scores, 0.02, 1.5, None, 0).is_err());
        assert!(split_samples(&[1.0], 0.5, 0.7, None, 0).is_err());
    }
}
