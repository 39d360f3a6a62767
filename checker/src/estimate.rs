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

    // BFS level sizes of exhaustive runs (`check NAME --no-liveness --json`, "level_sizes"),
    // 2026-12-07: the data the README's table of projection errors comes from.
    const DEFAULT: &[u64] = &[
        1, 5, 20, 60, 161, 375, 781, 1486, 2619, 4292, 6699, 10207, 15542, 23387, 34380, 48766, 66889, 89181, 117569,
        154323, 199987, 253272, 310321, 365487, 411423, 441268, 449944, 435283, 398123, 342391, 274751, 204707, 142101,
        92406, 56776, 33359, 18802, 9961, 4760, 2014, 732, 224, 51, 6,
    ];
    const LARGE: &[u64] = &[
        1, 6, 29, 105, 323, 842, 1872, 3635, 6304, 10297, 16198, 24794, 37204, 54817, 79528, 113448, 158868, 216523,
        286955, 372015, 475229, 604597, 769754, 975260, 1216528, 1478357, 1738037, 1972817, 2165099, 2301579, 2368632,
        2351571, 2234699, 2020245, 1730381, 1400838, 1075863, 787173, 550451, 365500, 231850, 142364, 83842, 46302,
        24214, 12387, 6319, 3025, 1331, 556, 202, 68, 16,
    ];
    const FORK: &[u64] = &[1, 3, 11, 31, 78, 168, 303, 469, 680, 853, 923, 889, 774, 566, 295, 119, 33, 4];
    const SYSCALL: &[u64] = &[1, 4, 17, 60, 150, 267, 390, 480, 521, 511, 472, 467, 492, 488, 393, 235, 96, 24, 5];
    const HISTORY_FORK: &[u64] = &[1, 3, 8, 18, 38, 74, 106, 133, 136, 111, 77, 40, 20, 10, 5, 2];

    /// Relative error (percent) of the projection from levels `0..=d`, for the first `d` at
    /// which at least `frac` of all states are in those levels.
    fn error_at(sizes: &[u64], frac: f64) -> (usize, Option<f64>) {
        let total: u64 = sizes.iter().sum();
        let mut seen = 0;
        let d = sizes.iter().position(|&l| {
            seen += l;
            seen as f64 >= frac * total as f64
        });
        let d = d.unwrap_or(sizes.len() - 1);
        (d, project(&sizes[..=d]).ok().map(|p| 100.0 * (p.total - total as f64) / total as f64))
    }

    /// The README's table (run with --nocapture to print it), and a few of its cells pinned.
    #[test]
    fn measured_errors_on_shipped_scenarios() {
        const FRACS: [f64; 6] = [0.05, 0.1, 0.2, 0.35, 0.5, 0.7];
        for (name, sizes) in [
            ("default", DEFAULT),
            ("large", LARGE),
            ("fork", FORK),
            ("selftest-syscall-01", SYSCALL),
            ("history-fork", HISTORY_FORK),
        ] {
            let total: u64 = sizes.iter().sum();
            let cells: Vec<String> = FRACS
                .iter()
                .map(|&f| match error_at(sizes, f) {
                    (d, Some(e)) => format!("{e:+.0}% (d {d})"),
                    (d, None) => format!("none (d {d})"),
                })
                .collect();
            println!("| {name} | {total} | {} |", cells.join(" | "));
        }
        let pct = |s, f| error_at(s, f).1.map(|e: f64| e.round() as i64);
        assert_eq!(pct(DEFAULT, 0.5), Some(20));
        assert_eq!(pct(LARGE, 0.5), Some(9));
        assert_eq!(pct(FORK, 0.35), Some(-1));
    }
}
