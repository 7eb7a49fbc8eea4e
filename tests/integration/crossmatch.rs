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

/// (designation, ra, dec, W1, W2, W3) of the real AllWISE sources CDS matched.
pub type Row = (String, f64, f64, Option<f64>, Option<f64>, Option<f64>);

fn allwise_rows() -> Vec<Row> {
    let mut r =
        csv::Reader::from_path(ztf("aux/allwise_xmatch_5439_sdss_positions.csv")).expect("table");
    let h = r.headers().expect("headers").clone();
    let col = |name: &str| h.iter().position(|c| c == name).expect(name);
    let [id, ra, dec, w1, w2, w3] =
        ["AllWISE", "RAJ2000", "DEJ2000", "W1mag", "W2mag", "W3mag"].map(col);
    let opt = |s: &str| s.trim().parse::<f64>().ok();
    r.records()
        .map(|row| {
            let row = row.expect("row");
            (
                row[id].to_string(),
                row[ra].parse().expect("ra"),
                row[dec].parse().expect("dec"),
                opt(&row[w1]),
                opt(&row[w2]),
                opt(&row[w3]),
            )
        })
        .collect()
}

/// IRSA's layout in miniature: magnitudes as nullable float32, an unrelated column between
/// the ones the reader wants, names in another case, snappy pages, several row groups.
pub const PARQUET_SCHEMA: &str = "message allwise {
    optional binary designation (STRING);
    required int64 cntr;
    required double RA;
    required double Dec;
    optional float w1mpro;
    optional float W2MPRO;
    optional float w3mpro;
}";

pub fn write_parquet(path: &std::path::Path, schema: &str, rows: &[Row]) {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    let schema = Arc::new(parquet::schema::parser::parse_message_type(schema).expect("schema"));
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let file = std::fs::File::create(path).expect("create");
    let mut w = SerializedFileWriter::new(file, schema.clone(), props).expect("writer");
    for chunk in rows.chunks(1000) {
        let mut rg = w.next_row_group().expect("row group");
        for field in schema.get_fields() {
            let mut col = rg.next_column().expect("column").expect("a column");
            let n = chunk.len();
            match field.name() {
                // A text "ra" stands for a file whose positions are not numbers.
                "designation" | "ra" => {
                    let v: Vec<ByteArray> = chunk
                        .iter()
                        .map(|r| ByteArray::from(r.0.as_str()))
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&vec![1; n]), None)
                        .expect("write");
                }
                "cntr" => {
                    let v: Vec<i64> = (0..n as i64).collect();
                    col.typed::<Int64Type>()
                        .write_batch(&v, None, None)
                        .expect("write");
                }
                "RA" | "Dec" => {
                    let v: Vec<f64> = chunk
                        .iter()
                        .map(|r| if field.name() == "RA" { r.1 } else { r.2 })
                        .collect();
                    col.typed::<DoubleType>()
                        .write_batch(&v, None, None)
                        .expect("write");
                }
                name => {
                    let k = ["w1mpro", "W2MPRO", "w3mpro"]
                        .iter()
                        .position(|m| *m == name)
                        .expect("a known column");
                    let m: Vec<Option<f64>> = chunk.iter().map(|r| [r.3, r.4, r.5][k]).collect();
                    let defs: Vec<i16> = m.iter().map(|v| i16::from(v.is_some())).collect();
                    let v: Vec<f32> = m.iter().flatten().map(|&v| v as f32).collect();
                    col.typed::<FloatType>()
                        .write_batch(&v, Some(&defs), None)
                        .expect("write");
                }
            }
            col.close().expect("close column");
        }
        rg.close().expect("close row group");
    }
    w.close().expect("close file");
}

#[test]
fn a_parquet_catalogue_gives_the_csv_matches() {
    let table = ztf("aux/allwise_xmatch_5439_sdss_positions.csv");
    // The real rows all have W1-W3: punch nulls (every 7th W3) and NaNs (every 11th W2),
    // both of which must read back as missing magnitudes.
    let mut rows = allwise_rows();
    for (i, r) in rows.iter_mut().enumerate() {
        if i % 7 == 0 {
            r.5 = None;
        }
        if i % 11 == 0 {
            r.4 = Some(f64::NAN);
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("allwise.parquet");
    write_parquet(&path, PARQUET_SCHEMA, &rows);

    let from_csv = AllWiseCatalogue::from_path(&table).expect("CSV catalogue");
    let from_parquet = AllWiseCatalogue::from_path(&path).expect("Parquet catalogue");
    assert_eq!(from_parquet.len(), 5440);
    assert_eq!(from_parquet.len(), from_csv.len());
    let mut missing = 0;
    for (i, (p, c)) in from_parquet
        .sources()
        .iter()
        .zip(from_csv.sources())
        .enumerate()
    {
        assert_eq!((&p.id, p.ra, p.dec), (&c.id, c.ra, c.dec));
        let w2 = c.mags.w2.filter(|_| i % 11 != 0);
        let w3 = c.mags.w3.filter(|_| i % 7 != 0);
        for (pm, cm) in [(p.mags.w1, c.mags.w1), (p.mags.w2, w2), (p.mags.w3, w3)] {
            match (pm, cm) {
                // float32 in the file: 7 significant digits.
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-5, "{}: {a} vs {b}", p.id),
                (None, None) => missing += 1,
                other => panic!("{}: {other:?}", p.id),
            }
        }
    }
    assert_eq!(missing, 5440usize.div_ceil(7) + 5440usize.div_ceil(11));

    let mut inputs =
        csv::Reader::from_path(ztf("aux/allwise_xmatch_5439_sdss_positions_input.csv"))
            .expect("inputs");
    let (mut matched, mut unmatched) = (0, 0);
    for r in inputs.records() {
        let r = r.expect("row");
        let (ra, dec): (f64, f64) = (r[1].parse().expect("ra"), r[2].parse().expect("dec"));
        let p = from_parquet.nearest(ra, dec, DEFAULT_RADIUS_ARCSEC);
        let c = from_csv.nearest(ra, dec, DEFAULT_RADIUS_ARCSEC);
        match (p, c) {
            (Some((ps, pd)), Some((cs, cd))) => {
                assert_eq!((&ps.id, pd), (&cs.id, cd), "input {}", &r[0]);
                matched += 1;
            }
            (None, None) => unmatched += 1,
            other => panic!("input {}: {other:?}", &r[0]),
        }
    }
    assert_eq!(matched, 5440);
    assert!(unmatched > 100, "{unmatched}");
}

#[test]
fn broken_parquet_catalogues_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows: Vec<Row> = allwise_rows().into_iter().take(3000).collect();
    let good = dir.path().join("good.parquet");
    write_parquet(&good, PARQUET_SCHEMA, &rows);
    let bytes = std::fs::read(&good).expect("read");
    let error = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        let e = AllWiseCatalogue::from_path(&path)
            .expect_err(name)
            .to_string();
        assert!(e.contains(name), "{e}");
        e
    };

    let e = error("text.parquet", b"designation,ra,dec,w1mpro\nJ1,1,2,3\n");
    eprintln!("{e}");
    assert!(e.contains("not a readable Parquet file"), "{e}");
    let e = error("half.parquet", &bytes[..bytes.len() / 2]);
    eprintln!("{e}");
    assert!(e.contains("Parquet"), "{e}");
    let e = error("tail_cut.parquet", &bytes[..bytes.len() - 7]);
    assert!(e.contains("Parquet"), "{e}");

    // Garbage in the data pages, footer intact: an error (or, at worst, a catalogue), no
    // panic.
    let mut scrambled = bytes.clone();
    for b in &mut scrambled[8..bytes.len() / 2] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    let path = dir.path().join("scrambled.parquet");
    std::fs::write(&path, &scrambled).expect("write");
    if let Err(e) = AllWiseCatalogue::from_path(&path) {
        assert!(e.to_string().contains("scrambled.parquet"), "{e}");
    }

    let no_ra = dir.path().join("no_ra.parquet");
    write_parquet(
        &no_ra,
        "message allwise { required double Dec; optional float w1mpro; }",
        &rows,
    );
    let e = AllWiseCatalogue::from_path(&no_ra)
        .expect_err("no ra")
        .to_string();
    assert!(
        e.contains("no_ra.parquet") && e.contains("no ra column"),
        "{e}"
    );

    let text_ra = dir.path().join("text_ra.parquet");
    write_parquet(
        &text_ra,
        "message allwise { optional binary ra (STRING); required double Dec; \
         optional float w1mpro; }",
        &rows,
    );
    let e = AllWiseCatalogue::from_path(&text_ra)
        .expect_err("text ra")
        .to_string();
    assert!(e.contains("column ra is BYTE_ARRAY, not a number"), "{e}");
}
