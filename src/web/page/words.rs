//! Typed errors and states into plain words for people. The only place the UI's sentences about
//! failures are written.

use crate::core::archive::ArchiveError;
use crate::core::dataset::DatasetError;
use crate::core::output_check::OutputFault;
use crate::ml::MlError;
use crate::ml::backbone::BackboneKind;
use crate::ml::error::ModelFileProblem;
use crate::ml::progress::{FineTuning, Phase};
use crate::ml::reports::SessionError;
use crate::web::glue::camera::CameraError;
use crate::web::glue::fetch::FetchError;
use crate::web::glue::storage::StorageError;
use crate::web::protocol::{
    BackendInfo, BackendKind, CpuReason, DecodeError, EngineError, LoadError, PhotoError,
};

/// The backend badge's text.
pub fn backend_label(info: &BackendInfo) -> String {
    match (&info.kind, &info.cpu_reason) {
        (BackendKind::WebGpu, _) => match &info.adapter {
            Some(a) => format!("WebGPU · {}", a.name),
            None => "WebGPU".to_string(),
        },
        (BackendKind::Cpu, Some(CpuReason::NoWebGpu | CpuReason::NoAdapter))
        | (BackendKind::Cpu, None) => "CPU (no WebGPU in this browser)".to_string(),
        (BackendKind::Cpu, Some(CpuReason::Asked)) => "CPU (chosen in the address)".to_string(),
        (BackendKind::Cpu, Some(CpuReason::SoftwareAdapter(_))) => {
            "CPU (no hardware WebGPU)".to_string()
        }
        (BackendKind::Cpu, Some(CpuReason::InitFailed(_))) => {
            "CPU (WebGPU failed to start)".to_string()
        }
    }
}

/// A longer explanation of the backend choice (the badge's tooltip).
pub fn backend_note(info: &BackendInfo) -> String {
    match &info.cpu_reason {
        None => "Training and predictions run on your GPU through WebGPU. Add ?backend=cpu to the address to use the CPU instead.".to_string(),
        Some(CpuReason::Asked) => "The address asks for the CPU (?backend=cpu). Everything works, just more slowly than on a GPU.".to_string(),
        Some(CpuReason::NoWebGpu) => "This browser has no WebGPU, so Whisker runs on the CPU. Everything works, just more slowly.".to_string(),
        Some(CpuReason::NoAdapter) => "WebGPU offered no GPU (it may be switched off or your GPU blocklisted), so Whisker runs on the CPU.".to_string(),
        Some(CpuReason::SoftwareAdapter(name)) => format!(
            "The only WebGPU device here is a software renderer ({name}), which is slower than the CPU path. Add ?backend=webgpu to the address to use it anyway."
        ),
        Some(CpuReason::InitFailed(detail)) => format!(
            "WebGPU is there but could not be started ({detail}), so Whisker runs on the CPU."
        ),
    }
}

/// Why a photo was not added.
pub fn photo_error(e: &PhotoError) -> String {
    match e {
        PhotoError::Decode(DecodeError::NotAnImage { name }) => {
            format!(
                "“{name}” isn't a photo this browser can open. Use JPEG, PNG, WebP or GIF files."
            )
        }
        PhotoError::Decode(DecodeError::TooLarge { name, megabytes }) => {
            format!("“{name}” is too large ({megabytes:.0} MB). Use photos under 64 MB.")
        }
        PhotoError::Decode(DecodeError::Pixels { name, .. }) => {
            format!(
                "“{name}” could not be read (the browser may be out of memory). Try again, or use a smaller photo."
            )
        }
        PhotoError::Preprocess { name, .. } => format!("“{name}” has no usable pixels."),
        PhotoError::Gone(_) => {
            "A photo was removed while training started. Press Train again.".to_string()
        }
    }
}

/// A training phase, as the progress panel names it.
pub fn phase_title(phase: Phase) -> &'static str {
    match phase {
        Phase::Extracting => "Looking at your photos",
        Phase::Training => "Training",
        Phase::FineTuning => "Fine-tuning",
        Phase::Refitting => "Final pass on all your photos",
    }
}

/// Why the network's weights could not be downloaded.
pub fn fetch_error(e: &FetchError) -> String {
    match e {
        FetchError::Status { status: 404, url } => format!(
            "The network's weights ({url}) are missing on the server. If you run Whisker yourself, run scripts/setup-weights.sh and rebuild."
        ),
        FetchError::Status { status, .. } => format!(
            "The server refused to send the network's weights (HTTP {status}). Reload the page to try again."
        ),
        FetchError::Network { .. } => "The network's weights could not be downloaded: the server is unreachable. Check that it is still running, then reload the page.".to_string(),
        FetchError::Body { received, .. } => format!(
            "The download of the network's weights broke off after {}. Reload the page to try again.",
            bytes(*received)
        ),
    }
}

/// Why the engine could not build the network.
pub fn load_error(e: &LoadError) -> String {
    match e {
        LoadError::Weights(_) => "The network's file arrived damaged or does not fit this version of Whisker. Reload the page to download it again.".to_string(),
        LoadError::Warmup(_) => "The network failed its first test run on this device. Add ?backend=cpu to the address to use the CPU instead.".to_string(),
        LoadError::Busy => "A training is running: change the network once it ends.".to_string(),
    }
}

/// Why the expected accuracy is low: a class with few photos.
pub fn few_photos_hint(class: &str, photos: usize) -> String {
    format!("“{class}” has only {photos} photos: add more to it.")
}

/// Why the expected accuracy is low: two classes the network sees as alike.
pub fn look_alike_hint(a: &str, b: &str) -> String {
    format!("“{a}” and “{b}” look alike to the network: add more photos that show how they differ.")
}

/// Asked before choosing another network sets the current model aside.
pub fn switch_question(kind: BackboneKind) -> String {
    format!(
        "Use {} instead? Your model was made with the other network, so it is set aside and you train again (your photos stay). Download your model first if you want to keep it.",
        kind.name()
    )
}

/// When the chosen network could not be loaded (the previous one stays in use).
pub fn switch_failed(kind: BackboneKind, why: &str) -> String {
    format!(
        "{} could not be loaded, so Whisker keeps using the other network. {why}",
        kind.name()
    )
}

/// How a network is offered: what it is good for, its name and what choosing it downloads.
pub fn backbone_choice(kind: BackboneKind) -> (&'static str, String) {
    let size = bytes(kind.record_size(crate::ml::backbone::Precision::BROWSER));
    match kind {
        BackboneKind::MobileNetV2 => ("Faster", format!("{} · {size} download", kind.name())),
        BackboneKind::EfficientNetLite0 => (
            "More accurate",
            format!(
                "{} · {size} download · fewer mistakes, a bit slower",
                kind.name()
            ),
        ),
    }
}

/// Why training did not run or stopped.
pub fn train_error(e: &EngineError) -> String {
    match e {
        EngineError::NotLoaded => {
            "The network is still loading. Wait a moment and press Train again.".to_string()
        }
        EngineError::Session(e) => match e {
            SessionError::Dataset(e) => dataset_error(e),
            SessionError::Ml(e) => ml_error(e),
            SessionError::Photo(e) => photo_error(e),
            SessionError::Stopped => {
                "Training stopped before it began: nothing was trained.".to_string()
            }
            SessionError::Busy => {
                "A training run is already going on. Wait for it, or press Stop.".to_string()
            }
            SessionError::NoModel => "Train a model first, then try your photos.".to_string(),
        },
    }
}

/// Why the classes cannot be trained on.
fn dataset_error(e: &DatasetError) -> String {
    match e {
        DatasetError::TooFewClasses(_) => {
            "Whisker needs at least two classes to tell apart. Add another class.".to_string()
        }
        DatasetError::UnnamedClass(i) => format!("Class {} has no name. Give it one.", i + 1),
        DatasetError::EmptyClass(name) => format!(
            "The class “{name}” has no photos yet. Add some (5 or more works best), or delete the class."
        ),
        DatasetError::DuplicateClass(name) => {
            format!("Two classes are called “{name}”. Give each class its own name.")
        }
    }
}

/// Why a photo got no prediction.
pub fn predict_error(e: &EngineError) -> String {
    match e {
        EngineError::NotLoaded => "The network is still loading.".to_string(),
        EngineError::Session(SessionError::Photo(e)) => photo_error(e),
        e => train_error(e),
    }
}

/// The engine (the worker running the network) died while doing this; `_detail` goes to the
/// console only. A new one is starting (see `recovery`).
pub fn crashed(_detail: &str) -> String {
    "Whisker's engine stopped while doing this. It is restarting with your photos and model: try again in a moment.".to_string()
}

/// The engine died while loading the network.
pub const ENGINE_FAILED: &str = "Whisker's engine stopped working. Reload the page to try again; if it happens again, add ?backend=cpu to the address.";

/// The engine died and a new one is starting.
pub const RESTARTING: &str =
    "Whisker's engine stopped working. Starting a new one: your photos and model are kept.";

/// A new engine took over.
pub fn restarted(photos_back: usize, model: bool, was_on_gpu: bool) -> String {
    let what = if model {
        format!("{} and your model are", photos(photos_back))
    } else {
        format!("{} are", photos(photos_back))
    };
    let cpu = if was_on_gpu {
        " It now runs on the CPU, as the GPU failed."
    } else {
        ""
    };
    format!("Whisker's engine stopped and was restarted: {what} still here.{cpu}")
}

/// The engine keeps dying, or cannot be restarted.
pub fn crashed_for_good() -> String {
    "Whisker's engine keeps stopping. Reload the page: your classes, photos and model are kept in this browser. If it happens again, add ?backend=cpu to the address.".to_string()
}

/// An error of the ML layer during training or prediction.
pub fn ml_error(e: &MlError) -> String {
    match e {
        MlError::NoTrainingPhotos => "There are too few photos to keep some aside for checking. Add more photos, or lower the validation share in the settings.".to_string(),
        MlError::BadSetting(m) => {
            let mut s = capitalise(m);
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        MlError::Read(_) => "The device stopped responding while computing. Reload the page and try again; if it keeps happening, add ?backend=cpu to the address.".to_string(),
        MlError::Weights { .. } => {
            "The network's weights are damaged. Reload the page.".to_string()
        }
        MlError::ModelFile { name, problem } => model_file_problem(name, problem),
        MlError::TooManyPhotosForDevice { photos, most, .. } => format!(
            "This GPU cannot fine-tune that many blocks on {photos} photos (at most {most}). Fine-tune fewer blocks, or add ?backend=cpu to the address."
        ),
    }
}

/// Why the project is not being saved in this browser.
pub fn storage_error(e: &StorageError) -> String {
    match e {
        StorageError::Unavailable(_) => "This browser window does not keep files (a private window, or storage switched off): Whisker works, but your photos and model will be gone when you close it. Use Download model to keep the model.".to_string(),
        StorageError::Full => "The browser's storage for this page is full, so your latest changes are not saved. Use Download model to keep the model, or remove some photos.".to_string(),
        StorageError::Failed(_) => "Whisker could not save your project in this browser, so changes from now on are not kept after a reload. Use Download model to keep the model.".to_string(),
    }
}

/// The saved project came back after a reload.
pub fn restored(photos_back: usize, classes: usize, model: bool) -> String {
    format!(
        "Restored your project: {} in {classes} classes{}.",
        photos(photos_back),
        if model { ", and your model" } else { "" }
    )
}

/// Opening a project while training runs.
pub const BUSY_FOR_PROJECT: &str =
    "Training is running. Wait for it to finish (or press Stop), then open the project.";

/// Asked before an opened project replaces the current one.
pub const REPLACE_QUESTION: &str = "Open this project instead of the current one? Your current classes, photos and model will be deleted from this browser. Download your project first if you want to keep it.";

/// A project file the browser could not read.
pub fn project_unreadable(name: &str) -> String {
    format!("{name} could not be read. Check the file, then try again.")
}

/// A project file that is not a readable archive.
pub fn archive_error(name: &str, e: &ArchiveError) -> String {
    match e {
        ArchiveError::NotAnArchive | ArchiveError::Damaged(_) | ArchiveError::Checksum(_) => {
            format!("{name} is damaged or incomplete: download the project again.")
        }
        ArchiveError::Compressed(_) => format!(
            "{name} was re-packed with compression by another program. Open the file Whisker saved, as it was."
        ),
        ArchiveError::TooLarge => format!("{name} is too large to open (over 4 GB)."),
    }
}

/// An archive without Whisker's project in it.
pub fn not_a_project(name: &str) -> String {
    format!("{name} is not a Whisker project file.")
}

/// A project saved by a newer Whisker.
pub fn project_newer(name: &str) -> String {
    format!(
        "{name} was saved by a newer version of Whisker. Reload the page to get the newest version."
    )
}

/// A project file was opened.
pub fn project_opened(name: &str, photos_back: usize, classes: usize, model: bool) -> String {
    format!(
        "Opened {name}: {} in {classes} classes{}.",
        photos(photos_back),
        if model { ", and its model" } else { "" }
    )
}

/// Asked before "Start over" deletes everything.
pub const START_OVER_QUESTION: &str = "Start over? This deletes every class, photo and the model kept in this browser. Download your model first if you want to keep it.";

/// After "Start over".
pub const STARTED_OVER: &str =
    "Started over: your classes, photos and model were deleted from this browser.";

/// What became of fine-tuning, for the results (none when it was not asked).
pub fn fine_tuning(f: &FineTuning) -> Option<&'static str> {
    match f {
        FineTuning::NotAsked => None,
        FineTuning::Kept { .. } => Some(
            "Fine-tuning helped: on the photos held out, the fine-tuned model did better than the head alone, so it was kept.",
        ),
        FineTuning::Dropped { .. } => Some(
            "Fine-tuning did not help on the photos held out, so Whisker kept the model without it.",
        ),
        FineTuning::Unchecked => Some(
            "Fine-tuning was kept without a check: no photos were held out to compare it with the head alone.",
        ),
    }
}

/// Stop was pressed before training began.
pub const STOPPED_BEFORE_TRAINING: &str =
    "Stopped before training began: nothing new was trained. Press Train to start again.";

/// The browser refused to save the model file.
pub const DOWNLOAD_FAILED: &str = "The browser did not let Whisker save the model file. Check that downloads are allowed for this page, then try again.";

/// Why the model could not be downloaded or opened.
pub fn model_error(e: &EngineError) -> String {
    match e {
        EngineError::NotLoaded => {
            "The network is still loading. Wait a moment, then try again.".to_string()
        }
        EngineError::Session(SessionError::NoModel) => {
            "There is no model yet: train one first.".to_string()
        }
        EngineError::Session(SessionError::Busy) => {
            "Training is running. Wait for it to finish (or press Stop), then open the model."
                .to_string()
        }
        e => train_error(e),
    }
}

/// The model was trained before the classes or photos changed.
pub fn stale_model(classes: &[String]) -> String {
    format!(
        "Your classes or photos changed since training: this model still answers with {}. Train again to update it.",
        list(classes)
    )
}

/// A model file was opened.
pub fn model_opened(name: &str, classes: &[String]) -> String {
    format!(
        "Opened {name}. It tells apart {}: try it on new photos.",
        list(classes)
    )
}

/// "a", "a and b", "a, b and c" (each quoted).
fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("“{s}”")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Why the model file `name` cannot be opened, one sentence per case.
pub fn model_file_problem(name: &str, problem: &ModelFileProblem) -> String {
    match problem {
        ModelFileProblem::NotOurs => format!("{name} is not a Whisker model file."),
        ModelFileProblem::Damaged(_) => {
            format!("{name} is damaged or incomplete: download the model again.")
        }
        ModelFileProblem::NewerFormat { .. } => format!(
            "{name} was made by a newer version of Whisker. Reload the page to get the newest version."
        ),
        ModelFileProblem::UnknownBackbone { backbone, .. } => format!(
            "{name} needs a network ({backbone}) that this version of Whisker does not have."
        ),
        ModelFileProblem::OtherBackbone { model, loaded } => format!(
            "{name} was trained on {}, but {} is loaded.",
            model.name(),
            loaded.name()
        ),
        ModelFileProblem::OtherInitialisation { .. } => {
            format!("{name} was trained on a randomly initialised network, not the pretrained one.")
        }
        ModelFileProblem::Invalid(_) => {
            format!("{name} does not describe a model Whisker can run.")
        }
    }
}

/// Why the camera cannot be used, in one sentence; the rest of the page keeps working.
pub fn camera_error(e: &CameraError) -> String {
    match e {
        CameraError::Unavailable => {
            "This browser can't use a camera on this page (it needs an https:// address). You can still add photos from files."
        }
        CameraError::Denied => {
            "Whisker isn't allowed to use the camera. Allow it in your browser's site settings, or add photos from files."
        }
        CameraError::NotFound => "No camera was found. Connect one, or add photos from files.",
        CameraError::Busy(_) => {
            "The camera is in use by another app or tab. Close it there, then press the camera button again."
        }
        CameraError::Stopped => "The camera stopped. Press the camera button to start it again.",
        CameraError::Failed(_) => "The camera could not start. Try again, or add photos from files.",
    }
    .to_string()
}

/// What to do with an open camera.
pub fn camera_hint() -> &'static str {
    "Hold the button to record photos. Move around a little: different angles help."
}

/// The name of the `n`th photo taken with the camera since the page opened.
pub fn camera_photo(n: u64) -> String {
    format!("Camera photo {n}")
}

/// The name of a live camera frame (in messages about it).
pub fn live_frame() -> &'static str {
    "the camera's picture"
}

/// Live prediction before its first answer.
pub fn live_waiting() -> &'static str {
    "Looking…"
}

/// The live prediction's update rate.
pub fn live_rate(per_second: f64) -> String {
    format!("{per_second:.1} updates a second")
}

/// `1234567` bytes as "1.2 MB".
pub fn bytes(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.0} kB", n as f64 / 1e3)
    } else {
        format!("{n} bytes")
    }
}

/// A fraction as a whole percentage, "93%".
pub fn percent(p: f32) -> String {
    format!("{:.0}%", p * 100.0)
}

/// Seconds, short.
pub fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.0} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    }
}

/// "5 photos", "1 photo".
pub fn photos(n: usize) -> String {
    if n == 1 {
        "1 photo".into()
    } else {
        format!("{n} photos")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Why a comparison ("without transfer", "compare layers") did not run.
pub fn compare_error(e: &EngineError) -> String {
    match e {
        EngineError::Session(SessionError::Stopped) => "Stopped: nothing was compared.".into(),
        EngineError::Session(SessionError::Busy) => {
            "Whisker is busy training. Wait for it, then try again.".into()
        }
        e => train_error(e),
    }
}

/// What the gap between the pretrained model and the one without transfer means. Accuracies in
/// `[0, 1]`; `learned` says whether the baseline beat chance.
pub fn transfer_gap(with: f32, without: f32, learned: bool) -> String {
    let points = ((with - without) * 100.0).round();
    if !learned {
        return format!(
            "Without transfer, the same training on the same photos could not beat chance: everything this model knows about your photos came from what the network learned on ImageNet ({points:.0} points)."
        );
    }
    if points >= 5.0 {
        format!(
            "Transfer helps: what the network learned on ImageNet is worth {points:.0} points of accuracy on your photos (positive transfer)."
        )
    } else if points > -5.0 {
        "About the same with or without transfer: your classes are easy to tell apart even for a network that learned nothing, or there are too few held-out photos to see a difference.".into()
    } else {
        format!(
            "The network without transfer did {:.0} points better: what the network learned on ImageNet works against your photos here (negative transfer). Photos very unlike everyday ones (drawings, microscope images) can do that.",
            -points
        )
    }
}

/// A cut point of the backbone, in words: how deep and how many features.
pub fn layer_name(stage: usize, last: usize, width: usize) -> String {
    if stage == last {
        format!("Last layer (stage {stage}, {width} features)")
    } else {
        format!("Stage {stage} of {last} ({width} features)")
    }
}

/// Why a model's answers are not a real model's, naming its classes.
pub fn output_fault(fault: &OutputFault, classes: &[String]) -> String {
    let what = match fault {
        OutputFault::SingleClass(c) => format!(
            "it answers “{}” for every photo",
            classes.get(*c).map_or("one class", String::as_str)
        ),
        OutputFault::Constant => "it gives every photo the same scores".into(),
        OutputFault::NonFinite { .. } => "its scores are not numbers".into(),
        OutputFault::Empty | OutputFault::Ragged { .. } => "its answers are malformed".into(),
    };
    format!(
        "The network without transfer learned nothing usable: {what}, so its accuracy is only the share of one class."
    )
}

/// Too few held-out photos for any accuracy to show learning rather than luck.
pub fn too_few_to_tell(held_out: usize) -> String {
    format!(
        "With {} held out, no accuracy can tell learning from luck: add photos, or raise the validation share in the settings.",
        photos(held_out)
    )
}
