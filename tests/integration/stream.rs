//! `stampseq stream` against a real broker (tansu): two consumers in a group, one killed
//! with SIGKILL mid-way, and every alert of both surveys still answered, as `classify`
//! answers it, with the unreadable messages in the dead-letter topic.

use crate::common::{data_dir, ztf};
use crate::common::{run_ok, stampseq};
use crate::kafka::{read_topic, Broker};
use stampseq::stream::sink::TopicWriter;
use stampseq::stream::{KafkaOptions, StreamResult};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn schemas() -> PathBuf {
    data_dir().join("lsst/lsst-alert-packet/schema")
}

fn lsst_framed() -> PathBuf {
    data_dir().join("lsst/derived-fink-v10-framed")
}

fn produce(broker: &Broker, topic: &str, paths: &[&Path]) {
    let out = stampseq()
        .args(["produce", "--brokers", &broker.address(), "--topic", topic])
        // One message per produce request: tansu 0.6.0 numbers the records of multi-record
        // batches so that consumers skip some of them.
        .args(["-X", "batch.num.messages=1"])
        .arg("--lsst-schemas")
        .arg(schemas())
        .args(paths)
        .output()
        .expect("stampseq produce");
    assert!(
        out.status.success(),
        "produce: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Messages no reader can take, each for a reason of its own.
fn corrupt_messages() -> Vec<(String, Vec<u8>)> {
    let alert = std::fs::read(ztf(
        "sequences/ZTF18aabjhro/ZTF18aabjhro_2481496065415010006.avro",
    ))
    .expect("alert");
    let framed = std::fs::read(lsst_framed().join("169813006111211588.v10_0.confluent.avro"))
        .expect("framed");
    let mut unknown_schema = framed.clone();
    unknown_schema[1..5].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
    vec![
        ("truncated-avro".into(), alert[..alert.len() / 3].to_vec()),
        (
            "random-bytes".into(),
            (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("unknown-schema-id".into(), unknown_schema),
        ("truncated-framed".into(), framed[..200].to_vec()),
        ("empty".into(), Vec::new()),
    ]
}

fn start_consumer_with(broker: &Broker, dir: &Path, name: &str, extra: &[&str]) -> Child {
    stampseq()
        .args([
            "stream",
            "--brokers",
            &broker.address(),
            "--topic",
            "alerts",
            "--group",
            "vetting",
            "--from-beginning",
            "--out-topic",
            "answers",
            "--dead-letter-topic",
            "dead",
            "--batch",
            "8",
            "--linger-ms",
            "20",
            // Slow enough that the kill lands mid-way through the topic.
            "--max-rate",
            "30",
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "heartbeat.interval.ms=500",
            "-X",
            "batch.num.messages=1",
        ])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--out")
        .arg(dir.join(format!("answers-{name}")))
        .arg("--status-file")
        .arg(dir.join(format!("{name}.json")))
        .arg("--lsst-schemas")
        .arg(schemas())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).expect("log"))
        .spawn()
        .expect("stampseq stream")
}

fn status(dir: &Path, name: &str) -> Option<serde_json::Value> {
    let text = std::fs::read(dir.join(format!("{name}.json"))).ok()?;
    serde_json::from_slice(&text).ok()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    wait_in(None, what, limit, &mut done)
}

/// Waits; on a timeout, says what the consumers in `dir` said (status files and logs).
fn wait_in(dir: Option<&Path>, what: &str, limit: Duration, done: &mut dyn FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        if t0.elapsed() > limit {
            let mut said = String::new();
            if let Some(dir) = dir {
                for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "json" || x == "log") {
                        let text = std::fs::read_to_string(&p).unwrap_or_default();
                        let tail: Vec<&str> = text.lines().rev().take(40).collect();
                        said.push_str(&format!("--- {}\n", p.display()));
                        for l in tail.into_iter().rev() {
                            said.push_str(l);
                            said.push('\n');
                        }
                    }
                }
            }
            panic!("timed out waiting for {what}\n{said}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

#[test]
fn two_consumers_one_killed_answer_every_alert_as_classify_does() {
    let broker = Broker::start();
    broker.create_topic("alerts", 4);
    broker.create_topic("answers", 4);
    broker.create_topic("dead", 1);
    let sequences = ztf("sequences");
    let framed = lsst_framed();
    produce(&broker, "alerts", &[&sequences, &framed]);
    let corrupt = corrupt_messages();
    let mut one_by_one = KafkaOptions::new(&broker.address());
    one_by_one.extra = vec![("batch.num.messages".into(), "1".into())];
    let writer =
        TopicWriter::new(&one_by_one.client_config().expect("config"), "alerts").expect("producer");
    writer
        .send_all(corrupt.iter().map(|(k, p)| (k.clone(), p.clone(), None)))
        .expect("corrupt messages sent");

    let out = stampseq()
        .args([
            "classify",
            "--causal",
            "--max-detections",
            "0",
            "--format",
            "json",
        ])
        .arg(&sequences)
        .output()
        .expect("classify");
    assert!(out.status.success());
    let expected: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let expected = expected["rows"].as_array().expect("rows");
    assert_eq!(expected.len(), 184);
    let dir = tempfile::tempdir().expect("tempdir");
    // The stream answers each alert with the model of its survey: the default answer for
    // ZTF, a tree model trained on the framed LSST alerts for LSST.
    let lsst_dir = dir.path().join("lsst-model");
    std::fs::create_dir_all(&lsst_dir).expect("lsst-model");
    let lsst_model = crate::lsst_trees::trained_model(&lsst_dir);
    let out = stampseq()
        .args(["classify", "--format", "json", "--model"])
        .arg(&lsst_model)
        .arg("--lsst-schemas")
        .arg(schemas())
        .arg(&framed)
        .output()
        .expect("classify LSST");
    assert!(out.status.success());
    let expected_lsst: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let expected_lsst = expected_lsst["rows"].as_array().expect("rows").clone();
    assert_eq!(expected_lsst.len(), 20);
    let default_model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/default-fused.stampseq");
    let models = [
        "--model",
        default_model.to_str().expect("utf-8 path"),
        "--model",
        lsst_model.to_str().expect("utf-8 path"),
    ];
    let mut b = start_consumer_with(&broker, dir.path(), "b", &models);
    let mut a = start_consumer_with(&broker, dir.path(), "a", &models);
    // Kill A once it has answered part of its share, whatever it has in hand.
    wait_for(
        "consumer a to answer some alerts",
        Duration::from_secs(90),
        || status(dir.path(), "a").is_some_and(|s| s["alerts"].as_u64().unwrap_or(0) >= 12),
    );
    a.kill().expect("SIGKILL a");
    a.wait().expect("a reaped");
    let a_alerts = status(dir.path(), "a").expect("a status")["alerts"]
        .as_u64()
        .unwrap_or(0);
    // A supervisor restarts it once the broker has given up on the dead member (tansu
    // 0.6.0 keeps a SIGKILLed member's partitions assigned to it until then, and after:
    // the group only rebalances them when a member joins or leaves).
    std::thread::sleep(Duration::from_secs(8));
    let mut a2 = start_consumer_with(&broker, dir.path(), "a2", &models);
    // The restarted member must have joined before it can leave: a SIGTERM that lands
    // while the process is still starting kills it before its handler exists (seen in CI
    // when b had already answered everything: tansu had handed it the dead member's share).
    wait_in(
        Some(dir.path()),
        "the restarted a to join the group",
        Duration::from_secs(60),
        &mut || {
            status(dir.path(), "a2")
                .is_some_and(|s| s["partitions"].as_array().is_some_and(|p| !p.is_empty()))
        },
    );

    let messages = 184 + 20 + corrupt.len() as i64;
    // Every alert answered: 184 ZTF alerts (classify's) and 20 LSST ones.
    let want: BTreeSet<i64> = expected
        .iter()
        .map(|r| r["candid"].as_i64().expect("candid"))
        .collect();
    // Every answer the consumers wrote to their files (durable before each commit, as the
    // topic's are).
    let file_answers = |dir: &Path| -> Vec<BTreeMap<String, String>> {
        let mut rows = Vec::new();
        for d in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if !d.file_name().to_string_lossy().starts_with("answers-") {
                continue;
            }
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                // A file being written may end in a partial line: read what parses.
                let Ok(mut reader) = csv::Reader::from_path(f.path()) else {
                    continue;
                };
                rows.extend(reader.deserialize::<BTreeMap<String, String>>().flatten());
            }
        }
        rows
    };
    let all_answered = || {
        let got: BTreeSet<i64> = file_answers(dir.path())
            .iter()
            .filter_map(|r| r.get("alertId")?.parse().ok())
            .collect();
        let missing: Vec<&i64> = want.difference(&got).collect();
        missing.is_empty() && got.len() >= want.len() + 20
    };
    let mut last_check = Instant::now() - Duration::from_secs(10);
    wait_in(
        Some(dir.path()),
        "the restarted a and b to answer every alert",
        Duration::from_secs(120),
        &mut || {
            // Reading the topic back takes a second: not at every tick.
            if last_check.elapsed() < Duration::from_secs(1) {
                return false;
            }
            last_check = Instant::now();
            all_answered()
        },
    );
    // A member that leaves (SIGTERM: finish, commit, leave, exit 0) hands its partitions
    // to the others.
    let term = |child: &Child| {
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    };
    term(&a2);
    let exit = a2.wait().expect("a2 exit");
    assert!(exit.success(), "a2: {exit:?}\n{}", log(dir.path(), "a2"));
    wait_in(
        Some(dir.path()),
        "b to take every partition after a2 left",
        Duration::from_secs(60),
        &mut || {
            status(dir.path(), "b")
                .is_some_and(|s| s["partitions"].as_array().is_some_and(|p| p.len() == 4))
        },
    );
    term(&b);
    let exit = b.wait().expect("b exit");
    assert!(exit.success(), "b: {exit:?}\n{}", log(dir.path(), "b"));
    assert!(
        a_alerts < messages as u64,
        "a answered everything before it was killed ({a_alerts})"
    );

    // Every alert answered at least once, with classify's answer for it: the files.
    let rows = file_answers(dir.path());
    let mut by_alert: BTreeMap<i64, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for r in &rows {
        if let Some(id) = r.get("alertId").and_then(|a| a.parse().ok()) {
            by_alert.entry(id).or_default().push(r);
        }
    }
    let classes = ["AGN", "SN", "VS", "asteroid", "bogus"];
    for row in expected {
        let candid = row["candid"].as_i64().expect("candid");
        let got = by_alert
            .get(&candid)
            .unwrap_or_else(|| panic!("alert {candid} never answered"));
        let want: Vec<f64> = row["probabilities"]
            .as_array()
            .expect("p")
            .iter()
            .map(|v| v.as_f64().expect("f"))
            .collect();
        for r in got {
            assert_eq!(r["k"], row["k"].to_string(), "step of {candid}");
            for (c, w) in classes.iter().zip(&want) {
                let p: f64 = r[&format!("p_{c}")].parse().expect("p");
                assert!((p - w).abs() < 1e-6, "{candid} {c}: {p} vs {w}");
            }
        }
    }
    // The output topic too: every alert answered there, each answer classify's.
    let answers: Vec<StreamResult> = read_topic(&broker.address(), "answers")
        .iter()
        .map(|m| serde_json::from_slice(&m.payload).expect("an answer is JSON"))
        .collect();
    let on_topic: BTreeSet<i64> = answers.iter().filter_map(|r| r.alert_id).collect();
    let missing: Vec<&i64> = want.difference(&on_topic).collect();
    assert!(missing.is_empty(), "not on the output topic: {missing:?}");
    assert!(on_topic.len() >= want.len() + 20);
    for r in answers
        .iter()
        .filter(|r| r.survey == stampseq::alert::neutral::Survey::Ztf)
    {
        let id = r.alert_id.expect("alert id");
        let row = expected
            .iter()
            .find(|e| e["candid"].as_i64() == Some(id))
            .unwrap_or_else(|| panic!("an answer for an alert never sent: {id}"));
        assert_eq!(r.k as u64, row["k"].as_u64().expect("k"));
        for (p, w) in r
            .probabilities
            .iter()
            .zip(row["probabilities"].as_array().expect("p"))
        {
            assert!((*p as f64 - w.as_f64().expect("f")).abs() < 1e-6, "{id}");
        }
    }
    // Every LSST alert answered by the LSST model, as `classify` answers it with that model,
    // in the files and on the topic.
    let lsst: Vec<&BTreeMap<String, String>> =
        rows.iter().filter(|r| r["survey"] == "LSST").collect();
    let lsst_ids: BTreeSet<&String> = lsst.iter().map(|r| &r["alertId"]).collect();
    assert_eq!(lsst_ids.len(), 20);
    for row in &expected_lsst {
        let id = row["candid"].as_i64().expect("alert id");
        let want: Vec<f64> = row["probabilities"]
            .as_array()
            .expect("p")
            .iter()
            .map(|v| v.as_f64().expect("f"))
            .collect();
        let got = by_alert
            .get(&id)
            .unwrap_or_else(|| panic!("LSST alert {id} never answered"));
        for r in got {
            assert_eq!(r["skipped"], "", "{id}");
            assert_eq!(r["k"], row["k"].to_string(), "step of {id}");
            for (c, w) in ["asteroid", "other"].iter().zip(&want) {
                let p: f64 = r[&format!("p_{c}")].parse().expect("p");
                assert!((p - w).abs() < 1e-6, "{id} {c}: {p} vs {w}");
            }
        }
        let on_topic = answers
            .iter()
            .filter(|r| r.alert_id == Some(id))
            .collect::<Vec<_>>();
        assert!(
            !on_topic.is_empty(),
            "LSST alert {id} not on the output topic"
        );
        for r in on_topic {
            assert_eq!(r.classes, ["asteroid", "other"]);
            for (p, w) in r.probabilities.iter().zip(&want) {
                assert!((*p as f64 - w).abs() < 1e-6, "{id}");
            }
        }
    }

    // Every unreadable message in the dead-letter topic, whole, with its error.
    let dead = read_topic(&broker.address(), "dead");
    let dead_keys: BTreeSet<String> = dead.iter().filter_map(|m| m.key.clone()).collect();
    let want_keys: BTreeSet<String> = corrupt.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(dead_keys, want_keys);
    for m in &dead {
        let key = m.key.clone().unwrap_or_default();
        let original = &corrupt.iter().find(|(k, _)| *k == key).expect("known").1;
        assert_eq!(&m.payload, original, "{key} kept whole");
        let error = m
            .headers
            .iter()
            .find(|(k, _)| k == "stampseq-error")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        assert!(
            error.contains("alerts["),
            "{key}: the error names the message: {error}"
        );
        assert!(!error.is_empty());
    }
    // The consumers' logs name each dead letter's message once.
    let logs = ["a", "a2", "b"].map(|n| log(dir.path(), n)).join("\n");
    let told: Vec<&str> = logs
        .lines()
        .filter_map(|l| l.split_once("dead letter: ").map(|(_, rest)| rest))
        .collect();
    assert!(!told.is_empty(), "no dead letter in the logs:\n{logs}");
    for rest in told {
        let at: String = rest
            .chars()
            .take_while(|c| !matches!(c, ':' | ' '))
            .collect();
        assert!(at.starts_with("alerts["), "{rest}");
        assert_eq!(rest.matches(&at).count(), 1, "{rest}");
    }
    let unknown = dead
        .iter()
        .find(|m| m.key.as_deref() == Some("unknown-schema-id"))
        .expect("unknown schema id");
    assert!(
        unknown
            .headers
            .iter()
            .any(|(k, v)| k == "stampseq-error" && v.contains("2147483632")),
        "{:?}",
        unknown.headers
    );
}

/// Replays `files` into the topic "alerts", then runs one `stampseq stream` process of group
/// "g" until it has caught up, answers in `dir/out`, state in `dir/state`; its log.
fn replay_then_stream(
    broker: &Broker,
    files: &[PathBuf],
    dir: &Path,
    extra: &[&std::ffi::OsStr],
) -> String {
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    produce(broker, "alerts", &refs);
    let out = run_ok(
        stampseq()
            .args([
                "stream",
                "--brokers",
                &broker.address(),
                "--topic",
                "alerts",
            ])
            .args(["--group", "g", "--from-beginning", "--until-caught-up"])
            .args(extra)
            .arg("--out")
            .arg(dir.join("out"))
            .arg("--state-dir")
            .arg(dir.join("state")),
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_restart_continues_the_sequences_from_the_committed_offsets() {
    let broker = Broker::start();
    broker.create_topic("alerts", 2);
    let object = ztf("sequences/ZTF25aatmfzy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&object)
        .expect("object")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |files: &[PathBuf]| replay_then_stream(&broker, files, dir.path(), &[]);
    // The first alert, then the rest in a second process.
    let (first, rest) = files.split_at(1);
    run(first);
    run(rest);
    let mut steps = BTreeMap::new();
    for f in std::fs::read_dir(dir.path().join("out")).expect("out") {
        let mut reader = csv::Reader::from_path(f.expect("csv").path()).expect("csv");
        for r in reader.deserialize::<BTreeMap<String, String>>() {
            let r = r.expect("row");
            steps.insert(r["alertId"].clone(), r["k"].parse::<usize>().expect("k"));
        }
    }
    // Each alert answered once, and the second process knew the first alert.
    assert_eq!(steps.len(), files.len());
    let mut ks: Vec<usize> = steps.values().copied().collect();
    ks.sort();
    assert_eq!(ks, (1..=files.len()).collect::<Vec<_>>());
}

#[test]
fn a_stream_without_outputs_or_credentials_is_refused_with_the_reason() {
    let out = stampseq()
        .args(["stream", "--brokers", "127.0.0.1:1", "--topic", "t"])
        .output()
        .expect("stream");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("somewhere to write the answers"), "{err}");

    let out = stampseq()
        .args([
            "stream",
            "--brokers",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--out",
            "x",
            "--security-protocol",
            "sasl-ssl",
            "--username",
            "astro",
        ])
        .env_remove("STAMPSEQ_KAFKA_PASSWORD")
        .output()
        .expect("stream");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("STAMPSEQ_KAFKA_PASSWORD"), "{err}");

    // Two models of one survey: which answers its alerts is not said.
    let dir = tempfile::tempdir().expect("tempdir");
    let default_model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/default-trees.stampseq");
    let out = stampseq()
        .args([
            "stream",
            "--brokers",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg("--model")
        .arg(&default_model)
        .arg("--model")
        .arg(&default_model)
        .output()
        .expect("stream");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("both trained on ZTF alerts") && err.contains("default-trees.stampseq"),
        "{err}"
    );
}

/// A member that dies (SIGKILL, never restarted) hands its partitions to the survivor, which
/// answers every alert. With the cooperative protocol: tansu 0.6.0 never rebalances a dead
/// member's partitions under the eager one, and under either only when the survivor leads
/// the group (it does here: it joins first), as the README says.
#[test]
fn a_dying_member_hands_its_partitions_to_the_survivor() {
    let broker = Broker::start();
    broker.create_topic("alerts", 4);
    broker.create_topic("answers", 4);
    broker.create_topic("dead", 1);
    let sequences = ztf("sequences");
    produce(&broker, "alerts", &[&sequences]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cooperative = ["-X", "partition.assignment.strategy=cooperative-sticky"];
    let holds = |name: &str, n: usize| {
        status(dir.path(), name)
            .is_some_and(|s| s["partitions"].as_array().is_some_and(|p| p.len() == n))
    };
    let mut b = start_consumer_with(&broker, dir.path(), "b", &cooperative);
    wait_in(
        Some(dir.path()),
        "b to join (and lead) the group",
        Duration::from_secs(60),
        &mut || holds("b", 4),
    );
    let mut a = start_consumer_with(&broker, dir.path(), "a", &cooperative);
    wait_in(
        Some(dir.path()),
        "a to take a share",
        Duration::from_secs(60),
        &mut || status(dir.path(), "a").is_some_and(|s| s["alerts"].as_u64().unwrap_or(0) >= 5),
    );
    a.kill().expect("SIGKILL a");
    a.wait().expect("a reaped");
    let a_status = status(dir.path(), "a").expect("a status");
    let a_alerts = a_status["alerts"].as_u64().unwrap_or(0);
    assert!(
        a_alerts < 184,
        "a answered everything before it died ({a_alerts})"
    );
    let a_partitions: BTreeSet<String> = a_status["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["partition"].to_string())
        .collect();
    assert!(!a_partitions.is_empty(), "a held no partition");
    // No restart: the survivor takes the dead member's partitions after its session times
    // out (6 s here) and answers the rest.
    wait_in(
        Some(dir.path()),
        "b to take the dead member's partitions",
        Duration::from_secs(60),
        &mut || holds("b", 4),
    );
    let want: BTreeSet<String> = std::fs::read_dir(&sequences)
        .expect("sequences")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .filter_map(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            let candid = name.strip_suffix(".avro")?.rsplit('_').next()?.to_string();
            Some(candid)
        })
        .collect();
    assert_eq!(want.len(), 184);
    let answered = || -> BTreeSet<String> {
        let mut got = BTreeSet::new();
        for d in ["answers-a", "answers-b"] {
            for f in std::fs::read_dir(dir.path().join(d))
                .into_iter()
                .flatten()
                .flatten()
            {
                let Ok(mut reader) = csv::Reader::from_path(f.path()) else {
                    continue;
                };
                for r in reader.deserialize::<BTreeMap<String, String>>().flatten() {
                    if let Some(id) = r.get("alertId") {
                        got.insert(id.clone());
                    }
                }
            }
        }
        got
    };
    wait_in(
        Some(dir.path()),
        "b to answer every alert",
        Duration::from_secs(90),
        &mut || want.is_subset(&answered()),
    );
    // b answered messages of the dead member's partitions: it took them over.
    let mut taken_over = 0;
    for f in std::fs::read_dir(dir.path().join("answers-b"))
        .expect("answers-b")
        .flatten()
    {
        let mut reader = csv::Reader::from_path(f.path()).expect("csv");
        for r in reader.deserialize::<BTreeMap<String, String>>().flatten() {
            if r.get("partition").is_some_and(|p| a_partitions.contains(p)) {
                taken_over += 1;
            }
        }
    }
    assert!(
        taken_over > 0,
        "b answered nothing of a's partitions {a_partitions:?}"
    );
    let ok = Command::new("kill")
        .args(["-TERM", &b.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let exit = b.wait().expect("b exit");
    assert!(exit.success(), "b: {exit:?}\n{}", log(dir.path(), "b"));
}

/// A temporal network streamed across a restart answers as `classify` does: the state keeps
/// each message for such a model, and the restarted consumer gives the earlier alerts their
/// stamps back (without them the network would read the first detections blank).
#[test]
fn after_a_restart_a_temporal_network_still_reads_the_earlier_stamps() {
    let broker = Broker::start();
    broker.create_topic("alerts", 1);
    let object = ztf("sequences/ZTF19abegmle");
    // In time order, as a survey sends them.
    let (mut alerts, _) =
        stampseq::alert::read_all(&[&object], &stampseq::alert::ReadOptions::default());
    alerts.sort_by(|a, b| a.candidate.jd.total_cmp(&b.candidate.jd));
    let files: Vec<PathBuf> = alerts
        .iter()
        .map(|a| PathBuf::from(&*a.origin.file))
        .collect();
    assert_eq!(files.len(), 7);
    let model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/tsc-gru-real.stampseq");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |files: &[PathBuf]| {
        replay_then_stream(
            &broker,
            files,
            dir.path(),
            &["--model".as_ref(), model.as_os_str()],
        )
    };
    // Two alerts, then the rest in a second process.
    let (first, rest) = files.split_at(2);
    run(first);
    let log = run(rest);
    assert!(!log.contains("without its stamps"), "{log}");

    // classify's answers on the same files, each detection from the earlier ones only.
    let out = run_ok(
        stampseq()
            .arg("classify")
            .arg("--model")
            .arg(&model)
            .args(["--max-detections", "0", "--causal"])
            .arg(&object),
    );
    let mut want: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let classes = ["AGN", "SN", "VS", "asteroid"];
    for r in reader.deserialize::<BTreeMap<String, String>>() {
        let r = r.expect("row");
        let p = classes
            .iter()
            .map(|c| r[&format!("p_{c}")].parse().expect("p"))
            .collect();
        want.insert(r["candid"].clone(), p);
    }
    let mut got: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for f in std::fs::read_dir(dir.path().join("out")).expect("out") {
        let mut reader = csv::Reader::from_path(f.expect("csv").path()).expect("csv");
        for r in reader.deserialize::<BTreeMap<String, String>>() {
            let r = r.expect("row");
            let p = classes
                .iter()
                .map(|c| r[&format!("p_{c}")].parse().expect("p"))
                .collect();
            got.insert(r["alertId"].clone(), p);
        }
    }
    assert_eq!(got.len(), files.len());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (id, p) in &got {
        let q = &want[id];
        let diff = p
            .iter()
            .zip(q)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(diff < 1e-5, "alert {id}: stream {p:?}, classify {q:?}");
    }
}
