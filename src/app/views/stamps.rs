//! The filmstrip: one row per detection (science, reference, difference), each headed by
//! its date, filter, magnitude and subtraction sign. Zoom and pan are linked across all
//! stamps; hovering shows the pixel value and position.

use crate::alert::{Alert, CutoutKind, DiffSign, Stamp};
use crate::app::stamp_gpu::{StampDraw, ViewTransform};
use crate::app::state::jd_to_calendar;
use crate::app::StampseqApp;
use crate::stamp::display::{render_rgba, DisplaySettings};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What the pointer is over, for the readout.
#[derive(Debug, Clone)]
pub struct HoverPixel {
    pub kind: CutoutKind,
    pub col: usize,
    /// Row in FITS order (0 = South).
    pub row: usize,
    pub value: f32,
}

pub fn stamp_key(alert: &Alert, kind: CutoutKind) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    alert.origin.file.hash(&mut h);
    alert.origin.record.hash(&mut h);
    kind.hash(&mut h);
    h.finish()
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
    settings_bar(app, ui);
    ui.separator();
    let blink_template = app.blink && (ui.input(|i| i.time) * 2.0) as u64 % 2 == 1;
    if app.blink {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }
    let size = app.prefs.stamp_size;
    let sequence = &app.catalog.sequences[object];
    let n = sequence.detections.len();
    let mut hover = None;
    let mut clicked_detection = None;
    let mut view = app.view;
    egui::ScrollArea::vertical()
        .id_salt("filmstrip")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (k, alert) in sequence.detections.iter().enumerate() {
                let selected = k == app.selection.detection;
                let frame = egui::Frame::group(ui.style()).fill(if selected {
                    ui.visuals().selection.bg_fill.linear_multiply(0.25)
                } else {
                    ui.visuals().panel_fill
                });
                let response = frame
                    .show(ui, |ui| {
                        detection_header(ui, alert, k, n);
                        ui.horizontal(|ui| {
                            for kind in CutoutKind::ALL {
                                let shown = if blink_template && kind == CutoutKind::Science {
                                    CutoutKind::Template
                                } else {
                                    kind
                                };
                                ui.vertical(|ui| {
                                    ui.label(match shown {
                                        CutoutKind::Science => "science",
                                        CutoutKind::Template => "reference",
                                        CutoutKind::Difference => "difference",
                                    });
                                    if let Some(h) = stamp_widget(
                                        app_ref(&app.prefs, app.gpu, app.frame),
                                        ui,
                                        alert,
                                        shown,
                                        size,
                                        &mut view,
                                        k,
                                    ) {
                                        hover = Some(h);
                                    }
                                });
                            }
                        });
                    })
                    .response;
                if response.interact(egui::Sense::click()).clicked() {
                    clicked_detection = Some(k);
                }
            }
        });
    app.view = view;
    app.hover = hover;
    if let Some(k) = clicked_detection {
        app.selection.detection = k;
    }
}

/// The few things a stamp widget reads from the app.
#[derive(Clone, Copy)]
struct StampEnv<'a> {
    prefs: &'a crate::app::prefs::Preferences,
    gpu: bool,
    frame: u64,
}

fn app_ref(prefs: &crate::app::prefs::Preferences, gpu: bool, frame: u64) -> StampEnv<'_> {
    StampEnv { prefs, gpu, frame }
}

fn detection_header(ui: &mut egui::Ui, alert: &Alert, k: usize, n: usize) {
    let c = &alert.candidate;
    let sign = match c.isdiffpos {
        Some(DiffSign::Positive) => "positive",
        Some(DiffSign::Negative) => "negative",
        None => "?",
    };
    ui.horizontal(|ui| {
        ui.strong(format!("{}/{}", k + 1, n));
        ui.label(jd_to_calendar(c.jd));
        ui.label(format!("{}-band", c.band()));
        ui.label(format!("{:.2} ± {:.2} mag", c.magpsf, c.sigmapsf));
        ui.label(format!("subtraction {sign}"));
        if c.near_known_asteroid() {
            ui.colored_label(egui::Color32::YELLOW, "known asteroid nearby");
        }
    });
}

fn settings_for<'a>(env: &StampEnv<'a>, kind: CutoutKind) -> &'a DisplaySettings {
    match kind {
        CutoutKind::Difference => &env.prefs.difference,
        _ => &env.prefs.science,
    }
}

fn stamp_widget(
    env: StampEnv<'_>,
    ui: &mut egui::Ui,
    alert: &Alert,
    kind: CutoutKind,
    size: f32,
    view: &mut ViewTransform,
    row_index: usize,
) -> Option<HoverPixel> {
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::click_and_drag());
    let Some(stamp) = alert.cutouts.get(kind) else {
        ui.painter()
            .rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        ui.painter().text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "no cutout",
            egui::FontId::proportional(12.0),
            ui.visuals().weak_text_color(),
        );
        return None;
    };
    let settings = settings_for(&env, kind);
    let negate = kind == CutoutKind::Difference
        && env.prefs.flip_negative_difference
        && alert.candidate.isdiffpos == Some(DiffSign::Negative);
    let pixels: Vec<f32> = if negate {
        stamp.pixels.iter().map(|v| -v).collect()
    } else {
        stamp.pixels.clone()
    };
    let limits = settings.limits(&pixels).unwrap_or((0.0, 1.0));

    // Linked zoom and pan: drag moves, scroll zooms around the pointer.
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

    let key = stamp_key(alert, kind);
    if env.gpu {
        let background = ui.visuals().extreme_bg_color.to_normalized_gamma_f32();
        let draw = StampDraw {
            key,
            draw_id: key ^ (row_index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            frame: env.frame,
            width: stamp.width as u32,
            height: stamp.height as u32,
            pixels: Arc::new(stamp.pixels.clone()),
            limits,
            settings: *settings,
            view: *view,
            negate,
            background,
        };
        ui.painter()
            .add(egui_wgpu::Callback::new_paint_callback(rect, draw));
    } else {
        cpu_stamp(ui, rect, stamp, &pixels, settings, key, view);
    }

    let painter = ui.painter_at(rect);
    let to_screen = |sx: f32, sy: f32| {
        egui::pos2(
            rect.left() + ((sx - view.center[0]) * view.zoom + 0.5) * size,
            rect.top() + ((sy - view.center[1]) * view.zoom + 0.5) * size,
        )
    };
    if env.prefs.show_crosshair {
        // The source sits at the centre pixel; leave a gap so the crosshair never hides it.
        let c = to_screen(0.5, 0.5);
        let gap = 3.0 * view.zoom * size / stamp.width as f32;
        let stroke = egui::Stroke::new(1.0, egui::Color32::from_rgb(80, 200, 255));
        for (dx, dy) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
            let a = c + egui::vec2(dx, dy) * gap;
            let b = c + egui::vec2(dx, dy) * (gap + 8.0);
            painter.line_segment([a, b], stroke);
        }
    }
    if kind == CutoutKind::Science {
        compass(&painter, rect);
    }

    let hover = response.hover_pos().and_then(|pos| {
        let sx = view.center[0] + ((pos.x - rect.left()) / size - 0.5) / view.zoom;
        let sy = view.center[1] + ((pos.y - rect.top()) / size - 0.5) / view.zoom;
        if !(0.0..1.0).contains(&sx) || !(0.0..1.0).contains(&sy) {
            return None;
        }
        let col = (sx * stamp.width as f32) as usize;
        let row = stamp.height - 1 - (sy * stamp.height as f32) as usize;
        Some(HoverPixel {
            kind,
            col,
            row,
            value: stamp.get(row, col),
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

/// North up, East left: the orientation every ZTF portal uses.
fn compass(painter: &egui::Painter, rect: egui::Rect) {
    let origin = rect.right_bottom() + egui::vec2(-10.0, -10.0);
    let stroke = egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 210, 80));
    let font = egui::FontId::proportional(10.0);
    let north = origin + egui::vec2(0.0, -18.0);
    let east = origin + egui::vec2(-18.0, 0.0);
    painter.line_segment([origin, north], stroke);
    painter.line_segment([origin, east], stroke);
    painter.text(
        north,
        egui::Align2::CENTER_BOTTOM,
        "N",
        font.clone(),
        stroke.color,
    );
    painter.text(east, egui::Align2::RIGHT_CENTER, "E", font, stroke.color);
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
    let half = 0.5 / view.zoom;
    let uv = egui::Rect::from_min_max(
        egui::pos2(view.center[0] - half, view.center[1] - half),
        egui::pos2(view.center[0] + half, view.center[1] + half),
    );
    ui.painter()
        .image(texture.id(), rect, uv, egui::Color32::WHITE);
}

fn settings_bar(app: &mut StampseqApp, ui: &mut egui::Ui) {
    use crate::stamp::display::{Colormap, Interval, Stretch, ZScale};
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
    });
}
