//! Apportionment (按分) of an unidentified amount among insurers in
//! proportion to their payment record with the institution, to the yen.
//!
//! Source: notice §4 (災害等の際の取扱いに準じ、支払実績に応じて按分) and
//! DOMAIN §2.3 [D]: shares by largest remainder, so they always sum to the
//! total; ties in the remainder go to the lower 保険者番号 first. The exact
//! formula of the 2023-08-03 事務連絡 is not public [U]; the reference period
//! is the caller's choice.

/// Splits `total` yen among `weights` (insurer key, weight ≥ 0) in proportion
/// to the weights, by largest remainder. Returns `None` when every weight is 0
/// (no payment record: the caller widens the reference period). Keys are
/// returned in ascending order.
pub fn largest_remainder(total: u64, weights: &[(String, u64)]) -> Option<Vec<(String, u64)>> {
    let sum: u128 = weights.iter().map(|(_, w)| u128::from(*w)).sum();
    if sum == 0 {
        return None;
    }
    let mut rows: Vec<(String, u64, u128)> = weights
        .iter()
        .map(|(k, w)| {
            let exact = u128::from(total) * u128::from(*w);
            (k.clone(), (exact / sum) as u64, exact % sum)
        })
        .collect();
    let given: u64 = rows.iter().map(|r| r.1).sum();
    let mut left = total - given;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        rows[b]
            .2
            .cmp(&rows[a].2)
            .then_with(|| rows[a].0.cmp(&rows[b].0))
    });
    for i in order {
        if left == 0 {
            break;
        }
        rows[i].1 += 1;
        left -= 1;
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Some(rows.into_iter().map(|(k, s, _)| (k, s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(k, w)| ((*k).to_owned(), *w)).collect()
    }

    #[test]
    fn examples() {
        assert_eq!(
            largest_remainder(100, &w(&[("a", 1), ("b", 1), ("c", 1)])).unwrap(),
            w(&[("a", 34), ("b", 33), ("c", 33)])
        );
        assert_eq!(
            largest_remainder(10, &w(&[("b", 3), ("a", 1)])).unwrap(),
            w(&[("a", 3), ("b", 7)])
        );
        assert_eq!(
            largest_remainder(0, &w(&[("a", 5)])).unwrap(),
            w(&[("a", 0)])
        );
        assert_eq!(
            largest_remainder(7, &w(&[("a", 0), ("b", 2)])).unwrap(),
            w(&[("a", 0), ("b", 7)])
        );
        assert!(largest_remainder(10, &w(&[("a", 0)])).is_none());
        assert!(largest_remainder(10, &[]).is_none());
    }

    proptest! {
        /// The shares sum exactly to the total, each is within one yen of its
        /// exact proportional share, and a bigger weight never gets less.
        #[test]
        fn shares_sum_and_follow_weights(total in 0u64..10_000_000_000, ws in prop::collection::vec(0u64..1_000_000_000, 1..30)) {
            let weights: Vec<(String, u64)> = ws.iter().enumerate().map(|(i, w)| (format!("{i:03}"), *w)).collect();
            let sum: u128 = ws.iter().map(|&w| u128::from(w)).sum();
            match largest_remainder(total, &weights) {
                None => prop_assert_eq!(sum, 0),
                Some(shares) => {
                    prop_assert_eq!(shares.iter().map(|s| s.1).sum::<u64>(), total);
                    for ((_, share), (_, weight)) in shares.iter().zip(&weights) {
                        let exact = u128::from(total) * u128::from(*weight);
                        let floor = (exact / sum) as u64;
                        prop_assert!(*share == floor || *share == floor + 1);
                    }
                    for i in 0..weights.len() {
                        for j in 0..weights.len() {
                            if weights[i].1 > weights[j].1 {
                                prop_assert!(shares[i].1 >= shares[j].1);
                            }
                        }
                    }
                }
            }
        }
    }
}
