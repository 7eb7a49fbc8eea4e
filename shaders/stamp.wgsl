// Draws one stamp from its raw float pixels: interval limits, stretch and colormap are
// applied here, per fragment, so changing them never re-uploads or re-renders on the CPU.
//
// The stamp texture holds FITS rows (row 0 = South); the view shows North up, so rows are
// read bottom-up. Pixels are drawn as blocks (textureLoad, no filtering): astronomers want
// to see the pixels.

struct Params {
    vmin: f32,
    vmax: f32,
    // 0 linear, 1 log, 2 sqrt, 3 asinh
    stretch: u32,
    stretch_a: f32,
    // View centre in stamp coordinates (0..1, y down) and zoom factor (1 = whole stamp).
    center: vec2<f32>,
    zoom: f32,
    // -1 flips the sign (a negative subtraction shown bright).
    sign: f32,
    nan_color: vec4<f32>,
    background: vec4<f32>,
    // 1 when the target is an sRGB format and expects linear output.
    srgb_target: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var stamp: texture_2d<f32>;
@group(0) @binding(2) var lut: texture_2d<f32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    // Two triangles over the viewport, which egui sets to the widget's rectangle.
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(-1.0, 1.0),
        vec2<f32>(-1.0, 1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
    );
    let p = corners[index];
    var out: VertexOut;
    out.position = vec4<f32>(p, 0.0, 1.0);
    out.uv = vec2<f32>(p.x * 0.5 + 0.5, 0.5 - p.y * 0.5);
    return out;
}

fn is_nan(x: f32) -> bool {
    // Compilers may fold x != x away; the bit pattern cannot lie.
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn stretch(t: f32) -> f32 {
    let a = params.stretch_a;
    switch params.stretch {
        case 1u: { return log(a * t + 1.0) / log(a + 1.0); }
        case 2u: { return sqrt(t); }
        case 3u: {
            let x = t / a;
            let y = 1.0 / a;
            return log(x + sqrt(x * x + 1.0)) / log(y + sqrt(y * y + 1.0));
        }
        default: { return t; }
    }
}

fn to_target(c: vec4<f32>) -> vec4<f32> {
    if params.srgb_target == 1u {
        let lo = c.rgb / 12.92;
        let hi = pow((c.rgb + 0.055) / 1.055, vec3<f32>(2.4));
        return vec4<f32>(select(hi, lo, c.rgb <= vec3<f32>(0.04045)), c.a);
    }
    return c;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let p = params.center + (in.uv - vec2<f32>(0.5, 0.5)) / params.zoom;
    if p.x < 0.0 || p.y < 0.0 || p.x >= 1.0 || p.y >= 1.0 {
        return to_target(params.background);
    }
    let dims = vec2<f32>(textureDimensions(stamp));
    let col = i32(floor(p.x * dims.x));
    let row = i32(dims.y) - 1 - i32(floor(p.y * dims.y));
    let v = textureLoad(stamp, vec2<i32>(col, row), 0).r;
    if is_nan(v) {
        return to_target(params.nan_color);
    }
    let span = max(params.vmax - params.vmin, 1e-30);
    let t = stretch(clamp((v * params.sign - params.vmin) / span, 0.0, 1.0));
    let index = i32(round(clamp(t, 0.0, 1.0) * 255.0));
    return to_target(textureLoad(lut, vec2<i32>(index, 0), 0));
}
