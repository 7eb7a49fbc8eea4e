use std::path::PathBuf;

/// The shared data folder: `$STAMPSEQ_DATA`, else `../shared/data` beside the checkout.
/// Missing data is a failure, not a skip: these tests are the ones that matter.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("STAMPSEQ_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(
        dir.join("ztf/manifest.csv").is_file(),
        "shared test data not found at {} (set STAMPSEQ_DATA)",
        dir.display()
    );
    dir
}

pub fn ztf(rel: &str) -> PathBuf {
    data_dir().join("ztf").join(rel)
}

/// Rows of ztf/manifest.csv as (set, file, objectId, candid, jd).
pub fn manifest() -> Vec<(String, String, String, i64, f64)> {
    let mut reader = csv::Reader::from_path(ztf("manifest.csv")).expect("manifest.csv");
    reader
        .records()
        .map(|r| {
            let r = r.expect("manifest row");
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[3].parse().expect("candid"),
                r[4].parse().expect("jd"),
            )
        })
        .collect()
}
