//! The acceptance check, through the real CLI: train on 20 + 20 photos, evaluate on the
//! held-out val photos; pretrained >= 95%, the random-backbone baseline far below.

mod common;

use std::path::Path;
use std::process::Command;

fn whisker(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_whisker"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("whisker runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "whisker {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Links the chosen class folders of `pets/<split>` into a temporary data folder.
fn subset(split: &str, classes: &[&str], dest: &Path) {
    for c in classes {
        std::os::unix::fs::symlink(common::pets().join(split).join(c), dest.join(c)).unwrap();
    }
}

fn accuracy(stdout: &str) -> f32 {
    let last = stdout.lines().last().unwrap_or_default();
    last.strip_prefix("accuracy: ")
        .unwrap_or_else(|| panic!("last line is not `accuracy: ...`: {stdout}"))
        .parse()
        .unwrap()
}

fn train_and_eval(classes: &[&str], extra: &[&str]) -> f32 {
    train_and_eval_with(classes, extra, &[])
}

/// As [`train_and_eval`], with `run` (backend and weights options) given to both commands.
fn train_and_eval_with(classes: &[&str], extra: &[&str], run: &[&str]) -> f32 {
    let d = tempfile::tempdir().unwrap();
    let (train, val) = (d.path().join("train"), d.path().join("val"));
    std::fs::create_dir_all(&train).unwrap();
    std::fs::create_dir_all(&val).unwrap();
    subset("train", classes, &train);
    subset("val", classes, &val);
    let model = d.path().join("model.safetensors");
    let mut args = vec![
        "train",
        train.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(run);
    println!("{}", whisker(&args));
    let mut eval = vec!["eval", model.to_str().unwrap(), val.to_str().unwrap()];
    eval.extend_from_slice(run);
    let report = whisker(&eval);
    println!("{report}");
    accuracy(&report)
}

#[test]
fn cat_vs_dog_transfers() {
    let pretrained = train_and_eval(&["cat", "dog"], &[]);
    let random = train_and_eval(&["cat", "dog"], &["--random-backbone"]);
    println!("cat/dog: pretrained {pretrained:.4}, random backbone {random:.4}");
    assert!(pretrained >= 0.95, "pretrained accuracy {pretrained}");
    assert!(
        random <= pretrained - 0.2,
        "random backbone {random} is not far below"
    );
}

#[test]
fn cat_dog_other_transfers() {
    let pretrained = train_and_eval(&["cat", "dog", "other"], &[]);
    let random = train_and_eval(&["cat", "dog", "other"], &["--random-backbone"]);
    println!("cat/dog/other: pretrained {pretrained:.4}, random backbone {random:.4}");
    assert!(pretrained >= 0.95, "pretrained accuracy {pretrained}");
    assert!(
        random <= pretrained - 0.2,
        "random backbone {random} is not far below"
    );
}

/// The record the browser downloads (int8, no ImageNet classifier) keeps the accuracy.
#[test]
fn the_browsers_record_keeps_the_accuracy() {
    let record = common::record("mobilenet_v2.i8.bpk");
    let run = ["--weights", record.to_str().unwrap()];
    let int8 = train_and_eval_with(&["cat", "dog", "other"], &[], &run);
    println!("cat/dog/other on the int8 record: {int8:.4}");
    assert!(int8 >= 0.95, "int8 record's accuracy {int8}");
}

#[test]
fn fine_tuning_keeps_accuracy() {
    let tuned = train_and_eval(
        &["cat", "dog"],
        &["--fine-tune-blocks", "2", "--fine-tune-epochs", "3"],
    );
    println!("cat/dog fine-tuned: {tuned:.4}");
    assert!(tuned >= 0.93, "fine-tuned accuracy {tuned}");
}
