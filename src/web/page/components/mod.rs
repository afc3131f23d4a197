//! The page's components, one per file.

pub mod backbone_choice;
pub mod backend_badge;
pub mod camera_view;
pub mod class_card;
pub mod compare_card;
pub mod curves;
pub mod feature_map;
pub mod file_picker;
pub mod layer_compare;
pub mod live_view;
pub mod load_banner;
pub mod model_actions;
pub mod notice;
pub mod photo_grid;
pub mod photo_thumb;
pub mod predict_panel;
pub mod progress_bar;
pub mod project_actions;
pub mod results;
pub mod settings;
pub mod train_panel;
pub mod transfer_compare;
pub mod transfer_preview;
pub mod webcam;
