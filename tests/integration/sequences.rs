use crate::common::{manifest, ztf};
use stampseq::alert::{read_all, ReadOptions};
use stampseq::sequence::{group_into_sequences, PointKind};

#[test]
fn sn_2021rhu_is_one_sequence_of_34_detections_in_time_order() {
    // Its 34 alerts are in both sequences/ and labeled/: duplicates must collapse.
    let (alerts, _) = read_all(&[ztf("sequences"), ztf("labeled")], &ReadOptions::default());
    let sequences = group_into_sequences(alerts);
    let sn: Vec<_> = sequences
        .iter()
        .filter(|s| s.object_id == "ZTF21abiuvdk")
        .collect();
    assert_eq!(sn.len(), 1);
    let sn = sn[0];
    assert_eq!(sn.len(), 34);
    assert!(sn
        .detections
        .windows(2)
        .all(|w| w[0].candidate.jd <= w[1].candidate.jd));
    assert_eq!(sn.nights(), 22);

    // The light curve holds every loaded detection once, plus history from prv_candidates.
    let with_alert = sn
        .light_curve
        .detections()
        .filter(|p| {
            matches!(
                p.kind,
                PointKind::Detection {
                    has_alert: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(with_alert, 34);
    assert!(sn.light_curve.upper_limits().count() > 0);
    assert!(sn.light_curve.points.windows(2).all(|w| w[0].jd <= w[1].jd));

    // Objects and per-object counts agree with the manifest.
    let rows = manifest();
    let mut expected = std::collections::BTreeMap::<String, std::collections::HashSet<i64>>::new();
    for (_, _, object, candid, _) in rows {
        expected.entry(object).or_default().insert(candid);
    }
    assert_eq!(sequences.len(), expected.len());
    for s in &sequences {
        assert_eq!(s.len(), expected[&s.object_id].len(), "{}", s.object_id);
    }
}

#[test]
fn the_fixture_sequence_spans_six_nights() {
    let (alerts, _) = read_all(
        &[ztf("fixture/sequence_ZTF19abegmle")],
        &ReadOptions::default(),
    );
    let sequences = group_into_sequences(alerts);
    assert_eq!(sequences.len(), 1);
    assert_eq!(sequences[0].len(), 7);
    assert_eq!(sequences[0].nights(), 6);
}
