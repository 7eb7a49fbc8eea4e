//! Text in the figures, laid out here with ab_glyph rather than by plotters.
//!
//! plotters' raster text (its `ab_glyph` font path, 0.3.7) draws each glyph's ink from the
//! pen position, dropping the glyph's left side bearing, and truncates the pen to whole
//! pixels: a letter with a wide or a negative bearing sits too far left or right, and
//! words come out as "obj ects", "accur acy". The SVG backend leaves layout to the viewer,
//! which is why the SVGs were right. [`Typeset`] wraps a backend and answers `draw_text`
//! (on raster backends) and `estimate_text_size` (on both, so that a PNG and its SVG are
//! laid out alike) from ab_glyph's own metrics: advances, side bearings, kerning and
//! sub-pixel pen positions.

use ab_glyph::{point, Font, FontRef, Glyph, GlyphId, Point, PxScale, ScaleFont};
use plotters::prelude::DrawingBackend;
use plotters_backend::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use std::sync::{Once, OnceLock};

/// plotters' text size is not an em: its SVG backend writes `font-size` as size / 1.24 and
/// its layout boxes are that tall. The raster em follows, so both formats set text alike.
const PLOTTERS_EM: f64 = 1.24;

/// The figures' only face: egui's Ubuntu Light, so no system font is needed.
pub fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).ok())
        .as_ref()
}

/// Registers the face with plotters too: its font descriptors are still built (and asked
/// for sizes in places that bypass the backend) under the name "sans-serif".
pub fn register_plotters_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Registration only fails for bytes that are not a font; these are egui's own.
        let _ = plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// One line of text laid out at one size, its baseline at y = 0 and its pen starting at
/// x = 0.
pub struct Line {
    glyphs: Vec<Glyph>,
    /// Sum of the advances and kerning, pixels.
    pub advance: f32,
    /// Pixels per em.
    pub em: f32,
    /// Height of a lower-case x, pixels (what SVG calls 1ex).
    pub x_height: f32,
}

impl Line {
    pub fn new(font: &FontRef<'_>, size: f64, text: &str) -> Line {
        let em = (size / PLOTTERS_EM) as f32;
        let units_per_em = font.units_per_em().unwrap_or(1000.0);
        // ab_glyph scales by the ascent-to-descent height, not by the em.
        let scale = PxScale::from(em * font.height_unscaled() / units_per_em);
        let scaled = font.as_scaled(scale);
        let mut glyphs = Vec::with_capacity(text.len());
        let mut pen = 0.0f32;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                pen += scaled.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(pen, 0.0)));
            pen += scaled.h_advance(id);
            previous = Some(id);
        }
        let x_height = font
            .outline(font.glyph_id('x'))
            // ab_glyph keeps outline bounds y-up but with min/max swapped; either way the
            // larger is the top of the x.
            .map(|o| o.bounds.min.y.max(o.bounds.max.y) / units_per_em * em)
            .unwrap_or(0.5 * em);
        Line {
            glyphs,
            advance: pen,
            em,
            x_height,
        }
    }

    /// Where the baseline's start goes relative to the anchor point, as plotters' SVG
    /// backend places it (`text-anchor`, and `dy` of 0.76em, 0.5ex or -0.5ex).
    pub fn origin(&self, anchor: Pos) -> Point {
        let x = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -self.advance / 2.0,
            HPos::Right => -self.advance,
        };
        let y = match anchor.v_pos {
            VPos::Top => 0.76 * self.em,
            VPos::Center => 0.5 * self.x_height,
            VPos::Bottom => -0.5 * self.x_height,
        };
        point(x, y)
    }

    /// The ink's horizontal extent when the baseline starts at `origin.x`, from the
    /// outlines (not rounded to pixels); `None` for blank text.
    pub fn ink_extent(&self, font: &FontRef<'_>, origin: Point) -> Option<(f32, f32)> {
        let units_per_em = font.units_per_em().unwrap_or(1000.0);
        self.glyphs
            .iter()
            .filter_map(|g| {
                let o = font.outline(g.id)?;
                let k = self.em / units_per_em;
                let x = origin.x + g.position.x;
                Some((x + o.bounds.min.x * k, x + o.bounds.max.x * k))
            })
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }

    /// The coverage of the whole line with its baseline starting at `origin` (fractional
    /// pixels): glyphs are rasterised at their exact positions into one buffer, so that
    /// where two touch the pixel is drawn once.
    pub fn rasterise(&self, font: &FontRef<'_>, origin: Point) -> Coverage {
        let outlined: Vec<_> = self
            .glyphs
            .iter()
            .filter_map(|g| {
                let mut g = g.clone();
                g.position += origin;
                font.outline_glyph(g)
            })
            .collect();
        let Some(bounds) = outlined
            .iter()
            .map(|o| o.px_bounds())
            .reduce(|a, b| ab_glyph::Rect {
                min: point(a.min.x.min(b.min.x), a.min.y.min(b.min.y)),
                max: point(a.max.x.max(b.max.x), a.max.y.max(b.max.y)),
            })
        else {
            return Coverage::default();
        };
        let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
        let width = (bounds.max.x as i32 - left).max(0) as usize;
        let height = (bounds.max.y as i32 - top).max(0) as usize;
        let mut alpha = vec![0f32; width * height];
        for o in &outlined {
            let b = o.px_bounds();
            let (dx, dy) = (b.min.x as i32 - left, b.min.y as i32 - top);
            o.draw(|x, y, c| {
                let (x, y) = (x as i32 + dx, y as i32 + dy);
                if (0..width as i32).contains(&x) && (0..height as i32).contains(&y) {
                    let a = &mut alpha[y as usize * width + x as usize];
                    *a = (*a + c).min(1.0);
                }
            });
        }
        Coverage {
            left,
            top,
            width,
            height,
            alpha,
        }
    }
}

/// A rasterised line: `alpha` row by row, its top-left pixel at (`left`, `top`).
#[derive(Debug, Default)]
pub struct Coverage {
    pub left: i32,
    pub top: i32,
    pub width: usize,
    pub height: usize,
    pub alpha: Vec<f32>,
}

/// A plotters backend whose text is laid out by [`Line`]; everything else goes to
/// `inner` unchanged.
pub struct Typeset<B> {
    inner: B,
    /// Draw text as pixels here; a vector backend writes the string itself.
    raster: bool,
}

impl<B> Typeset<B> {
    pub fn raster(inner: B) -> Self {
        Typeset {
            inner,
            raster: true,
        }
    }

    pub fn vector(inner: B) -> Self {
        Typeset {
            inner,
            raster: false,
        }
    }
}

type Drawn<B> = Result<(), DrawingErrorKind<<B as DrawingBackend>::ErrorType>>;

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Drawn<B> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Drawn<B> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn<B> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn<B> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn<B> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn<B> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn<B> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn<B> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn<B> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Drawn<B> {
        let font = match font() {
            Some(font) if self.raster => font,
            _ => return self.inner.draw_text(text, style, pos),
        };
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let line = Line::new(font, style.size(), text);
        let coverage = line.rasterise(font, line.origin(style.anchor()));
        // The line is drawn horizontally about the anchor, then turned as a whole.
        let turn = style.transform();
        for (i, a) in coverage.alpha.iter().enumerate() {
            if *a <= 0.0 {
                continue;
            }
            let x = coverage.left + (i % coverage.width) as i32;
            let y = coverage.top + (i / coverage.width) as i32;
            let (x, y) = turn.transform(x, y);
            self.inner.draw_pixel(
                (pos.0 + x, pos.1 + y),
                BackendColor {
                    alpha: colour.alpha * *a as f64,
                    rgb: colour.rgb,
                },
            )?;
        }
        Ok(())
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        match font() {
            Some(font) => {
                let line = Line::new(font, style.size(), text);
                Ok((line.advance.ceil() as u32, line.em.round() as u32))
            }
            None => self.inner.estimate_text_size(text, style),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    /// Renders `text` black on white with its anchor at `pos`, as the PNG figures do;
    /// returns the RGB buffer.
    fn render(size: (u32, u32), text: &str, px: f64, anchor: Pos, pos: (i32, i32)) -> Vec<u8> {
        register_plotters_font();
        let mut rgb = vec![255u8; (size.0 * size.1 * 3) as usize];
        {
            let root =
                Typeset::raster(BitMapBackend::with_buffer(&mut rgb, size)).into_drawing_area();
            let style = ("sans-serif", px).into_font().color(&BLACK).pos(anchor);
            root.draw_text(text, &style, pos).expect("drawn");
            root.present().expect("present");
        }
        rgb
    }

    /// Columns that hold ink (any pixel darker than light grey).
    fn ink_columns(rgb: &[u8], size: (u32, u32)) -> Vec<bool> {
        let (w, h) = (size.0 as usize, size.1 as usize);
        (0..w)
            .map(|x| (0..h).any(|y| rgb[(y * w + x) * 3] < 200))
            .collect()
    }

    /// Widths of the blank runs between the first and last ink column.
    fn gaps(ink: &[bool]) -> Vec<usize> {
        let first = ink.iter().position(|&i| i).unwrap_or(0);
        let last = ink.iter().rposition(|&i| i).unwrap_or(0);
        let mut out = Vec::new();
        let mut run = 0;
        for &i in &ink[first..=last] {
            if i {
                if run > 0 {
                    out.push(run);
                }
                run = 0;
            } else {
                run += 1;
            }
        }
        out
    }

    /// The horizontal gaps between neighbouring letters' ink in ab_glyph's own layout of
    /// one word.
    fn letter_gaps(word: &str, px: f64) -> Vec<f32> {
        let font = font().expect("font");
        let line = Line::new(font, px, word);
        let k = line.em / font.units_per_em().expect("units");
        let mut out = Vec::new();
        let mut previous_right: Option<f32> = None;
        for g in &line.glyphs {
            if let Some(o) = font.outline(g.id) {
                if let Some(r) = previous_right {
                    out.push(g.position.x + o.bounds.min.x * k - r);
                }
                previous_right = Some(g.position.x + o.bounds.max.x * k);
            }
        }
        out
    }

    /// What the PNGs got wrong ("obj ects", "accur acy"), at the sizes the figures use:
    /// each letter's ink ends where ab_glyph's layout ends it (the word is drawn one more
    /// letter at a time, so the last ink column is the new letter's), and no blank run
    /// between letters is wider than the layout's widest gap (plus two columns that
    /// anti-aliasing may leave under the ink threshold).
    #[test]
    fn png_words_keep_the_fonts_letter_spacing() {
        let font = font().expect("font");
        let size = (220, 40);
        for px in [13.0, 16.0, 22.0] {
            for word in ["objects", "accuracy", "predicted", "jackdaws", "tsc-gru-n5"] {
                for (end, _) in word.char_indices().skip(1).chain([(word.len(), ' ')]) {
                    let prefix = &word[..end];
                    let rgb = render(
                        size,
                        prefix,
                        px,
                        Pos::new(HPos::Left, VPos::Center),
                        (10, 20),
                    );
                    let ink = ink_columns(&rgb, size);
                    let last = ink.iter().rposition(|&i| i).expect("ink") as f32 + 1.0;
                    let line = Line::new(font, px, prefix);
                    let (_, right) = line.ink_extent(font, point(10.0, 0.0)).expect("extent");
                    assert!(
                        (last - right).abs() <= 1.0,
                        "{prefix:?} at {px}: ink ends at {last}, layout at {right:.1}"
                    );
                }
                let rgb = render(size, word, px, Pos::new(HPos::Left, VPos::Center), (10, 20));
                let widest = letter_gaps(word, px).into_iter().fold(0.0f32, f32::max);
                let measured = gaps(&ink_columns(&rgb, size));
                assert!(
                    measured.iter().all(|&g| g as f32 <= widest + 2.0),
                    "{word:?} at {px}: blank runs {measured:?}, layout's widest gap {widest:.1}"
                );
            }
        }
    }

    #[test]
    fn png_text_ink_lands_where_the_layout_puts_it() {
        let font = font().expect("font");
        let size = (300, 60);
        for (anchor, x) in [
            (Pos::new(HPos::Left, VPos::Center), 20),
            (Pos::new(HPos::Center, VPos::Center), 150),
            (Pos::new(HPos::Right, VPos::Center), 280),
        ] {
            let rgb = render(size, "jackdaws", 22.0, anchor, (x, 30));
            let ink = ink_columns(&rgb, size);
            let first = ink.iter().position(|&i| i).expect("ink") as f32;
            let last = ink.iter().rposition(|&i| i).expect("ink") as f32 + 1.0;
            let line = Line::new(font, 22.0, "jackdaws");
            let o = line.origin(anchor);
            let (left, right) = line
                .ink_extent(font, point(x as f32 + o.x, 0.0))
                .expect("extent");
            assert!(
                (first - left).abs() <= 1.0 && (last - right).abs() <= 1.0,
                "ink {first}..{last}, layout {left:.1}..{right:.1}"
            );
        }
    }

    #[test]
    fn text_sizes_match_what_is_drawn() {
        register_plotters_font();
        let mut rgb = vec![255u8; 200 * 40 * 3];
        let backend = Typeset::raster(BitMapBackend::with_buffer(&mut rgb, (200, 40)));
        let style = ("sans-serif", 22.0).into_font().color(&BLACK);
        let (w, h) = backend
            .estimate_text_size("accuracy", &style)
            .expect("size");
        let line = Line::new(font().expect("font"), 22.0, "accuracy");
        assert_eq!(w, line.advance.ceil() as u32);
        assert_eq!(h, (22.0f64 / PLOTTERS_EM).round() as u32);
        assert!(w > 50 && w < 100, "{w}");
    }
}
