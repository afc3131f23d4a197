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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_names_are_safe_and_say_the_classes() {
        let names =
            |c: &[&str]| suggested_file_name(&c.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(names(&["Cat", "Not cat"]), "whisker-cat-notcat.safetensors");
        assert_eq!(names(&["../x", "Dog 2"]), "whisker-x-dog2.safetensors");
        assert_eq!(names(&["猫", "🐶"]), "whisker-model.safetensors");
        let long = names(&["a".repeat(40).as_str(), "b".repeat(40).as_str()]);
        assert!(long.len() <= 60 + ".safetensors".len(), "{long}");
    }
}
