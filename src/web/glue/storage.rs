//! The browser's origin-private file system (OPFS): a folder of files that only this site sees,
//! kept across reloads, not sent anywhere. Whisker keeps the user's project in it.
//!
//! Why OPFS and not IndexedDB: what Whisker keeps *is* files (photo copies, the model file, a
//! manifest), written whole and read whole; OPFS stores each as a file with no schema, versioning
//! or transaction code, needs no extra crate (web-sys has it), and the same files go into the
//! project archive unchanged.

use super::js;
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

/// Why something could not be stored or read back.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum StorageError {
    /// This browser window keeps no files (private windows, old browsers, storage switched off).
    #[error("this browser keeps no files here: {0}")]
    Unavailable(String),
    /// The browser's storage for this site is full.
    #[error("the storage is full")]
    Full,
    /// Any other failure.
    #[error("{0}")]
    Failed(String),
}

impl StorageError {
    fn from_js(e: JsValue) -> Self {
        let name = js::get(&e, "name").as_string().unwrap_or_default();
        match name.as_str() {
            "QuotaExceededError" => StorageError::Full,
            "SecurityError" | "NotAllowedError" | "InvalidStateError" => {
                StorageError::Unavailable(js::describe(&e))
            }
            _ => StorageError::Failed(js::describe(&e)),
        }
    }
}

async fn wait(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, StorageError> {
    wait_raw(promise).await.map_err(StorageError::from_js)
}

async fn wait_raw(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

/// Whether a failure says the file is not there.
fn not_found(e: &JsValue) -> bool {
    js::get(e, "name").as_string().as_deref() == Some("NotFoundError")
}

/// A folder in the origin-private file system.
#[derive(Clone)]
pub struct Folder {
    handle: FileSystemDirectoryHandle,
}

impl Folder {
    /// The folder `name` at the top of this site's private file system, created if missing.
    pub async fn open(name: &str) -> Result<Folder, StorageError> {
        let navigator = js::get(&js_sys::global(), "navigator");
        let storage = js::get(&navigator, "storage");
        if storage.is_undefined() || js::get(&storage, "getDirectory").is_undefined() {
            return Err(StorageError::Unavailable(
                "no origin-private file system".into(),
            ));
        }
        let storage: web_sys::StorageManager = storage.unchecked_into();
        let root: FileSystemDirectoryHandle =
            wait(Ok(storage.get_directory())).await?.unchecked_into();
        let options = FileSystemGetDirectoryOptions::new();
        options.set_create(true);
        let handle = wait(Ok(root.get_directory_handle_with_options(name, &options)))
            .await?
            .unchecked_into();
        Ok(Folder { handle })
    }

    /// Asks the browser to keep this site's storage even when the disk runs low (it may say
    /// no; the files are still kept as long as the browser can).
    pub async fn ask_to_persist() -> bool {
        let navigator = js::get(&js_sys::global(), "navigator");
        let storage: web_sys::StorageManager = js::get(&navigator, "storage").unchecked_into();
        wait(storage.persist()).await.ok().and_then(|v| v.as_bool()) == Some(true)
    }

    /// Writes `data` (a `Blob`, a `BufferSource` or a string) as the file `name`, replacing it.
    /// The browser swaps the file in when the write is complete, so a crash mid-write keeps the
    /// old content.
    pub async fn write(&self, name: &str, data: &JsValue) -> Result<(), StorageError> {
        let options = FileSystemGetFileOptions::new();
        options.set_create(true);
        let file: FileSystemFileHandle =
            wait(Ok(self.handle.get_file_handle_with_options(name, &options)))
                .await?
                .unchecked_into();
        let stream: FileSystemWritableFileStream =
            wait(Ok(file.create_writable())).await?.unchecked_into();
        let written = if let Some(blob) = data.dyn_ref::<web_sys::Blob>() {
            wait(stream.write_with_blob(blob)).await
        } else if let Some(text) = data.as_string() {
            wait(stream.write_with_str(&text)).await
        } else {
            wait(stream.write_with_buffer_source(data.unchecked_ref())).await
        };
        if let Err(e) = written {
            let _ = wait(Ok(stream.abort())).await;
            return Err(e);
        }
        wait(Ok(stream.close())).await?;
        Ok(())
    }

    /// The file `name`, or `None` if there is none.
    pub async fn read(&self, name: &str) -> Result<Option<web_sys::File>, StorageError> {
        let handle = match wait_raw(Ok(self.handle.get_file_handle(name))).await {
            Ok(h) => h.unchecked_into::<FileSystemFileHandle>(),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(StorageError::from_js(e)),
        };
        let file = wait(Ok(handle.get_file())).await?;
        Ok(Some(file.unchecked_into()))
    }

    /// Deletes the file `name`; a missing file is not an error.
    pub async fn remove(&self, name: &str) -> Result<(), StorageError> {
        match wait_raw(Ok(self.handle.remove_entry(name))).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(StorageError::from_js(e)),
        }
    }

    /// Deletes every file of the folder.
    pub async fn clear(&self) -> Result<(), StorageError> {
        let names = js_sys::Array::new();
        let keys = self.handle.keys();
        loop {
            let next = wait(keys.next()).await?;
            if js::get_bool(&next, "done").unwrap_or(true) {
                break;
            }
            names.push(&js::get(&next, "value"));
        }
        let options = FileSystemRemoveOptions::new();
        options.set_recursive(true);
        for name in names.iter().filter_map(|n| n.as_string()) {
            wait(Ok(self.handle.remove_entry_with_options(&name, &options))).await?;
        }
        Ok(())
    }
}
