//! Reading a model's class probabilities. Here, with the models, because the models, the
//! answer path and every score above them pick the top class the same way.

/// Index of the largest probability (the first on ties); `None` for an empty or all-NaN row.
pub fn argmax(probs: &[f32]) -> Option<usize> {
    probs
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_nan())
        .fold(None, |best: Option<(usize, f32)>, (i, &p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((i, p)),
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_skips_nan_and_keeps_the_first_tie() {
        assert_eq!(argmax(&[0.2, f32::NAN, 0.5, 0.5]), Some(2));
        assert_eq!(argmax(&[f32::NAN]), None);
        assert_eq!(argmax(&[]), None);
    }
}
