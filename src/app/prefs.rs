//! Preferences kept between runs with eframe's persistence. Only preferences: the data and
//! the labels live in files of their own.

use crate::app::commands::Keymap;
use crate::app::state::BrowserFilter;
use crate::stamp::display::DisplaySettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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
    /// Models (by file name) and classes the class evolution leaves out. Kept as what is
    /// hidden, so that a model or class met for the first time is drawn.
    #[serde(default)]
    pub evolution_hidden_models: BTreeSet<String>,
    #[serde(default)]
    pub evolution_hidden_classes: BTreeSet<String>,
    pub show_model_input: bool,
    /// 8 dihedral transforms in "what the model sees" instead of the 4 rotations.
    pub model_input_dihedral: bool,
    pub filter: BrowserFilter,
    pub last_folder: Option<PathBuf>,
    /// The user's shortcuts, where they differ from the defaults.
    pub shortcuts: Keymap,
    /// Cone-search radius for the AllWISE catalogue, arcseconds.
    pub allwise_radius_arcsec: f64,
    /// The vetter's name, written into the labels journal with every label.
    #[serde(default)]
    pub vetter_name: String,
    /// LSST cutouts turned North up, East left through their WCS (else as the detector
    /// wrote them, with the compass showing where North is).
    pub lsst_north_up: bool,
    /// Which LSST cutout's σ (square root of its variance) and PSF are shown beside the
    /// three images: 0 science, 1 reference, 2 difference.
    pub lsst_layers_of: usize,
    /// Light curves in flux (nJy) instead of AB magnitude (the name the first versions,
    /// where only LSST had it, saved it under is still read).
    #[serde(alias = "lsst_flux")]
    pub light_curve_flux: bool,
    /// Every model's raw output, without the physics rules after it (`classify
    /// --no-rules`): to see what a model says by itself.
    #[serde(default)]
    pub raw_model_output: bool,
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
            evolution_hidden_models: BTreeSet::new(),
            evolution_hidden_classes: BTreeSet::new(),
            show_model_input: false,
            model_input_dihedral: false,
            filter: BrowserFilter::default(),
            last_folder: None,
            shortcuts: Keymap::default(),
            allwise_radius_arcsec: crate::features::allwise::DEFAULT_RADIUS_ARCSEC,
            vetter_name: String::new(),
            lsst_north_up: true,
            lsst_layers_of: 2,
            light_curve_flux: false,
            raw_model_output: false,
        }
    }
}

impl Preferences {
    /// The preferences eframe saved at the last exit, or the defaults when there are none or
    /// they no longer read (a format change must not stop the app from starting).
    pub fn load(storage: Option<&dyn eframe::Storage>) -> Self {
        storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default()
    }
}

/// eframe's storage without a file behind it: preferences go through eframe's own (RON)
/// encoding, for tests and benchmarks that must not touch the user's.
#[derive(Default)]
pub struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::commands::{Command, Keymap};
    use egui::{Key, KeyboardShortcut, Modifiers};

    #[test]
    fn preferences_with_rebound_shortcuts_round_trip_through_eframe_storage() {
        let mut prefs = Preferences::default();
        let ctrl_shift_k = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::K);
        prefs
            .shortcuts
            .bind(Command::ToggleBlink, Some(ctrl_shift_k))
            .expect("free");
        prefs
            .shortcuts
            .bind(Command::ResetZoom, None)
            .expect("unbind");
        prefs.allwise_radius_arcsec = 2.5;
        prefs.evolution_hidden_models.insert("tsc-gru-sim".into());
        prefs.evolution_hidden_classes.insert("bogus".into());
        let mut storage = MemoryStorage::default();
        eframe::set_value(&mut storage, eframe::APP_KEY, &prefs);
        let back = Preferences::load(Some(&storage));
        assert_eq!(back, prefs);
        assert_eq!(
            back.shortcuts.shortcut(Command::ToggleBlink),
            Some(ctrl_shift_k)
        );
        assert_eq!(back.shortcuts.shortcut(Command::ResetZoom), None);
        assert!(back.evolution_hidden_classes.contains("bogus"));
        assert!(back.evolution_hidden_models.contains("tsc-gru-sim"));
        assert_eq!(
            back.shortcuts.shortcut(Command::Undo),
            Command::Undo.default_shortcut()
        );
        // And through JSON, as any other serde format would carry it.
        let json = serde_json::to_string(&prefs).expect("json");
        assert_eq!(
            serde_json::from_str::<Preferences>(&json).expect("json back"),
            prefs
        );
    }

    #[test]
    fn preferences_saved_before_shortcuts_existed_still_load() {
        let mut storage = MemoryStorage::default();
        eframe::set_value(&mut storage, eframe::APP_KEY, &Preferences::default());
        let text = storage.0[eframe::APP_KEY].clone();
        assert!(text.contains("shortcuts"), "{text}");
        // Drop the field as an older version would have written it.
        let old = text.replace("shortcuts:{},", "");
        assert_ne!(old, text, "{text}");
        storage.0.insert(eframe::APP_KEY.into(), old);
        assert_eq!(
            Preferences::load(Some(&storage)).shortcuts,
            Keymap::default()
        );
        assert_eq!(Preferences::load(None), Preferences::default());
    }
}
