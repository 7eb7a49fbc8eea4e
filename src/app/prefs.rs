//! Preferences kept between runs with eframe's persistence. Only preferences: the data and
//! the labels live in files of their own.

use crate::app::state::BrowserFilter;
use crate::stamp::display::DisplaySettings;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Science and reference stamps.
    pub science: DisplaySettings,
    pub difference: DisplaySettings,
    /// Show a negative subtraction with its sign flipped, so a fading source looks bright.
    pub flip_negative_difference: bool,
    pub stamp_size: f32,
    pub show_crosshair: bool,
    pub show_light_curve: bool,
    pub show_evolution: bool,
    /// Class evolution as stacked bars instead of lines.
    pub evolution_bars: bool,
    pub show_model_input: bool,
    /// 8 dihedral transforms in "what the model sees" instead of the 4 rotations.
    pub model_input_dihedral: bool,
    pub filter: BrowserFilter,
    pub last_folder: Option<PathBuf>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            science: DisplaySettings::science(),
            difference: DisplaySettings::difference(),
            flip_negative_difference: true,
            stamp_size: 150.0,
            show_crosshair: true,
            show_light_curve: true,
            show_evolution: true,
            evolution_bars: false,
            show_model_input: false,
            model_input_dihedral: false,
            filter: BrowserFilter::default(),
            last_folder: None,
        }
    }
}
