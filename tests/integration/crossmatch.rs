//! The AllWISE cone search against CDS's own crossmatch of 5,553 SDSS positions.

use crate::common::ztf;
use stampseq::features::allwise::{AllWiseCatalogue, CrossmatchTable, DEFAULT_RADIUS_ARCSEC};
use std::collections::HashMap;

#[test]
fn cone_search_reproduces_the_cds_crossmatch() {
    let table = ztf("aux/allwise_xmatch_5439_sdss_positions.csv");
    let catalogue = AllWiseCatalogue::from_csv(&table).expect("catalogue");
    assert_eq!(catalogue.len(), 5440);

    let mut expected: HashMap<String, (String, f64)> = HashMap::new();
    let mut rows = csv::Reader::from_path(&table).expect("table");
    for r in rows.records() {
        let r = r.expect("row");
        expected.insert(
            r[2].to_string(),
            (r[5].to_string(), r[0].parse().expect("angDist")),
        );
    }

    let mut inputs =
        csv::Reader::from_path(ztf("aux/allwise_xmatch_5439_sdss_positions_input.csv"))
            .expect("inputs");
    let (mut matched, mut unmatched) = (0, 0);
    for r in inputs.records() {
        let r = r.expect("row");
        let (id, ra, dec): (&str, f64, f64) = (&r[0], r[1].parse().unwrap(), r[2].parse().unwrap());
        let found = catalogue.nearest(ra, dec, DEFAULT_RADIUS_ARCSEC);
        match (expected.get(id), found) {
            (Some((source, dist)), Some((s, d))) => {
                assert_eq!(&s.id, source, "input {id}");
                assert!(
                    (d - dist).abs() < 1e-3,
                    "input {id}: {d} arcsec, CDS says {dist}"
                );
                matched += 1;
            }
            (None, None) => unmatched += 1,
            (Some(e), None) => panic!("input {id}: no match, CDS found {e:?}"),
            (None, Some((s, d))) => panic!("input {id}: matched {} at {d}\", CDS found none", s.id),
        }
    }
    assert_eq!(matched, 5440);
    assert!(
        unmatched > 100,
        "{unmatched} positions without a counterpart were tested"
    );
}

#[test]
fn the_crossmatch_table_gives_magnitudes_by_object() {
    let t = CrossmatchTable::from_csv(&ztf("aux/allwise_xmatch_5_ztf_objects.csv")).expect("table");
    assert_eq!(t.len(), 5);
    let m = t.get("ZTF19abegmle").expect("ZTF19abegmle");
    assert!((m.w1.expect("W1") - 14.643).abs() < 1e-9);
    assert!(t.get("ZTF00nothing").is_none());
    let wide = CrossmatchTable::from_csv(&ztf("aux/alerce_features_sample_wise_100_objects.csv"))
        .expect("ALeRCE table");
    assert_eq!(wide.len(), 100);
}
