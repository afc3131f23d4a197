//! The `whisker` binary: bad input gets one clear line naming the file and a non-zero exit;
//! `whisker report` prints its three parts, as text and as JSON.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn whisker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whisker"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("whisker runs")
}

/// Asserts a failure whose stderr is one line mentioning every `needle`.
fn assert_fails_with(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{:?} not in {:?}", n, lines[0]);
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn unreadable_image_is_named() {
    let d = tempfile::tempdir().unwrap();
    let pets = common::pets();
    copy(
        &pets.join("train/cat/cat.0.jpg"),
        &d.path().join("cat/cat.0.jpg"),
    );
    copy(
        &pets.join("train/dog/dog.0.jpg"),
        &d.path().join("dog/dog.0.jpg"),
    );
    std::fs::write(d.path().join("dog/fake.jpg"), b"this is text, not a photo").unwrap();
    let jpg = std::fs::read(pets.join("train/cat/cat.1.jpg")).unwrap();
    std::fs::write(d.path().join("cat/truncated.jpg"), &jpg[..jpg.len() / 3]).unwrap();
    let out_model = d.path().join("m.safetensors");
    let out = whisker(&[
        "train",
        s(d.path()),
        "--out",
        s(&out_model),
        "--epochs",
        "1",
    ]);
    assert_fails_with(&out, &["truncated.jpg", "cannot read this image"]);
    std::fs::remove_file(d.path().join("cat/truncated.jpg")).unwrap();
    let out = whisker(&[
        "train",
        s(d.path()),
        "--out",
        s(&out_model),
        "--epochs",
        "1",
    ]);
    assert_fails_with(&out, &["fake.jpg", "cannot read this image"]);
    assert!(!out_model.exists());
}

#[test]
fn empty_class_folder_is_named() {
    let d = tempfile::tempdir().unwrap();
    copy(
        &common::pets().join("train/cat/cat.0.jpg"),
        &d.path().join("cat/a.jpg"),
    );
    std::fs::create_dir_all(d.path().join("dog")).unwrap();
    let out = whisker(&["train", s(d.path()), "--out", "/tmp/never.safetensors"]);
    assert_fails_with(&out, &["dog", "no images"]);
}

#[test]
fn one_class_is_not_enough() {
    let d = tempfile::tempdir().unwrap();
    copy(
        &common::pets().join("train/cat/cat.0.jpg"),
        &d.path().join("cat/a.jpg"),
    );
    let out = whisker(&["train", s(d.path()), "--out", "/tmp/never.safetensors"]);
    assert_fails_with(&out, &["at least two classes"]);
}

#[test]
fn foreign_model_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let bogus = d.path().join("model.safetensors");
    std::fs::write(&bogus, b"{\"not\": \"a model\"}").unwrap();
    let photo = common::pets().join("val/cat/cat.1000.jpg");
    let out = whisker(&["predict", s(&bogus), s(&photo)]);
    assert_fails_with(&out, &["model.safetensors", "not a Whisker model"]);
    let out = whisker(&["eval", s(&bogus), s(&common::pets().join("val"))]);
    assert_fails_with(&out, &["model.safetensors", "not a Whisker model"]);
}

#[test]
fn missing_weights_record_is_named() {
    let d = tempfile::tempdir().unwrap();
    let pets = common::pets();
    copy(
        &pets.join("train/cat/cat.0.jpg"),
        &d.path().join("cat/a.jpg"),
    );
    copy(
        &pets.join("train/dog/dog.0.jpg"),
        &d.path().join("dog/a.jpg"),
    );
    let missing = d.path().join("nowhere.f32.bpk");
    let out = whisker(&[
        "train",
        s(d.path()),
        "--out",
        s(&d.path().join("m.safetensors")),
        "--weights",
        s(&missing),
    ]);
    assert_fails_with(&out, &["nowhere.f32.bpk", "setup-weights"]);
}

#[test]
fn missing_model_file_is_named() {
    let out = whisker(&["predict", "/nonexistent/model.safetensors", "x.jpg"]);
    assert_fails_with(&out, &["/nonexistent/model.safetensors"]);
}

/// A folder of class folders holding symbolic links to the first `n` photos of each of `classes`
/// in the pets `split` (`train` or `val`).
fn linked_classes(dir: &Path, split: &str, classes: &[&str], n: usize) {
    for class in classes {
        let from = common::pets().join(split).join(class);
        let mut photos: Vec<_> = std::fs::read_dir(&from)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        photos.sort();
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for p in photos.iter().take(n) {
            std::os::unix::fs::symlink(p, dir.join(class).join(p.file_name().unwrap())).unwrap();
        }
    }
}

fn succeeds(out: &Output) -> String {
    assert!(
        out.status.success(),
        "whisker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The number after `label` on the line that starts with it.
fn figure(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"));
    let rest = line.trim_start()[label.len()..].trim_start();
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no number in {line:?}"))
}

fn accuracy(v: &serde_json::Value) -> f64 {
    let a = v.as_f64().unwrap_or_else(|| panic!("not an accuracy: {v}"));
    assert!((0.0..=1.0).contains(&a), "{a}");
    a
}

#[test]
fn report_prints_expected_accuracy_transfer_and_layers() {
    let d = tempfile::tempdir().unwrap();
    let (train, val) = (d.path().join("train"), d.path().join("val"));
    linked_classes(&train, "train", &["cat", "dog"], 4);
    linked_classes(&val, "val", &["cat", "dog"], 5);
    let args = ["report", s(&train), "--val", s(&val)];

    let text = succeeds(&whisker(&args));
    let expected = figure(&text, "expected accuracy:");
    assert!((0.0..=1.0).contains(&expected), "{text}");
    assert!(text.contains("most confused: "), "{text}");
    let pretrained = figure(&text, "pretrained backbone:");
    let random_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("random backbone:"))
        .unwrap_or_else(|| panic!("no random backbone line in:\n{text}"));
    let by_layer = text
        .lines()
        .skip_while(|l| !l.starts_with("by layer"))
        .skip(2)
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(by_layer, ["7", "14", "18"], "{text}");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = succeeds(&whisker(&json_args));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["backbone"], "mobilenet-v2");
    assert_eq!(v["training_photos"], 8);
    assert_eq!(v["validation_photos"], 10);
    assert_eq!(v["chance_accuracy"], 0.5);
    // Beating chance takes more than a photo of luck.
    assert!(accuracy(&v["beats_chance_above"]) > 0.6);
    // Text and JSON report the same run.
    assert!((accuracy(&v["expected_accuracy"]) - expected).abs() < 1e-4);
    assert!((accuracy(&v["pretrained"]["accuracy"]) - pretrained).abs() < 1e-4);
    // ImageNet features tell cats from dogs even from 4 photos each.
    assert_eq!(v["pretrained"]["beats_chance"], true, "{v}");
    accuracy(&v["baseline"]["accuracy"]);
    let beats = v["baseline"]["beats_chance"].as_bool().expect("a boolean");
    assert_eq!(
        random_line.contains("could not beat chance"),
        !beats,
        "{random_line} / {v}"
    );
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for (layer, (stage, channels)) in layers.iter().zip([(7, 64), (14, 160), (18, 1280)]) {
        assert_eq!(layer["stage"], stage);
        assert_eq!(layer["channels"], channels);
        accuracy(&layer["expected_accuracy"]);
        accuracy(&layer["validation_accuracy"]);
    }
    // The last layer is the pretrained backbone's final features.
    assert_eq!(
        layers[2]["validation_accuracy"],
        v["pretrained"]["accuracy"]
    );
}

#[test]
fn report_without_val_holds_out_a_share_like_train() {
    let d = tempfile::tempdir().unwrap();
    linked_classes(d.path(), "train", &["cat", "dog"], 5);
    let out = succeeds(&whisker(&["report", s(d.path()), "--json"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    // 20% of 5 photos a class: one each.
    assert_eq!(v["training_photos"], 8);
    assert_eq!(v["validation_photos"], 2);
    let share = v["validation"]["held_out_share"].as_f64().unwrap();
    assert!((share - 0.2).abs() < 1e-6, "{share}");
    accuracy(&v["expected_accuracy"]);
    accuracy(&v["baseline"]["accuracy"]);
}

#[test]
fn report_on_a_bad_folder_says_why() {
    let out = whisker(&["report", "/nonexistent/photos"]);
    assert_fails_with(&out, &["/nonexistent/photos", "not a folder"]);

    // One cat: leaving it out leaves no cat to find.
    let d = tempfile::tempdir().unwrap();
    let (train, val) = (d.path().join("train"), d.path().join("val"));
    linked_classes(&train, "train", &["cat"], 1);
    linked_classes(&train, "train", &["dog"], 2);
    linked_classes(&val, "val", &["cat", "dog"], 1);
    let out = whisker(&["report", s(&train), "--val", s(&val)]);
    assert_fails_with(&out, &["cat", "at least 2"]);
}

/// `--cut-stage 14` trains a head on stage 14's pooled output (160 values), the file records it,
/// and `eval` and `predict` run the file as trained: `eval` on the `--val` photos gives exactly the
/// validation accuracy `train` printed (no refit with an explicit `--val`). A stage that is not a
/// cut point, or one with fine-tuning, is refused in one line naming what to choose.
#[test]
fn trains_at_an_earlier_cut_point_and_evals_from_the_file() {
    let d = tempfile::tempdir().unwrap();
    let (train, val) = (d.path().join("train"), d.path().join("val"));
    linked_classes(&train, "train", &["cat", "dog"], 4);
    linked_classes(&val, "val", &["cat", "dog"], 5);
    let model = d.path().join("early.safetensors");
    let text = succeeds(&whisker(&[
        "train",
        s(&train),
        "--val",
        s(&val),
        "--out",
        s(&model),
        "--epochs",
        "5",
        "--cut-stage",
        "14",
    ]));
    assert!(
        text.contains("cut point: stage 14 (160 pooled values"),
        "{text}"
    );
    let trained = figure(&text, "validation accuracy:");

    let bytes = std::fs::read(&model).unwrap();
    let meta = whisker::ml::model_file::read_meta("early", &bytes).unwrap();
    assert_eq!(meta.cut_stage, Some(14));
    assert_eq!(meta.fine_tune_blocks, 0);

    let out = succeeds(&whisker(&["eval", s(&model), s(&val), "--json"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let evaluated = accuracy(&v["accuracy"]);
    assert!(
        (evaluated - trained).abs() < 1e-4,
        "{evaluated} vs {trained}"
    );

    let photo = common::pets().join("val/cat/cat.1000.jpg");
    let out = succeeds(&whisker(&["predict", s(&model), s(&photo)]));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("cat") || out.contains("dog"), "{out}");

    let never = d.path().join("never.safetensors");
    let out = whisker(&["train", s(&train), "--out", s(&never), "--cut-stage", "9"]);
    assert_fails_with(&out, &["stage 9", "7", "14", "18", "default"]);
    let out = whisker(&[
        "train",
        s(&train),
        "--out",
        s(&never),
        "--cut-stage",
        "14",
        "--fine-tune-blocks",
        "2",
    ]);
    assert_fails_with(&out, &["fine-tun", "last stage"]);
    assert!(!never.exists());
}
