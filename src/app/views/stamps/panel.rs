//! One stamp panel of the filmstrip: the image at the linked zoom and pan (on the GPU, or
//! on the CPU where there is no wgpu), the hovered pixel's readout, the compass and the
//! scale bar.

use super::{HoverPixel, Layer, PanelImage, StampEnv};
use crate::alert::{CutoutKind, Stamp};
use crate::app::stamp_gpu::{StampDraw, ViewTransform};
use crate::stamp::display::{render_rgba, DisplaySettings};
use crate::stamp::orient::{arcsec_per_pixel, sky_directions, Cd, FrameSource};
use std::sync::Arc;

/// One image panel and how to draw it.
pub(super) struct Panel<'a> {
    pub(super) kind: CutoutKind,
    pub(super) layer: Layer,
    /// Identifies the shown pixels, to upload them to the GPU once.
    pub(super) key: u64,
    pub(super) shown: &'a Stamp,
    /// The producer's pixels, for the readout.
    pub(super) raw: &'a Stamp,
    pub(super) oriented: Option<&'a PanelImage>,
    /// The sky frame of the shown pixels (for the compass and the scale bar).
    pub(super) frame: Option<Cd>,
    pub(super) source: Option<FrameSource>,
    /// Width in pixels of the row's image: the view is linked at its angular scale.
    pub(super) reference_width: usize,
    pub(super) negate: bool,
    pub(super) settings: DisplaySettings,
    /// Draw the compass and the scale bar.
    pub(super) marks: bool,
}

impl Panel<'_> {
    pub(super) fn draw(
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
