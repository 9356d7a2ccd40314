//! Corrections for many tests at once.
//!
//! - Benjamini–Hochberg q-values label the per-case Fisher tests of the cases whose class
//!   changed: a family chosen after looking at the data, so the q is descriptive and no gate
//!   reads it.
//! - Holm's step-down adjustment is the gate's: the pass-rate p-values of several candidates
//!   (or model pairs) against one base, controlling the family-wise error.

/// Benjamini–Hochberg q-values of `p`, in the order given: with p₍ᵢ₎ the i-th smallest of m,
/// q₍ᵢ₎ = min over j ≥ i of min(1, m·p₍ⱼ₎/j).
pub(crate) fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut q = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// Holm-adjusted p-values of `p`, in the order given: with p₍ᵢ₎ the i-th smallest of m
/// (i from 1), p̃₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). Reject where p̃ < α.
pub(crate) fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Indices of `p` by ascending value (ties in input order, so the result is deterministic).
fn ascending(p: &[f64]) -> Vec<usize> {
    assert!(
        p.iter().all(|x| (0.0..=1.0).contains(x)),
        "p-values must lie in [0, 1]"
    );
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // Sorted 0.01, 0.02, 0.03, 0.04, 0.5 of m = 5: m·p/i = 0.05, 0.05, 0.05, 0.05, 0.5.
        let q = benjamini_hochberg(&[0.03, 0.5, 0.01, 0.04, 0.02]);
        assert!(close(&q, &[0.05, 0.5, 0.05, 0.05, 0.05]), "{q:?}");
        // The running minimum: 0.01·3/1 = 0.03 but 0.02·3/2 = 0.03 and 0.9·3/3 = 0.9.
        let q = benjamini_hochberg(&[0.9, 0.01, 0.02]);
        assert!(close(&q, &[0.9, 0.03, 0.03]), "{q:?}");
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.7]), [0.7]);
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.01, 0.02, 0.04 of m = 3: 0.03, 0.04, max(0.04, 0.04) = 0.04.
        let adjusted = holm(&[0.04, 0.01, 0.02]);
        assert!(close(&adjusted, &[0.04, 0.03, 0.04]), "{adjusted:?}");
        // Capped at 1 and monotone: 0.4·3 → 1, then max(1, 0.6) = 1.
        assert!(close(&holm(&[0.4, 0.6, 0.001]), &[0.8, 0.8, 0.003]));
        assert!(close(&holm(&[0.5, 0.6]), &[1.0, 1.0]));
        assert!(holm(&[]).is_empty());
    }
}
