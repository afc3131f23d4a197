//! The `whisker` binary: bad input gets one clear line naming the file and a non-zero exit.

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
