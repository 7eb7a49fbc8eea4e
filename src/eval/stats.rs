//! Statistics for repeated experiments: mean and standard deviation, and Welch's t-test
//! (unequal variances) between two sets of runs, as the paper reports its heads.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean and sample standard deviation (n - 1); std is 0 for a single value.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Result of Welch's two-sided t-test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Welch {
    pub t: f64,
    pub df: f64,
    pub p_value: f64,
}

/// Welch's t-test of `a` against `b`; `None` with fewer than 2 values on a side or no
/// variance at all.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, sa) = mean_std(a);
    let (mb, sb) = mean_std(b);
    let (va, vb) = (sa * sa / a.len() as f64, sb * sb / b.len() as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return None;
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p_value = 2.0 * (1.0 - dist.cdf(t.abs()));
    Some(Welch { t, df, p_value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind(a, b, equal_var=False): t 4.6933487975836945,
        // p 0.0018052804564785295, df 7.568480061154289.
        let a = [0.981, 0.975, 0.979, 0.983, 0.977];
        let b = [0.970, 0.972, 0.968, 0.975, 0.971, 0.969];
        let w = welch_t_test(&a, &b).expect("test");
        assert!((w.t - 4.6933487975836945).abs() < 1e-9);
        assert!((w.df - 7.568480061154289).abs() < 1e-9);
        assert!(
            (w.p_value - 0.0018052804564785295).abs() < 1e-9,
            "{}",
            w.p_value
        );
        assert!(welch_t_test(&[1.0], &b).is_none());
        assert!(welch_t_test(&[1.0, 1.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - 1.2909944487358056).abs() < 1e-12);
    }
}
