//! Projecting a search's final size from the BFS levels seen so far.
//!
//! BFS level sizes of a finite state space rise, peak and fall. In the models run here the
//! growth ratio from one level to the next, `r_i = L_i / L_(i-1)`, falls steadily with depth
//! (more of each level's successors are states seen before), so `ln r_i` is fitted by a
//! straight line `a + b*i` over the last few levels (a least-squares fit) and the line is
//! followed forward: level `i + 1` is level `i` times `exp(a + b*(i + 1))`, until a level
//! holds less than half a state. This is a log-quadratic (Gaussian-shaped) profile of level
//! sizes. It cannot see the future: a model whose levels fall off a cliff, or grow again after
//! a lull, is projected wrongly, and before the growth has started to slow (`b >= 0`) there is
//! no projection at all. The README gives the errors measured on the shipped scenarios.

/// What [`project`] predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Projected distinct states in all (levels seen plus levels projected).
    pub total: f64,
    /// Projected number of levels (depth + 1).
    pub levels: usize,
    /// States in the levels seen (the ones the fit used are complete).
    pub seen: u64,
}

/// Why there is no projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoProjection {
    /// Fewer than [`MIN_RATIOS`] levels past the first few tiny ones.
    TooFewLevels,
    /// The growth ratio is not falling yet: the peak cannot be placed.
    StillAccelerating,
}

impl std::fmt::Display for NoProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoProjection::TooFewLevels => "too few levels yet",
            NoProjection::StillAccelerating => "level growth is not slowing yet",
        })
    }
}

/// Levels smaller than this are left out of the fit (their ratios are noise: 1 -> 3 -> 7).
const MIN_LEVEL: u64 = 16;
/// Ratios needed for a fit.
pub const MIN_RATIOS: usize = 3;
/// Ratios fitted (the most recent ones: the trend changes with depth).
const WINDOW: usize = 6;
/// Levels projected at most.
const MAX_LEVELS: usize = 100_000;

/// Projects the final state count from the sizes of complete BFS levels `sizes[0..]`.
/// A finished search (whose last level had no new successor) is known exactly: pass it as
/// such and read `seen`; this function always extrapolates.
pub fn project(sizes: &[u64]) -> Result<Projection, NoProjection> {
    let seen: u64 = sizes.iter().sum();
    let points: Vec<(f64, f64)> = sizes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] >= MIN_LEVEL && w[1] > 0)
        .map(|(i, w)| ((i + 1) as f64, (w[1] as f64 / w[0] as f64).ln()))
        .collect();
    if points.len() < MIN_RATIOS {
        return Err(NoProjection::TooFewLevels);
    }
    let fit = &points[points.len().saturating_sub(WINDOW)..];
    let (a, b) = least_squares(fit);
    if b >= 0.0 {
        return Err(NoProjection::StillAccelerating);
    }
    let mut total = seen as f64;
    let mut level = *sizes.last().unwrap_or(&0) as f64;
    let mut i = sizes.len();
    while i < MAX_LEVELS {
        level *= (a + b * i as f64).exp();
        if level < 0.5 {
            break;
        }
        total += level;
        i += 1;
    }
    Ok(Projection { total, levels: i, seen })
}

/// The line `y = a + b*x` closest to `points` in least squares.
fn least_squares(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) =
        points.iter().fold((0.0, 0.0), |(sxy, sxx), &(x, y)| (sxy + (x - mx) * (y - my), sxx + (x - mx) * (x - mx)));
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels of an exact log-quadratic profile are projected to their own sum.
    #[test]
    fn gaussian_profile_is_recovered() {
        let sizes: Vec<u64> =
            (0..40).map(|i| (1e6 * (-((i as f64 - 20.0) / 6.0).powi(2)).exp()).round() as u64).collect();
        let total: u64 = sizes.iter().sum();
        let p = project(&sizes[..15]).unwrap();
        let err = (p.total - total as f64).abs() / total as f64;
        assert!(err < 0.02, "projected {} of {total}", p.total);
    }

    #[test]
    fn no_projection_without_slowing_growth() {
        let sizes: Vec<u64> = (0..12).map(|i| 1 << i).collect();
        assert_eq!(project(&sizes), Err(NoProjection::StillAccelerating));
        assert_eq!(project(&[1, 3, 9, 20]), Err(NoProjection::TooFewLevels));
    }
}
