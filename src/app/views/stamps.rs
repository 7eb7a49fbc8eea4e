//! The filmstrip: one row per detection (science, reference, difference; for LSST also the
//! σ and PSF of one cutout), each headed by its date, filter, brightness and subtraction
//! sign. Zoom and pan are linked across all panels at one angular scale (a PSF larger than
//! its image keeps the image's arcseconds per screen pixel); hovering shows the pixel value
//! and position in the producer's own pixels. Every stamp is shown North up, East left:
//! ZTF's as they come, LSST's turned through their WCS; a compass and a scale bar in
//! arcseconds say so.

use crate::alert::lsst::{LsstAlert, LsstCutout};
use crate::alert::neutral::{njy_to_mag, MAG_PER_RELATIVE_FLUX};
use crate::alert::{Alert, AlertOrigin, CutoutKind, DiffSign, Stamp};
use crate::app::stamp_gpu::{StampDraw, ViewTransform};
use crate::app::state::CatalogObject;
use crate::app::StampseqApp;
use crate::sequence::neutral::ObjectSequence;
use crate::stamp::display::{render_rgba, DisplaySettings, Interval, Stretch};
use crate::stamp::orient::{
    arcsec_per_pixel, lsst_frame, sky_directions, Cd, FrameSource, Orientation, OrientedStamp,
};
use crate::time::jd_to_calendar;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

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

pub fn show(app: &mut StampseqApp, ui: &mut egui::Ui) {
    let Some(object) = app.selection.object else {
        ui.centered_and_justified(|ui| {
            ui.label(if app.catalog.rows.is_empty() {
                "Open alert files (Ctrl+O), a folder (Ctrl+Shift+O), or drop them here."
            } else {
                "Select an object in the browser."
            });
        });
        return;
    };
    let lsst = app.catalog.survey(object) == Some(crate::alert::neutral::Survey::Lsst);
    settings_bar(app, ui, lsst);
    ui.separator();
    let blink_template = app.blink && (ui.input(|i| i.time) * 2.0) as u64 % 2 == 1;
    if app.blink {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }
    let mut strip = Strip {
        hover: None,
        clicked: None,
        view: app.view,
        blink_template,
    };
    let catalog = &app.catalog;
    let env = StampEnv {
        prefs: &app.prefs,
        gpu: app.gpu,
        frame: app.frame,
        selected: app.selection.detection,
    };
    match catalog.object(object) {
        Some(CatalogObject::Ztf(sequence)) => {
            ztf_strip(env, ui, &sequence.detections, &mut strip);
        }
        Some(CatalogObject::Lsst(o)) => {
            lsst_strip(env, ui, o, &mut app.lsst_panels, &mut strip);
        }
        None => {}
    }
    app.view = strip.view;
    app.hover = strip.hover;
    if let Some(k) = strip.clicked {
        app.selection.detection = k;
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

fn ztf_strip(env: StampEnv<'_>, ui: &mut egui::Ui, detections: &[Alert], strip: &mut Strip) {
    let size = env.prefs.stamp_size;
    let n = detections.len();
    // ZTF cutouts are North up, East left as they come.
    let s = ZTF_ARCSEC_PER_PIXEL / 3600.0;
    let frame = [[-s, 0.0], [0.0, s]];
    egui::ScrollArea::vertical()
        .id_salt("filmstrip")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (k, alert) in detections.iter().enumerate() {
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
                let crate::alert::AnyAlert::Lsst(alert) = any else {
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

/// One image panel and how to draw it.
struct Panel<'a> {
    kind: CutoutKind,
    layer: Layer,
    /// Identifies the shown pixels, to upload them to the GPU once.
    key: u64,
    shown: &'a Stamp,
    /// The producer's pixels, for the readout.
    raw: &'a Stamp,
    oriented: Option<&'a PanelImage>,
    /// The sky frame of the shown pixels (for the compass and the scale bar).
    frame: Option<Cd>,
    source: Option<FrameSource>,
    /// Width in pixels of the row's image: the view is linked at its angular scale.
    reference_width: usize,
    negate: bool,
    settings: DisplaySettings,
    /// Draw the compass and the scale bar.
    marks: bool,
}

impl Panel<'_> {
    fn draw(
        &self,
        env: &StampEnv<'_>,
        ui: &mut egui::Ui,
        size: f32,
        view: &mut ViewTransform,
        row_index: usize,
    ) -> Option<HoverPixel> {
        let stamp = self.shown;
        let (rect, response) =
            ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::click_and_drag());
        let pixels: Vec<f32> = if self.negate {
            stamp.pixels.iter().map(|v| -v).collect()
        } else {
            stamp.pixels.clone()
        };
        let limits = self.settings.limits(&pixels).unwrap_or((0.0, 1.0));

        // Linked zoom and pan, in the reference image's units: drag moves, scroll zooms.
        if response.dragged() {
            let d = response.drag_delta();
            view.center[0] -= d.x / (size * view.zoom);
            view.center[1] -= d.y / (size * view.zoom);
        }
        if response.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                view.zoom = (view.zoom * (scroll * 0.005).exp()).clamp(1.0, 32.0);
            }
        }
        if response.double_clicked() {
            *view = ViewTransform::default();
        }
        // This panel's own view: the same sky at the same arcseconds per screen pixel.
        let ratio = stamp.width as f32 / self.reference_width.max(1) as f32;
        let local = ViewTransform {
            center: [
                0.5 + (view.center[0] - 0.5) / ratio,
                0.5 + (view.center[1] - 0.5) / ratio,
            ],
            zoom: view.zoom * ratio,
        };

        if env.gpu {
            let background = ui.visuals().extreme_bg_color.to_normalized_gamma_f32();
            let draw = StampDraw {
                key: self.key,
                draw_id: self.key ^ (row_index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                frame: env.frame,
                width: stamp.width as u32,
                height: stamp.height as u32,
                pixels: Arc::new(stamp.pixels.clone()),
                limits,
                settings: self.settings,
                view: local,
                negate: self.negate,
                background,
            };
            ui.painter()
                .add(egui_wgpu::Callback::new_paint_callback(rect, draw));
        } else {
            cpu_stamp(ui, rect, stamp, &pixels, &self.settings, self.key, &local);
        }

        let painter = ui.painter_at(rect);
        let screen_per_pixel = size * local.zoom / stamp.width as f32;
        let to_screen = |sx: f32, sy: f32| {
            egui::pos2(
                rect.left() + ((sx - local.center[0]) * local.zoom + 0.5) * size,
                rect.top() + ((sy - local.center[1]) * local.zoom + 0.5) * size,
            )
        };
        let arcsec = self.frame.as_ref().map(arcsec_per_pixel);
        if env.prefs.show_crosshair {
            // The source sits at the centre; leave a gap so the crosshair never hides it:
            // 3 pixels, or 1.5" where pixels are small.
            let c = to_screen(0.5, 0.5);
            let gap_pixels = arcsec.map_or(3.0, |a| (1.5 / a).max(3.0)) as f32;
            let gap = gap_pixels * screen_per_pixel;
            let stroke = egui::Stroke::new(1.0, egui::Color32::from_rgb(80, 200, 255));
            for (dx, dy) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
                let a = c + egui::vec2(dx, dy) * gap;
                let b = c + egui::vec2(dx, dy) * (gap + 8.0);
                painter.line_segment([a, b], stroke);
            }
        }
        let directions = self.frame.as_ref().and_then(|f| sky_directions(f).ok());
        if self.marks {
            if let Some((north, east)) = directions {
                compass(&painter, rect, north, east);
            }
            if let Some(a) = arcsec {
                scale_bar(&painter, rect, screen_per_pixel as f64 / a);
            }
        }
        let description = self.describe(directions, arcsec);
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, &description)
        });

        let hover = response.hover_pos().and_then(|pos| {
            let sx = local.center[0] + ((pos.x - rect.left()) / size - 0.5) / local.zoom;
            let sy = local.center[1] + ((pos.y - rect.top()) / size - 0.5) / local.zoom;
            if !(0.0..1.0).contains(&sx) || !(0.0..1.0).contains(&sy) {
                return None;
            }
            let col = (sx * stamp.width as f32) as usize;
            let row = stamp.height - 1 - (sy * stamp.height as f32) as usize;
            let (row, col) = match self.oriented {
                Some(p) => p.source_pixel(row, col)?,
                None => (row, col),
            };
            Some(HoverPixel {
                kind: self.kind,
                layer: self.layer,
                col,
                row,
                value: self.raw.get(row, col),
            })
        });
        if let Some(h) = &hover {
            response.on_hover_text_at_pointer(format!(
                "x {} y {}  value {:.3}",
                h.col + 1,
                h.row + 1,
                h.value
            ));
        }
        hover
    }

    /// What a screen reader (and a test) is told the panel shows: its name, size, pixel
    /// scale and where North and East are, as the compass draws them.
    fn describe(&self, directions: Option<([f64; 2], [f64; 2])>, arcsec: Option<f64>) -> String {
        let name = HoverPixel {
            kind: self.kind,
            layer: self.layer,
            col: 0,
            row: 0,
            value: 0.0,
        }
        .panel_name();
        let mut text = format!("{name} {}", self.shown.shape_label());
        if let Some(a) = arcsec {
            text += &format!(", {a:.2}\"/px");
        }
        text += &match directions {
            Some((north, east)) => format!(", {}", orientation_words(north, east)),
            None => ", North unknown".to_string(),
        };
        match self.source {
            Some(FrameSource::Wcs) => text += " (WCS)",
            Some(FrameSource::Rotpa) => text += " (ROTPA)",
            None => {}
        }
        text
    }
}

/// "North up, East left", or the angles of North and East counter-clockwise from up and
/// from left, to the degree.
pub fn orientation_words(north: [f64; 2], east: [f64; 2]) -> String {
    // Pixel offsets are y up: up is at 90°, left at 180°.
    let turn = |v: [f64; 2], reference: f64| {
        let a = v[1].atan2(v[0]).to_degrees() - reference;
        (a + 540.0).rem_euclid(360.0) - 180.0
    };
    let from_up = turn(north, 90.0);
    let from_left = turn(east, 180.0);
    if from_up.abs() < 0.5 && from_left.abs() < 0.5 {
        "North up, East left".into()
    } else {
        format!("North {from_up:+.0}° from up, East {from_left:+.0}° from left")
    }
}

/// The compass: N and E arrows from the frame's directions (pixel offsets, y up).
fn compass(painter: &egui::Painter, rect: egui::Rect, north: [f64; 2], east: [f64; 2]) {
    let length = 18.0;
    let origin = rect.right_bottom() + egui::vec2(-26.0, -26.0);
    let stroke = egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 210, 80));
    let font = egui::FontId::proportional(10.0);
    for (dir, name) in [(north, "N"), (east, "E")] {
        // Screen y grows downward.
        let d = egui::vec2(dir[0] as f32, -dir[1] as f32);
        let tip = origin + d * length;
        painter.line_segment([origin, tip], stroke);
        let side = egui::vec2(-d.y, d.x);
        for s in [-1.0, 1.0] {
            painter.line_segment([tip, tip - d * 5.0 + side * (3.0 * s)], stroke);
        }
        painter.text(
            tip + d * 7.0,
            egui::Align2::CENTER_CENTER,
            name,
            font.clone(),
            stroke.color,
        );
    }
}

/// A bar of a round number of arcseconds, about a third of the panel wide at most.
fn scale_bar(painter: &egui::Painter, rect: egui::Rect, screen_per_arcsec: f64) {
    const LENGTHS: [f64; 11] = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0];
    let room = 0.35 * rect.width() as f64;
    let Some(arcsec) = LENGTHS
        .into_iter()
        .rev()
        .find(|l| l * screen_per_arcsec <= room)
    else {
        return;
    };
    let width = (arcsec * screen_per_arcsec) as f32;
    let y = rect.bottom() - 8.0;
    let x0 = rect.left() + 8.0;
    let colour = egui::Color32::from_rgb(255, 210, 80);
    let stroke = egui::Stroke::new(2.0, colour);
    painter.line_segment([egui::pos2(x0, y), egui::pos2(x0 + width, y)], stroke);
    for x in [x0, x0 + width] {
        painter.line_segment([egui::pos2(x, y - 3.0), egui::pos2(x, y + 3.0)], stroke);
    }
    let text = if arcsec < 1.0 {
        format!("{arcsec}\"")
    } else {
        format!("{arcsec:.0}\"")
    };
    painter.text(
        egui::pos2(x0 + width / 2.0, y - 4.0),
        egui::Align2::CENTER_BOTTOM,
        text,
        egui::FontId::proportional(10.0),
        colour,
    );
}

/// Without wgpu (e.g. a GL-only machine) stamps are rendered on the CPU into textures.
fn cpu_stamp(
    ui: &mut egui::Ui,
    rect: egui::Rect,
    stamp: &Stamp,
    pixels: &[f32],
    settings: &DisplaySettings,
    key: u64,
    view: &ViewTransform,
) {
    let signed = Stamp::new(stamp.width, stamp.height, pixels.to_vec());
    let rgba = render_rgba(&signed, settings);
    let image = egui::ColorImage::from_rgba_unmultiplied([stamp.width, stamp.height], &rgba);
    let texture = ui.ctx().load_texture(
        format!("stamp-{key}-{settings:?}"),
        image,
        egui::TextureOptions::NEAREST,
    );
    ui.painter()
        .rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
    // Only the part of the view the stamp covers: a texture stretched past its edge would
    // smear its border pixels over the background.
    let half = 0.5 / view.zoom;
    let uv = egui::Rect::from_min_max(
        egui::pos2(view.center[0] - half, view.center[1] - half),
        egui::pos2(view.center[0] + half, view.center[1] + half),
    );
    let covered = uv.intersect(egui::Rect::from_min_max(
        egui::Pos2::ZERO,
        egui::pos2(1.0, 1.0),
    ));
    if !covered.is_positive() {
        return;
    }
    let to_screen = |p: egui::Pos2| {
        egui::pos2(
            rect.left() + (p.x - uv.left()) / uv.width() * rect.width(),
            rect.top() + (p.y - uv.top()) / uv.height() * rect.height(),
        )
    };
    let target = egui::Rect::from_min_max(to_screen(covered.min), to_screen(covered.max));
    ui.painter()
        .image(texture.id(), target, covered, egui::Color32::WHITE);
}

fn settings_bar(app: &mut StampseqApp, ui: &mut egui::Ui, lsst: bool) {
    use crate::stamp::display::{Colormap, ZScale};
    for (title, settings) in [
        ("Science/reference", &mut app.prefs.science),
        ("Difference", &mut app.prefs.difference),
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
        ui.add(egui::Slider::new(&mut app.prefs.stamp_size, 80.0..=400.0).text("size"));
        ui.checkbox(&mut app.prefs.show_crosshair, "crosshair");
        ui.checkbox(&mut app.blink, "blink");
        if ui.button("reset zoom").clicked() {
            app.view = ViewTransform::default();
        }
        if lsst {
            ui.checkbox(&mut app.prefs.lsst_north_up, "North up")
                .on_hover_text(
                    "Turn LSST cutouts North up, East left through their WCS (bilinear \
                     resampling); off, they show as the detector wrote them",
                );
            egui::ComboBox::from_label("σ and PSF of")
                .selected_text(kind_name(CutoutKind::ALL[app.prefs.lsst_layers_of.min(2)]))
                .show_ui(ui, |ui| {
                    for (i, kind) in CutoutKind::ALL.into_iter().enumerate() {
                        ui.selectable_value(&mut app.prefs.lsst_layers_of, i, kind_name(kind));
                    }
                });
        }
    });
}
