//! What the model sees: the selected detection's cropped, normalised 3-channel input and
//! its rotations (or all 8 dihedral transforms), drawn exactly as the tensors fed to the
//! network, channel by channel.

use super::UiState;
use crate::alert::Stamp;
use crate::app::domain::AppState;
use crate::stamp::display::{render_rgba, Colormap, DisplaySettings, Interval, Stretch};
use crate::stamp::{lsst_model_stamps, model_stamps, Dihedral, ALERCE_CROP, CHANNELS};

pub fn show(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui) {
    let Some(object) = state.selection.object else {
        return;
    };
    let detection = state.selection.detection;
    // Each survey's stamps are prepared as its networks read them (the science differs:
    // ZTF's gzipped FITS at 1"/px, LSST's image planes in nJy at 0.2"/px); the crop is the
    // bundled networks' for both.
    let Some(alert) = state.catalog.alert(object, detection).map(|a| a.as_ref()) else {
        return;
    };
    let input = if let Some(a) = alert.ztf() {
        model_stamps(&a.cutouts, Some(&a.candidate), ALERCE_CROP)
    } else if let Some(a) = alert.lsst() {
        lsst_model_stamps(&a.cutouts, ALERCE_CROP)
    } else {
        return;
    };
    let scale = alert.survey().pixel_scale_arcsec();
    ui.horizontal(|ui| {
        ui.checkbox(
            &mut ui_state.prefs.model_input_dihedral,
            "all 8 dihedral transforms",
        );
        ui.label(format!(
            "crop {ALERCE_CROP}x{ALERCE_CROP} ({:.1}\"), min-max per channel, NaN -> 0",
            ALERCE_CROP as f64 * scale
        ));
    });
    let input = match input {
        Ok(m) => m,
        Err(e) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("not classifiable: {e}"),
            );
            return;
        }
    };
    let transforms: Vec<Dihedral> = if ui_state.prefs.model_input_dihedral {
        Dihedral::all().to_vec()
    } else {
        Dihedral::rotations().to_vec()
    };
    // Values are already in [0, 1]: a fixed linear map shows them as the network gets them.
    let settings = DisplaySettings {
        interval: Interval::Manual {
            vmin: 0.0,
            vmax: 1.0,
        },
        stretch: Stretch::Linear,
        colormap: Colormap::Grey,
        symmetric: false,
        nan_rgb: [255, 0, 255],
    };
    let n = input.size;
    let cell = 84.0;
    egui::Grid::new("model input").show(ui, |ui| {
        ui.label("");
        for name in ["science", "reference", "difference"] {
            ui.label(name);
        }
        ui.end_row();
        for t in &transforms {
            ui.label(t.label());
            let turned = t.apply(&input.pixels, n, CHANNELS);
            for ch in 0..CHANNELS {
                // Model tensors are in FITS row order; render_rgba flips to North up, so
                // the picture matches the filmstrip above.
                let plane: Vec<f32> = turned.iter().skip(ch).step_by(CHANNELS).copied().collect();
                let rgba = render_rgba(&Stamp::new(n, n, plane), &settings);
                let image = egui::ColorImage::from_rgba_unmultiplied([n, n], &rgba);
                let texture = ui.ctx().load_texture(
                    format!("model-input-{:?}-{ch}", t),
                    image,
                    egui::TextureOptions::NEAREST,
                );
                ui.image((texture.id(), egui::vec2(cell, cell)));
            }
            ui.end_row();
        }
    });
}
