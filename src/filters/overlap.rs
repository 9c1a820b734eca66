//! When a generic rule and a provider rule find the same secret, report it
//! once, under the more specific rule: `GITHUB_TOKEN=ghp_...` is a GitHub
//! token, not a "generic secret assignment" as well.

use crate::finding::Finding;

/// Drops every finding that overlaps another finding of the same blob with
/// a higher confidence, or with the same confidence and a strictly larger
/// span. Findings must be in report order ([`crate::finding::FindingKey`]).
pub fn drop_shadowed(findings: &mut Vec<Finding>) -> usize {
    let n = findings.len();
    let mut keep = vec![true; n];
    for i in 0..n {
        let a = findings[i].key();
        // In report order, the findings that can overlap this one follow
        // it in the same blob and start before it ends.
        for (j, later) in findings.iter().enumerate().skip(i + 1) {
            let b = later.key();
            if b.blob != a.blob || b.start >= a.end {
                break;
            }
            if !a.overlaps(&b) {
                continue;
            }
            if shadows(&findings[i], later) {
                keep[j] = false;
            } else if shadows(later, &findings[i]) {
                keep[i] = false;
            }
        }
    }
    let mut it = keep.iter();
    findings.retain(|_| *it.next().unwrap_or(&true));
    n - findings.len()
}

/// Does `a` make `b` redundant?
fn shadows(a: &Finding, b: &Finding) -> bool {
    if a.confidence != b.confidence {
        return a.confidence > b.confidence;
    }
    let (a, b) = (a.key(), b.key());
    a.contains(&b) && (a.start, a.end) != (b.start, b.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Confidence;

    fn f(rule: &str, conf: Confidence, line: u64, col: u64, end_col: u64) -> Finding {
        let mut f = crate::report::testutil::finding("p", line);
        f.rule = rule.into();
        f.confidence = conf;
        f.column = col;
        f.end_column = end_col;
        f
    }

    #[test]
    fn generic_under_provider_is_dropped() {
        let mut v = vec![
            f("generic", Confidence::Low, 3, 14, 54),
            f("github-pat", Confidence::High, 3, 14, 54),
            f("other-line", Confidence::Low, 4, 1, 10),
        ];
        assert_eq!(drop_shadowed(&mut v), 1);
        let rules: Vec<_> = v.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["github-pat", "other-line"]);
    }

    #[test]
    fn disjoint_and_equal_findings_stay() {
        let mut v = vec![
            f("a", Confidence::Low, 1, 1, 5),
            f("b", Confidence::High, 1, 6, 9),
            f("c", Confidence::Medium, 2, 1, 9),
            f("d", Confidence::Medium, 2, 1, 9),
        ];
        assert_eq!(drop_shadowed(&mut v), 0);
    }

    #[test]
    fn larger_span_of_same_confidence_wins() {
        let mut v = vec![
            f("pem", Confidence::High, 1, 1, 90),
            f("inner", Confidence::High, 1, 20, 40),
        ];
        assert_eq!(drop_shadowed(&mut v), 1);
        assert_eq!(v[0].rule, "pem");
    }
}
