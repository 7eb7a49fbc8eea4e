//! The stamp renderer: raw float pixels go to the GPU once, as an R32Float texture; the
//! interval, stretch, colormap, zoom and pan are uniforms of `shaders/stamp.wgsl`, so a
//! change of stretch costs one uniform write, not a CPU re-render.

use crate::stamp::display::{Colormap, DisplaySettings};
use egui_wgpu::wgpu;
use std::collections::HashMap;
use std::sync::Arc;

const SHADER: &str = include_str!("../../shaders/stamp.wgsl");
/// Stamp textures kept on the GPU; past this the cache starts afresh (63x63 floats are
/// 16 kB, so this is ~65 MB of video memory at most).
const MAX_CACHED_STAMPS: usize = 4096;

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    vmin: f32,
    vmax: f32,
    stretch: u32,
    stretch_a: f32,
    center: [f32; 2],
    zoom: f32,
    sign: f32,
    nan_color: [f32; 4],
    background: [f32; 4],
    srgb_target: u32,
    _pad: [u32; 3],
}

/// Where the view looks: shared by every stamp so that zoom and pan stay linked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewTransform {
    /// Centre of the view in stamp coordinates (0..1, y down as displayed).
    pub center: [f32; 2],
    pub zoom: f32,
}

impl Default for ViewTransform {
    fn default() -> Self {
        Self {
            center: [0.5, 0.5],
            zoom: 1.0,
        }
    }
}

/// GPU objects that live as long as the renderer, stored in egui-wgpu's callback resources.
pub struct StampGpu {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    luts: HashMap<Colormap, wgpu::TextureView>,
    stamps: HashMap<u64, wgpu::TextureView>,
    srgb_target: bool,
    frame: u64,
    draws: HashMap<u64, wgpu::BindGroup>,
}

impl StampGpu {
    /// Builds the pipeline and colormap tables and registers them with egui's renderer.
    pub fn install(render_state: &egui_wgpu::RenderState) {
        let device = &render_state.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("stamp.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("stamp bind group layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1),
                texture_entry(2),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("stamp pipeline layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("stamp pipeline"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: render_state.target_format,
                    blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        });
        let luts = Colormap::ALL
            .into_iter()
            .map(|c| {
                let rgba: Vec<u8> = c.lut().into_iter().flatten().collect();
                let view = upload_texture(
                    device,
                    &render_state.queue,
                    "colormap",
                    wgpu::TextureFormat::Rgba8Unorm,
                    (256, 1),
                    &rgba,
                    4,
                );
                (c, view)
            })
            .collect();
        let gpu = StampGpu {
            pipeline,
            layout,
            luts,
            stamps: HashMap::new(),
            srgb_target: render_state.target_format.is_srgb(),
            frame: 0,
            draws: HashMap::new(),
        };
        render_state.renderer.write().callback_resources.insert(gpu);
    }
}

fn upload_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    format: wgpu::TextureFormat,
    (width, height): (u32, u32),
    bytes: &[u8],
    bytes_per_pixel: u32,
) -> wgpu::TextureView {
    let size = wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    };
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: &texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        bytes,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width * bytes_per_pixel),
            rows_per_image: Some(height),
        },
        size,
    );
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}

/// One stamp to draw this frame.
pub struct StampDraw {
    /// Identifies the stamp's pixels (alert and cutout), to upload them only once.
    pub key: u64,
    /// Unique among this frame's draws.
    pub draw_id: u64,
    pub frame: u64,
    pub width: u32,
    pub height: u32,
    pub pixels: Arc<Vec<f32>>,
    pub limits: (f64, f64),
    pub settings: DisplaySettings,
    pub view: ViewTransform,
    pub negate: bool,
    pub background: [f32; 4],
}

impl egui_wgpu::CallbackTrait for StampDraw {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(gpu) = resources.get_mut::<StampGpu>() else {
            return Vec::new();
        };
        if gpu.frame != self.frame {
            gpu.frame = self.frame;
            gpu.draws.clear();
        }
        if !gpu.stamps.contains_key(&self.key) {
            if gpu.stamps.len() >= MAX_CACHED_STAMPS {
                gpu.stamps.clear();
            }
            let view = upload_texture(
                device,
                queue,
                "stamp",
                wgpu::TextureFormat::R32Float,
                (self.width, self.height),
                bytemuck::cast_slice(self.pixels.as_slice()),
                4,
            );
            gpu.stamps.insert(self.key, view);
        }
        let s = &self.settings;
        let nan = s.nan_rgb.map(|c| c as f32 / 255.0);
        let params = Params {
            vmin: self.limits.0 as f32,
            vmax: self.limits.1 as f32,
            stretch: s.stretch.shader_id(),
            stretch_a: s.stretch.parameter() as f32,
            center: self.view.center,
            zoom: self.view.zoom,
            sign: if self.negate { -1.0 } else { 1.0 },
            nan_color: [nan[0], nan[1], nan[2], 1.0],
            background: self.background,
            srgb_target: gpu.srgb_target as u32,
            _pad: [0; 3],
        };
        let buffer = wgpu::util::DeviceExt::create_buffer_init(
            device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("stamp params"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            },
        );
        let (Some(stamp), Some(lut)) = (gpu.stamps.get(&self.key), gpu.luts.get(&s.colormap))
        else {
            return Vec::new();
        };
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("stamp bind group"),
            layout: &gpu.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(stamp),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(lut),
                },
            ],
        });
        gpu.draws.insert(self.draw_id, bind_group);
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(gpu) = resources.get::<StampGpu>() else {
            return;
        };
        let Some(bind_group) = gpu.draws.get(&self.draw_id) else {
            return;
        };
        render_pass.set_pipeline(&gpu.pipeline);
        render_pass.set_bind_group(0, bind_group, &[]);
        render_pass.draw(0..6, 0..1);
    }
}
