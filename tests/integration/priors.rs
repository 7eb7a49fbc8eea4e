//! Class priors: the answer is at equal priors unless the user gives the stream's own, and
//! then moves as Bayes' rule says; the JSON output says which priors it was given at.

use crate::common::{run_ok, stampseq};
use std::path::Path;

fn classify(extra: &[&str]) -> serde_json::Value {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let out = run_ok(
        stampseq()
            .arg("classify")
            .arg(&sample)
            .args(["--format", "json"])
            .args(extra),
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn column(answer: &serde_json::Value, class: usize) -> Vec<f64> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["probabilities"][class].as_f64().expect("p"))
        .collect()
}

#[test]
fn priors_move_the_default_answer_and_are_written_in_it() {
    let equal = classify(&[]);
    assert_eq!(equal["priors"], "equal");
    let vs_heavy = classify(&["--priors", "VS=0.9,AGN=0.05,SN=0.05,asteroid=0.05"]);
    assert_eq!(vs_heavy["priors"]["VS"], 0.9);
    let vs = equal["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .position(|c| c == "VS")
        .expect("VS");
    let (before, after) = (column(&equal, vs), column(&vs_heavy, vs));
    assert_eq!(before.len(), after.len());
    // A class made more common never loses probability, and some answers turn to it.
    for (b, a) in before.iter().zip(&after) {
        assert!(a + 1e-6 >= *b, "P(VS) {b} fell to {a}");
    }
    let tops = |v: &serde_json::Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["top_class"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let turned = tops(&equal)
        .iter()
        .zip(tops(&vs_heavy))
        .filter(|(b, a)| *b != "VS" && a == "VS")
        .count();
    assert!(turned > 0, "no answer turned to VS");
}

#[test]
fn priors_naming_an_unknown_class_are_refused_by_name() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let out = stampseq()
        .arg("classify")
        .arg(&sample)
        .args(["--priors", "QSO=1"])
        .output()
        .expect("run classify");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("QSO"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
