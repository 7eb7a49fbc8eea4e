//! Where the bundled models and the sample alerts are: beside the executable's checkout, or
//! in the source tree this was built from. On the bottom floor because the CLI, the app,
//! fine-tuning and the simulator all start from them.

use std::path::PathBuf;

/// What the default tree model is called in reports and where the app finds it.
pub const DEFAULT_MODEL_NAME: &str = "default-trees";

/// The bundled sample: beside the executable's checkout, or where this was built from.
pub fn bundled_sample_dir() -> Option<PathBuf> {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .map(|d| d.join("assets/sample"))
            .find(|d| d.is_dir())
    });
    from_exe.or_else(|| {
        let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
        built.is_dir().then_some(built)
    })
}

/// The bundled models folder, beside the bundled sample.
pub fn bundled_models_dir() -> Option<PathBuf> {
    bundled_sample_dir().and_then(|d| d.parent().map(|a| a.join("models")))
}

/// The default answer (`assets/models/default-trees.stampseq`): gradient-boosted trees on
/// the alert's metadata and history with the physics rules, five classes, with uncertainty.
/// It is the only model loaded when none is asked for: the bundled networks did not beat it
/// on real alerts (see the README's benchmark) and are opt-in with `--model`.
pub fn default_model() -> Option<PathBuf> {
    let path = bundled_models_dir()?.join(format!("{DEFAULT_MODEL_NAME}.stampseq"));
    path.is_file().then_some(path)
}

/// The models the app loads when none is asked for.
pub fn bundled_models() -> Vec<PathBuf> {
    default_model().into_iter().collect()
}
