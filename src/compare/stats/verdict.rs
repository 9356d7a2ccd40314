//! The verdict of one metric: one rule, the permutation p its only source of significance.

/// What a comparison concluded about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Verdict {
    /// Significantly better, by at least the minimum effect.
    Improved,
    /// Significantly worse, by at least the minimum effect.
    Regressed,
    /// The interval lies inside the equivalence margin.
    Equivalent,
    /// Not significant, and the comparison could have seen a change that matters.
    NoChange,
    /// Not significant, and too little data to rule out a change that matters.
    Inconclusive,
}

impl Verdict {
    /// The word reports print and the JSON holds.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::Equivalent => "equivalent",
            Verdict::NoChange => "no change",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    /// Pass rates, pass@k, tool F1.
    Higher,
    /// Cost, latency, tokens, LLM calls.
    Lower,
}

/// The thresholds of the rule, in the unit of the effect it judges (a fraction for rates; for
/// ratios the log of the ratio, so a 10% resolution is ln 1.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    /// The significance level (`--alpha`).
    pub(crate) alpha: f64,
    /// The smallest |effect| that counts as improved or regressed (`--min-effect`).
    pub(crate) min_effect: f64,
    /// A comparison whose MDE is at most this and finds nothing says `no change`
    /// (`--resolution`).
    pub(crate) resolution: f64,
    /// `equivalent` when the interval lies inside (−margin, +margin) (`--equivalence-margin`).
    pub(crate) equivalence_margin: Option<f64>,
}

/// What the rule reads of one metric's comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Evidence {
    /// The effect, new − base (for ratios: the log of the ratio).
    pub(crate) effect: f64,
    /// Its interval, same unit.
    pub(crate) ci: Option<(f64, f64)>,
    /// The paired test's two-sided p (after Holm's correction when the gate's family has
    /// several pairs).
    pub(crate) p: f64,
    /// The minimum detectable effect, same unit.
    pub(crate) mde: Option<f64>,
}

/// The verdict, in this order: `improved`/`regressed` when p < α and |effect| ≥ the minimum
/// effect (direction from `better`); `equivalent` when a margin is given and the interval lies
/// strictly inside it (two one-sided tests at level α/2 each, so stricter than TOST at α);
/// `no change` when the MDE is at most the resolution; else `inconclusive`.
pub(crate) fn verdict(evidence: &Evidence, better: Better, rule: &Rule) -> Verdict {
    let Evidence { effect, ci, p, mde } = *evidence;
    if p < rule.alpha && effect != 0.0 && effect.abs() >= rule.min_effect {
        let up = effect > 0.0;
        return match (up, better) {
            (true, Better::Higher) | (false, Better::Lower) => Verdict::Improved,
            _ => Verdict::Regressed,
        };
    }
    if let (Some(margin), Some((lo, hi))) = (rule.equivalence_margin, ci)
        && -margin < lo
        && hi < margin
    {
        return Verdict::Equivalent;
    }
    match mde {
        Some(mde) if mde <= rule.resolution => Verdict::NoChange,
        _ => Verdict::Inconclusive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule {
        alpha: 0.05,
        min_effect: 0.0,
        resolution: 0.05,
        equivalence_margin: None,
    };

    fn evidence(effect: f64, ci: (f64, f64), p: f64, mde: f64) -> Evidence {
        Evidence {
            effect,
            ci: Some(ci),
            p,
            mde: Some(mde),
        }
    }

    #[test]
    fn every_verdict_from_one_rule() {
        let drop = evidence(-0.15, (-0.2, -0.1), 0.001, 0.06);
        assert_eq!(verdict(&drop, Better::Higher, &RULE), Verdict::Regressed);
        assert_eq!(verdict(&drop, Better::Lower, &RULE), Verdict::Improved);
        let rise = evidence(0.15, (0.1, 0.2), 0.001, 0.06);
        assert_eq!(verdict(&rise, Better::Higher, &RULE), Verdict::Improved);
        assert_eq!(verdict(&rise, Better::Lower, &RULE), Verdict::Regressed);
        // Significant but below the minimum effect: judged as not significant.
        let small = Rule {
            min_effect: 0.2,
            ..RULE
        };
        assert_eq!(
            verdict(&drop, Better::Higher, &small),
            Verdict::Inconclusive
        );
        // Not significant: resolution decides between no change and inconclusive.
        let flat = evidence(-0.01, (-0.03, 0.01), 0.4, 0.04);
        assert_eq!(verdict(&flat, Better::Higher, &RULE), Verdict::NoChange);
        let blurry = evidence(-0.01, (-0.1, 0.08), 0.8, 0.12);
        assert_eq!(
            verdict(&blurry, Better::Higher, &RULE),
            Verdict::Inconclusive
        );
        // With a margin, an interval inside it is equivalent; one that pokes out is not.
        let margin = Rule {
            equivalence_margin: Some(0.05),
            ..RULE
        };
        assert_eq!(verdict(&flat, Better::Higher, &margin), Verdict::Equivalent);
        assert_eq!(
            verdict(&blurry, Better::Higher, &margin),
            Verdict::Inconclusive
        );
        // p at α is not below it.
        let edge = evidence(-0.15, (-0.3, 0.0), 0.05, 0.2);
        assert_eq!(verdict(&edge, Better::Higher, &RULE), Verdict::Inconclusive);
        // No spread to judge by (one case): inconclusive.
        let one = Evidence {
            effect: 1.0,
            ci: None,
            p: 1.0,
            mde: None,
        };
        assert_eq!(verdict(&one, Better::Higher, &RULE), Verdict::Inconclusive);
        // Nothing moved: no change, whatever the direction.
        let same = evidence(0.0, (0.0, 0.0), 1.0, 0.0);
        assert_eq!(verdict(&same, Better::Lower, &RULE), Verdict::NoChange);
        assert_eq!(Verdict::NoChange.as_str(), "no change");
    }
}
