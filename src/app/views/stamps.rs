//! The filmstrip: one row per detection (science, reference, difference; for LSST also the
//! σ and PSF of one cutout), each headed by its date, filter, brightness and subtraction
//! sign. Zoom and pan are linked across all panels at one angular scale (a PSF larger than
//! its image keeps the image's arcseconds per screen pixel); hovering shows the pixel value
//! and position in the producer's own pixels. Every stamp is shown North up, East left:
//! ZTF's as they come, LSST's turned through their WCS; a compass and a scale bar in
//! arcseconds say so.

use super::{Commands, UiState};
use crate::alert::lsst::{LsstAlert, LsstCutout};
use crate::alert::neutral::{njy_to_mag, MAG_PER_RELATIVE_FLUX};
use crate::alert::{Alert, AlertOrigin, CutoutKind, DiffSign, Stamp};
use crate::app::commands::AppCommand;
use crate::app::domain::AppState;
use crate::app::stamp_gpu::ViewTransform;
use crate::sequence::neutral::ObjectSequence;
use crate::stamp::display::{DisplaySettings, Interval, Stretch};
use crate::stamp::orient::{lsst_frame, Cd, FrameSource, Orientation, OrientedStamp};
use crate::time::jd_to_calendar;
use panel::Panel;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

mod panel;

/// ZTF's pixel scale (the 1.0 of `Survey::pixel_scale_arcsec` is the models' round figure).
pub const ZTF_ARCSEC_PER_PIXEL: f64 = 1.01;

/// What one panel shows of a cutout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Image,
    /// The square root of the variance plane.
    Sigma,
    Psf,
}

/// What the pointer is over, for the readout.
#[derive(Debug, Clone)]
pub struct HoverPixel {
    pub kind: CutoutKind,
    pub layer: Layer,
    /// Column of the producer's pixel (before any turn North up).
    pub col: usize,
    /// Row in FITS order (0 = the first row written).
    pub row: usize,
    pub value: f32,
}

impl HoverPixel {
    pub fn panel_name(&self) -> String {
        let kind = kind_name(self.kind);
        match self.layer {
            Layer::Image => kind.to_string(),
            Layer::Sigma => format!("{kind} σ"),
            Layer::Psf => format!("{kind} PSF"),
        }
    }
}

fn kind_name(kind: CutoutKind) -> &'static str {
    match kind {
        CutoutKind::Science => "science",
        CutoutKind::Template => "reference",
        CutoutKind::Difference => "difference",
    }
}

fn origin_key(origin: &AlertOrigin, kind: CutoutKind) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    origin.file.hash(&mut h);
    origin.record.hash(&mut h);
    kind.hash(&mut h);
    h.finish()
}

pub fn stamp_key(alert: &Alert, kind: CutoutKind) -> u64 {
    origin_key(&alert.origin, kind)
}

/// One LSST panel ready to draw: the pixels shown and how they sit on the sky.
#[derive(Debug)]
pub struct PanelImage {
    /// The producer's pixels (σ for a variance plane).
    raw: Stamp,
    /// The same turned North up, when the cutout has a sky frame and the user wants it.
    oriented: Option<OrientedStamp>,
    /// The sky frame of what is shown; `None` without WCS or `ROTPA`.
    frame: Option<Cd>,
    source: Option<FrameSource>,
    key: u64,
}

impl PanelImage {
    fn shown(&self) -> &Stamp {
        self.oriented.as_ref().map_or(&self.raw, |o| &o.stamp)
    }

    /// The producer's pixel (row, col) under a shown pixel; `None` outside the cutout.
    fn source_pixel(&self, row: usize, col: usize) -> Option<(usize, usize)> {
        match &self.oriented {
            Some(o) => o.source_pixel(row, col),
            None => Some((row, col)),
        }
    }
}

/// LSST panels already resampled, by alert, cutout, layer and orientation.
#[derive(Debug, Default)]
pub struct PanelCache {
    panels: HashMap<(u64, Layer, bool), Arc<PanelImage>>,
}

/// Past this the cache starts afresh: a few thousand 100x100 panels are tens of MB.
const MAX_CACHED_PANELS: usize = 4096;

impl PanelCache {
    fn get(
        &mut self,
        alert: &LsstAlert,
        kind: CutoutKind,
        layer: Layer,
        north_up: bool,
    ) -> Option<Arc<PanelImage>> {
        let base = origin_key(&alert.origin, kind);
        let id = (base, layer, north_up);
        if let Some(p) = self.panels.get(&id) {
            return Some(p.clone());
        }
        let panel = Arc::new(make_panel(alert.cutouts.get(kind)?, layer, north_up, base)?);
        if self.panels.len() >= MAX_CACHED_PANELS {
            self.panels.clear();
        }
        self.panels.insert(id, panel.clone());
        Some(panel)
    }
}

fn make_panel(cutout: &LsstCutout, layer: Layer, north_up: bool, base: u64) -> Option<PanelImage> {
    let raw = match layer {
        Layer::Image => cutout.image.clone(),
        Layer::Sigma => {
            let v = cutout.variance.as_ref()?;
            // A negative variance is a broken pixel, not an imaginary σ.
            let sigma = v
                .pixels
                .iter()
                .map(|x| if *x >= 0.0 { x.sqrt() } else { f32::NAN })
                .collect();
            Stamp::new(v.width, v.height, sigma)
        }
        Layer::Psf => cutout.psf.clone()?,
    };
    let (frame, source) = match lsst_frame(cutout) {
        Some((cd, source)) => (Some(cd), Some(source)),
        None => (None, None),
    };
    let orientation = frame
        .filter(|_| north_up)
        .and_then(|cd| Orientation::north_up(&cd).ok());
    let (oriented, frame) = match (orientation, frame) {
        (Some(o), Some(cd)) => (Some(o.apply(&raw)), Some(o.displayed_frame(&cd))),
        (_, frame) => (None, frame),
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (base, layer, oriented.is_some()).hash(&mut h);
    Some(PanelImage {
        raw,
        oriented,
        frame,
        source,
        key: h.finish(),
    })
}

pub fn show(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui, commands: &mut Commands) {
    let Some(object) = state.selection.object else {
        ui.centered_and_justified(|ui| {
            ui.label(if state.catalog.rows.is_empty() {
                "Open alert files (Ctrl+O), a folder (Ctrl+Shift+O), or drop them here."
            } else {
                "Select an object in the browser."
            });
        });
        return;
    };
    let Some(o) = state.catalog.object(object) else {
        return;
    };
    // Each survey's cutouts have their own panels: the object's alerts say which.
    let lsst = o.alerts.first().and_then(|a| a.as_ref().lsst()).is_some();
    settings_bar(ui_state, ui, lsst);
    ui.separator();
    let blink_template = ui_state.blink && (ui.input(|i| i.time) * 2.0) as u64 % 2 == 1;
    if ui_state.blink {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }
    let mut strip = Strip {
        hover: None,
        clicked: None,
        view: ui_state.view,
        blink_template,
    };
    let env = StampEnv {
        prefs: &ui_state.prefs,
        gpu: ui_state.gpu,
        frame: ui_state.frame,
        selected: state.selection.detection,
    };
    if lsst {
        lsst_strip(env, ui, o, &mut ui_state.lsst_panels, &mut strip);
    } else {
        ztf_strip(env, ui, o, &mut strip);
    }
    ui_state.view = strip.view;
    ui_state.hover = strip.hover;
    if let Some(k) = strip.clicked {
        commands.push(AppCommand::SelectDetection(k));
    }
}

/// What drawing the filmstrip changes.
struct Strip {
    hover: Option<HoverPixel>,
    clicked: Option<usize>,
    view: ViewTransform,
    blink_template: bool,
}

impl Strip {
    fn shown_kind(&self, kind: CutoutKind) -> CutoutKind {
        if self.blink_template && kind == CutoutKind::Science {
            CutoutKind::Template
        } else {
            kind
        }
    }
}

/// The few things a stamp widget reads from the app.
#[derive(Clone, Copy)]
struct StampEnv<'a> {
    prefs: &'a crate::app::prefs::Preferences,
    gpu: bool,
    frame: u64,
    selected: usize,
}

/// One detection's frame, highlighted when selected; true when clicked.
fn detection_frame(
    ui: &mut egui::Ui,
    env: &StampEnv<'_>,
    k: usize,
    body: impl FnOnce(&mut egui::Ui),
) -> bool {
    let frame = egui::Frame::group(ui.style()).fill(if k == env.selected {
        ui.visuals().selection.bg_fill.linear_multiply(0.25)
    } else {
        ui.visuals().panel_fill
    });
    let response = frame.show(ui, body).response;
    response.interact(egui::Sense::click()).clicked()
}

fn ztf_strip(env: StampEnv<'_>, ui: &mut egui::Ui, object: &ObjectSequence, strip: &mut Strip) {
    let size = env.prefs.stamp_size;
    let n = object.alerts.len();
    // ZTF cutouts are North up, East left as they come.
    let s = ZTF_ARCSEC_PER_PIXEL / 3600.0;
    let frame = [[-s, 0.0], [0.0, s]];
    egui::ScrollArea::vertical()
        .id_salt("filmstrip")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (k, any) in object.alerts.iter().enumerate() {
                let Some(alert) = any.as_ref().ztf() else {
                    continue;
                };
                let clicked = detection_frame(ui, &env, k, |ui| {
                    ztf_header(ui, alert, k, n);
                    ui.horizontal(|ui| {
                        for kind in CutoutKind::ALL {
                            let shown = strip.shown_kind(kind);
                            ui.vertical(|ui| {
                                ui.label(kind_name(shown));
                                let Some(stamp) = alert.cutouts.get(shown) else {
                                    missing(ui, size, "no cutout");
                                    return;
                                };
                                let negate = shown == CutoutKind::Difference
                                    && env.prefs.flip_negative_difference
                                    && alert.candidate.isdiffpos == Some(DiffSign::Negative);
                                let panel = Panel {
                                    kind: shown,
                                    layer: Layer::Image,
                                    key: stamp_key(alert, shown),
                                    shown: stamp,
                                    raw: stamp,
                                    oriented: None,
                                    frame: Some(frame),
                                    source: None,
                                    reference_width: stamp.width,
                                    negate,
                                    settings: *settings_for(&env, shown),
                                    marks: kind == CutoutKind::Science,
                                };
                                if let Some(h) = panel.draw(&env, ui, size, &mut strip.view, k) {
                                    strip.hover = Some(h);
                                }
                            });
                        }
                    });
                });
                if clicked {
                    strip.clicked = Some(k);
                }
            }
        });
}

fn lsst_strip(
    env: StampEnv<'_>,
    ui: &mut egui::Ui,
    object: &ObjectSequence,
    cache: &mut PanelCache,
    strip: &mut Strip,
) {
    let n = object.alerts.len();
    let layers_of = CutoutKind::ALL[env.prefs.lsst_layers_of.min(2)];
    let columns = [
        (CutoutKind::Science, Layer::Image),
        (CutoutKind::Template, Layer::Image),
        (CutoutKind::Difference, Layer::Image),
        (layers_of, Layer::Sigma),
        (layers_of, Layer::Psf),
    ];
    // Five panels side by side: narrower than ZTF's three when the window is.
    let spacing = ui.spacing().item_spacing.x + 4.0;
    let fit = (ui.available_width() - 24.0) / columns.len() as f32 - spacing;
    let size = env.prefs.stamp_size.min(fit).max(60.0);
    egui::ScrollArea::vertical()
        .id_salt("filmstrip")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (k, any) in object.alerts.iter().enumerate() {
                let Some(alert) = any.as_ref().lsst() else {
                    continue;
                };
                let clicked = detection_frame(ui, &env, k, |ui| {
                    lsst_header(ui, alert, k, n, env.prefs.lsst_north_up);
                    // The image's width is the angular reference of every panel of the row.
                    let reference_width = CutoutKind::ALL
                        .into_iter()
                        .find_map(|kind| alert.cutouts.get(kind).map(|c| c.image.width))
                        .unwrap_or(1);
                    ui.horizontal(|ui| {
                        for (i, (kind, layer)) in columns.into_iter().enumerate() {
                            let kind = if layer == Layer::Image {
                                strip.shown_kind(kind)
                            } else {
                                kind
                            };
                            ui.vertical(|ui| {
                                ui.label(match layer {
                                    Layer::Image => kind_name(kind).to_string(),
                                    Layer::Sigma => format!("σ {}", kind_name(kind)),
                                    Layer::Psf => format!("PSF {}", kind_name(kind)),
                                });
                                let Some(image) =
                                    cache.get(alert, kind, layer, env.prefs.lsst_north_up)
                                else {
                                    missing(
                                        ui,
                                        size,
                                        match layer {
                                            Layer::Image => "no cutout",
                                            Layer::Sigma => "no variance",
                                            Layer::Psf => "no PSF",
                                        },
                                    );
                                    return;
                                };
                                let negate = kind == CutoutKind::Difference
                                    && layer == Layer::Image
                                    && env.prefs.flip_negative_difference
                                    && is_negative(alert);
                                let mut settings = match layer {
                                    Layer::Image => *settings_for(&env, kind),
                                    Layer::Sigma => env.prefs.science,
                                    // A kernel: its whole range, its wings visible.
                                    Layer::Psf => DisplaySettings {
                                        interval: Interval::MinMax,
                                        stretch: Stretch::Sqrt,
                                        symmetric: false,
                                        ..env.prefs.science
                                    },
                                };
                                if image.oriented.is_some() {
                                    // The corners a turn brings in are no data: shown as
                                    // the background, not as the colour of bad pixels.
                                    let bg = ui.visuals().extreme_bg_color;
                                    settings.nan_rgb = [bg.r(), bg.g(), bg.b()];
                                }
                                let panel = Panel {
                                    kind,
                                    layer,
                                    key: image.key,
                                    shown: image.shown(),
                                    raw: &image.raw,
                                    oriented: Some(&image),
                                    frame: image.frame,
                                    source: image.source,
                                    reference_width,
                                    negate,
                                    settings,
                                    marks: i == 0 || layer == Layer::Psf,
                                };
                                if let Some(h) = panel.draw(&env, ui, size, &mut strip.view, k) {
                                    strip.hover = Some(h);
                                }
                            });
                        }
                    });
                });
                if clicked {
                    strip.clicked = Some(k);
                }
            }
        });
}

/// A negative subtraction: `isNegative` where the schema has it, else the flux's sign.
fn is_negative(alert: &LsstAlert) -> bool {
    let s = &alert.dia_source;
    s.is_negative
        .unwrap_or_else(|| s.psf_flux.is_some_and(|f| f < 0.0))
}

fn missing(ui: &mut egui::Ui, size: f32, text: &str) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter()
        .rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(12.0),
        ui.visuals().weak_text_color(),
    );
}

fn ztf_header(ui: &mut egui::Ui, alert: &Alert, k: usize, n: usize) {
    let c = &alert.candidate;
    ui.horizontal(|ui| {
        ui.strong(format!("{}/{}", k + 1, n));
        ui.label(jd_to_calendar(c.jd));
        ui.label(format!("{}-band", c.band()));
        ui.label(format!("{:.2} ± {:.2} mag", c.magpsf, c.sigmapsf));
        ui.label(format!("subtraction {}", sign_word(c.isdiffpos)));
        if c.near_known_asteroid() {
            ui.colored_label(egui::Color32::YELLOW, "known asteroid nearby");
        }
    });
}

fn sign_word(sign: Option<DiffSign>) -> &'static str {
    match sign {
        Some(DiffSign::Positive) => "positive",
        Some(DiffSign::Negative) => "negative",
        None => "?",
    }
}

fn lsst_header(ui: &mut egui::Ui, alert: &LsstAlert, k: usize, n: usize, north_up: bool) {
    let s = &alert.dia_source;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("{}/{}", k + 1, n));
        ui.label(format!("MJD {:.5} TAI", s.midpoint_mjd_tai))
            .on_hover_text(format!(
                "mid-exposure; about {} UTC",
                jd_to_calendar(s.midpoint_mjd_tai + 2_400_000.5 - 37.0 / 86_400.0)
            ));
        ui.label(format!("{}-band", s.band));
        let flux = s.psf_flux.filter(|f| f.is_finite());
        match (flux, s.psf_flux_err.filter(|e| e.is_finite())) {
            (Some(f), Some(e)) => ui.label(format!("{f:.0} ± {e:.0} nJy")),
            (Some(f), None) => ui.label(format!("{f:.0} nJy")),
            _ => ui.label("no flux"),
        };
        if let Some(m) = flux.and_then(njy_to_mag) {
            let err = flux
                .zip(s.psf_flux_err)
                .map(|(f, e)| MAG_PER_RELATIVE_FLUX * e / f)
                .filter(|e| e.is_finite());
            ui.label(match err {
                Some(e) => format!("{m:.2} ± {e:.2} AB"),
                None => format!("{m:.2} AB"),
            });
        }
        ui.label(format!(
            "subtraction {}",
            if is_negative(alert) {
                "negative"
            } else {
                "positive"
            }
        ));
        if alert.is_solar_system() {
            ui.colored_label(egui::Color32::YELLOW, "solar-system object");
        }
        let frame = alert
            .cutouts
            .science
            .as_ref()
            .or(alert.cutouts.difference.as_ref())
            .and_then(lsst_frame);
        match (frame, north_up) {
            (Some((_, FrameSource::Rotpa)), true) => {
                ui.weak("North up from ROTPA (no WCS)");
            }
            (None, _) if alert.cutouts.count() > 0 => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "no WCS nor ROTPA: detector frame, North unknown",
                );
            }
            _ => {}
        }
    });
}

fn settings_for<'a>(env: &StampEnv<'a>, kind: CutoutKind) -> &'a DisplaySettings {
    match kind {
        CutoutKind::Difference => &env.prefs.difference,
        _ => &env.prefs.science,
    }
}

fn settings_bar(ui_state: &mut UiState, ui: &mut egui::Ui, lsst: bool) {
    use crate::stamp::display::{Colormap, ZScale};
    for (title, settings) in [
        ("Science/reference", &mut ui_state.prefs.science),
        ("Difference", &mut ui_state.prefs.difference),
    ] {
        ui.horizontal_wrapped(|ui| {
            ui.add_sized(
                [120.0, 18.0],
                egui::Label::new(egui::RichText::new(title).strong()),
            );
            let stretch_name = |s: &Stretch| match s {
                Stretch::Linear => "linear",
                Stretch::Log { .. } => "log",
                Stretch::Sqrt => "sqrt",
                Stretch::Asinh { .. } => "asinh",
            };
            egui::ComboBox::new(format!("{title} stretch"), "stretch")
                .selected_text(stretch_name(&settings.stretch))
                .show_ui(ui, |ui| {
                    for s in [Stretch::Linear, Stretch::LOG, Stretch::Sqrt, Stretch::ASINH] {
                        ui.selectable_value(&mut settings.stretch, s, stretch_name(&s));
                    }
                });
            let interval_name = match settings.interval {
                Interval::MinMax => "min-max".to_string(),
                Interval::ZScale(_) => "zscale".to_string(),
                Interval::Percentile { lower, upper } => format!("{lower}-{upper} %"),
                Interval::Manual { .. } => "manual".to_string(),
            };
            egui::ComboBox::new(format!("{title} interval"), "interval")
                .selected_text(interval_name)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut settings.interval, Interval::MinMax, "min-max");
                    ui.selectable_value(
                        &mut settings.interval,
                        Interval::ZScale(ZScale::default()),
                        "zscale",
                    );
                    ui.selectable_value(
                        &mut settings.interval,
                        Interval::Percentile {
                            lower: 0.5,
                            upper: 99.5,
                        },
                        "percentile",
                    );
                });
            if let Interval::Percentile { lower, upper } = &mut settings.interval {
                let l = ui.label("lower");
                ui.add(
                    egui::DragValue::new(lower)
                        .range(0.0..=50.0)
                        .speed(0.1)
                        .suffix(" %"),
                )
                .labelled_by(l.id);
                let u = ui.label("upper");
                ui.add(
                    egui::DragValue::new(upper)
                        .range(50.0..=100.0)
                        .speed(0.1)
                        .suffix(" %"),
                )
                .labelled_by(u.id);
            }
            egui::ComboBox::new(format!("{title} colormap"), "colormap")
                .selected_text(settings.colormap.name())
                .show_ui(ui, |ui| {
                    for c in Colormap::ALL {
                        ui.selectable_value(&mut settings.colormap, c, c.name());
                    }
                });
            ui.checkbox(&mut settings.symmetric, "symmetric");
        });
    }
    ui.horizontal_wrapped(|ui| {
        ui.add(egui::Slider::new(&mut ui_state.prefs.stamp_size, 80.0..=400.0).text("size"));
        ui.checkbox(&mut ui_state.prefs.show_crosshair, "crosshair");
        ui.checkbox(&mut ui_state.blink, "blink");
        if ui.button("reset zoom").clicked() {
            ui_state.view = ViewTransform::default();
        }
        if lsst {
            ui.checkbox(&mut ui_state.prefs.lsst_north_up, "North up")
                .on_hover_text(
                    "Turn LSST cutouts North up, East left through their WCS (bilinear \
                     resampling); off, they show as the detector wrote them",
                );
            egui::ComboBox::from_label("σ and PSF of")
                .selected_text(kind_name(
                    CutoutKind::ALL[ui_state.prefs.lsst_layers_of.min(2)],
                ))
                .show_ui(ui, |ui| {
                    for (i, kind) in CutoutKind::ALL.into_iter().enumerate() {
                        ui.selectable_value(&mut ui_state.prefs.lsst_layers_of, i, kind_name(kind));
                    }
                });
        }
    });
}
