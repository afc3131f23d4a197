//! The name a model file is offered under when it leaves the browser (or the CLI). Plain text
//! (no burn): the page names its downloads with it.

/// A file name for a model of `classes`: `whisker-` and the class names in lowercase ASCII
/// letters and digits, joined by `-`, then `.safetensors` (e.g. `whisker-cat-dog.safetensors`).
/// Other characters are dropped, and the name stays short enough for every file system.
pub fn suggested_file_name(classes: &[String]) -> String {
    let words: Vec<String> = classes
        .iter()
        .map(|c| {
            c.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut stem = String::from("whisker");
    for word in words {
        if stem.len() + 1 + word.len() > 60 {
            break;
        }
        stem.push('-');
        stem.push_str(&word);
    }
    if stem == "whisker" {
        stem.push_str("-model");
    }
    format!("{stem}.safetensors")
}
